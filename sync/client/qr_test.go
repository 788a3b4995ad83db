package client

import (
	"errors"
	"testing"

	"github.com/choso/choso/qr"
	"github.com/choso/choso/sync/client/clienttest"
)

// A vendor with no signal shows the customer a code for the exact amount;
// its payment reference, recorded with the sale, is what the bank's credit
// is matched by. The phone makes both from the cached config.
func TestDynamicQR_FromTheCachedConfig_CarriesAMatchableReference(t *testing.T) {
	srv := clienttest.New(t)
	p := newPhone(t, srv)
	if _, err := p.DynamicQR(45_000, ""); !errors.Is(err, ErrNoPayout) || ErrorKind(err) != KindNoPayout {
		t.Fatalf("before the config pull: %v, want ErrNoPayout", err)
	}
	if _, err := p.RefreshConfig(); err != nil {
		t.Fatal(err)
	}
	srv.Close() // offline from here
	code, err := p.DynamicQR(45_000, "Bún chả")
	if err != nil {
		t.Fatal(err)
	}
	r := qr.Decode(code.Payload)
	d := r.Fields
	if r.Verdict != qr.VerdictOK || !r.Transfer || d.Initiation != qr.Dynamic || d.Amount != 45_000 || d.BIN != "970436" || d.Account != "0011001234567" {
		t.Fatalf("code %q decodes as %+v", code.Payload, r)
	}
	if !qr.ValidReference(code.Ref) || d.Purpose != code.Ref+" BUN CHA" {
		t.Fatalf("ref %q, 62.08 %q: want a valid reference first", code.Ref, d.Purpose)
	}
	// The bank's notification mangles the message; the reference survives.
	if got, ok := qr.ExtractReference("MBVCB.1234.567890." + code.Ref + " BUN CHA.CT tu 0011"); !ok || got != code.Ref {
		t.Fatalf("reference from a bank's content: %q %v, want %q", got, ok, code.Ref)
	}
	if _, err := p.RecordSale(code.Amount, "qr", code.Ref); err != nil {
		t.Fatal(err)
	}
	if _, err := p.DynamicQR(1_000_000_000, ""); ErrorKind(err) != KindInvalidSale {
		t.Fatalf("an amount over nine digits: %v", err)
	}
}

// The reference the package example used to show was twelve characters, not
// a payment reference: a bank credit carrying it would never find its sale.
func TestExampleRef_WasNotAPaymentReference(t *testing.T) {
	if qr.ValidReference("CS7KQ2M9XW4T") {
		t.Fatal("CS7KQ2M9XW4T is a valid reference")
	}
	if ref, ok := qr.ExtractReference("CS7KQ2M9XW4T"); ok {
		t.Fatalf("a credit's content CS7KQ2M9XW4T names %q", ref)
	}
}
