package qr

import "strings"

// Family names the kind of QR code a payload is, told apart by its templates
// and their GUIDs (VIETQR.md §9). A family says who issued the code; whether a
// banking app can pay it as a NAPAS247 transfer is Result.Transfer: ZaloPay,
// MoMo and TPBank's UnionPay codes carry a VietQR transfer template too.
type Family string

// The families the decoder recognises.
const (
	FamilyVietQR       Family = "vietqr"        // NAPAS247 transfer: 38 with the NAPAS GUID
	FamilyNAPASPush    Family = "napas_qrpush"  // NAPAS merchant payment (38.02 = QRPUSH)
	FamilyNAPASCash    Family = "napas_qrcash"  // NAPAS ATM withdrawal (38.02 = QRCASH)
	FamilyVNPayQR      Family = "vnpay_qr"      // VNPAY-QR merchant code: 26 with GUID A000000775
	FamilyVNPayWallet  Family = "vnpay_wallet"  // VNPay wallet P2P: non-standard, 01 = 10
	FamilyZaloPay      Family = "zalopay"       // ZaloPay: 26 with vn.zalopay, plus a VietQR 38
	FamilyMoMo         Family = "momo"          // MoMo: vn.momo, or a VietQR to a MoMo account
	FamilyShopeePay    Family = "shopeepay"     // ShopeePay (AirPay): 26 with vn.airpay.www
	FamilyUnionPayDual Family = "unionpay_dual" // UnionPay merchant (15) plus a VietQR 38 (TPBank)
	FamilyMSBMerchant  Family = "msb_merchant"  // MSB/NganLuong merchant: 26 without a GUID, 00 = MSB's BIN
	FamilyOtherEMV     Family = "other_emv"     // an EMV merchant-presented code of another kind
	FamilyNotEMV       Family = "not_emv"       // not an EMV code at all (a URL, text, legacy MoMo pipes)
)

// Markers the families are recognised by.
const (
	guidVNPay    = "A000000775"
	guidZaloPay  = "vn.zalopay"
	guidMoMo     = "vn.momo"
	guidAirPay   = "vn.airpay.www"
	binMSB       = "970426"
	binMoMo      = "971025"
	binBVBank    = "970454" // MoMo's older accounts (99MM…) and ZaloPay's (99ZP…) sit at BVBank
	momoRefStart = "MOMOW2W"
)

// classify picks the family from what the walk found. It works on a partial
// walk too, so a code with a bad CRC is still named.
func (r *Result) classify(napas38 bool, w *walkState) Family {
	m := w.merchants
	zalo, momo, airpay, vnpay, msb := m&merchantZaloPay != 0, m&merchantMoMo != 0, m&merchantAirPay != 0, m&merchantVNPay != 0, m&merchantMSB != 0
	f := &r.Fields
	if napas38 && (f.BIN == binMoMo || f.BIN == binBVBank && strings.HasPrefix(f.Account, "99MM")) ||
		strings.HasPrefix(f.ReferenceLabel, momoRefStart) {
		momo = true
	}
	switch {
	case zalo:
		return FamilyZaloPay
	case momo:
		return FamilyMoMo
	case airpay:
		return FamilyShopeePay
	case vnpay:
		return FamilyVNPayQR
	case napas38 && w.hasRoot(15):
		return FamilyUnionPayDual
	case napas38 && f.Service == ServicePush:
		return FamilyNAPASPush
	case napas38 && f.Service == ServiceCash:
		return FamilyNAPASCash
	case napas38:
		return FamilyVietQR
	case msb:
		return FamilyMSBMerchant
	case f.POI == "10" && r.hasRootValue("VNPayWallet"):
		return FamilyVNPayWallet
	}
	return FamilyOtherEMV
}

// isMerchantTemplate reports whether a root ID is one of the merchant account
// templates, 26–51, which carry a GUID in sub-ID 00.
func isMerchantTemplate(id int) bool {
	return id >= 26 && id <= 51
}

func (r *Result) hasRootValue(v string) bool {
	found := false
	forEachRoot(r.Payload, r.lengthsInChars(), func(_, _ int, rv string) {
		found = found || rv == v
	})
	return found
}

// containsFold is strings.Contains ignoring ASCII case, without the copy
// strings.ToLower would make.
func containsFold(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return true
		}
	}
	return false
}
