package server

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/choso/choso"
	"github.com/choso/choso/qr"
	"github.com/labstack/echo/v4"
)

func (s *Server) registerQRRoutes(g routeGroup) {
	g.GET("/banks", s.handleBankList)
	g.POST("/qr/decode", s.handleQRDecode)
	g.GET("/stalls/:id/qr", s.handleStallQR)
}

// bankView is one bank of the NAPAS directory, as the picker shows it.
type bankView struct {
	qr.Bank
	CanReceive bool `json:"can_receive"` // every bank with a BIN can receive a VietQR transfer
}

// handleBankList lists the NAPAS bank directory for pickers; ?q= narrows it
// to banks whose BIN, code or name contains the text (diacritics ignored).
func (s *Server) handleBankList(c echo.Context) error {
	q := strings.TrimSpace(c.QueryParam("q"))
	out := []bankView{}
	for _, b := range qr.Banks() {
		if q == "" || strings.HasPrefix(b.BIN, q) || strings.EqualFold(b.Code, q) ||
			choso.MatchText(b.ShortName, q) || choso.MatchText(b.Name, q) {
			out = append(out, bankView{Bank: b, CanReceive: true})
		}
	}
	c.Response().Header().Set("Cache-Control", "private, max-age=3600")
	return c.JSON(http.StatusOK, map[string]any{"data": out})
}

type qrDecodeRequest struct {
	Payload string `json:"payload"`
}

// maxQRPayload bounds what the decoder is handed: real codes run to about
// 200 characters; a QR symbol holds at most 4,296.
const maxQRPayload = 4096

// handleQRDecode reads any code a vendor or a bank shows: family, verdict,
// fields and warnings. An invalid code is a 200 with its verdict: the
// request was fine, the code was not.
func (s *Server) handleQRDecode(c echo.Context) error {
	var req qrDecodeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if len(req.Payload) > maxQRPayload {
		return choso.Errorf(choso.ETooLarge, "payload is longer than %d characters; no QR code holds that much", maxQRPayload)
	}
	return c.JSON(http.StatusOK, qr.Decode(req.Payload))
}

// stallTransfer is the VietQR transfer that pays a stall's payout account.
func stallTransfer(st *choso.Stall) qr.Transfer {
	svc := qr.ServiceAccount
	if st.Payout.Service == choso.ServiceCard {
		svc = qr.ServiceCard
	}
	return qr.Transfer{BIN: st.Payout.BIN, Account: st.Payout.Account, Service: svc}
}

// handleStallQR renders a stall's VietQR. Without amount it is the static
// code printed on the stall's card, cached by ETag until the payout account
// (and so the QR version) changes. With amount it is a dynamic code for one
// sale, with a fresh payment reference first in its purpose, returned in
// the X-Choso-Payment-Ref header; it is never cached.
//
//	?format=png|svg (png)  ?size=PIXELS (256; 64–4096)  ?level=L|M|Q|H (M)
//	?amount=ĐỒNG  ?purpose=TEXT
func (s *Server) handleStallQR(c echo.Context) error {
	st, err := s.registry.FindStall(c.Request().Context(), principal(c), c.Param("id"))
	if err != nil {
		return err
	}
	if st.ErasedAt != nil {
		return choso.Errorf(choso.EConflict, "this vendor's data was erased; the stall has no payout account to show")
	}
	format := c.QueryParam("format")
	if format == "" {
		format = "png"
	}
	if format != "png" && format != "svg" {
		return choso.Errorf(choso.EInvalid, "format must be png or svg")
	}
	size := 256
	if v := c.QueryParam("size"); v != "" {
		if size, err = strconv.Atoi(v); err != nil || size < 64 || size > qr.MaxImageSize {
			return choso.Errorf(choso.EInvalid, "size must be 64–%d pixels", qr.MaxImageSize)
		}
	}
	level, err := qr.ParseLevel(c.QueryParam("level"))
	if err != nil {
		return choso.Errorf(choso.EInvalid, "level must be L, M, Q or H")
	}
	t := stallTransfer(st)
	dynamic := c.QueryParam("amount") != ""
	if dynamic {
		amount, err := strconv.ParseInt(c.QueryParam("amount"), 10, 64)
		if err != nil || amount < 1 || amount > qr.MaxAmount {
			return choso.Errorf(choso.EInvalid, "amount must be 1–%d đồng", qr.MaxAmount)
		}
		ref, err := qr.NewReference(rand.Reader)
		if err != nil {
			return err
		}
		t.SetSale(amount, ref, c.QueryParam("purpose"))
	} else if c.QueryParam("purpose") != "" {
		return choso.Errorf(choso.EInvalid, "purpose goes with amount: a static code carries no message")
	}
	payload, err := qr.Encode(t)
	if err != nil {
		return choso.Errorf(choso.EInvalid, "%s", err.Error())
	}
	h := c.Response().Header()
	if dynamic {
		h.Set("X-Choso-Payment-Ref", t.Reference)
		h.Set("Cache-Control", "no-store")
	} else {
		sum := sha256.Sum256([]byte(fmt.Sprintf("%s|%s|%d|%s|%d", payload, format, size, level, st.QRVersion)))
		etag := `"` + hex.EncodeToString(sum[:12]) + `"`
		h.Set("ETag", etag)
		// Asked again every time (a 304 while the account is the same): a
		// code kept for minutes after a payout change would send customers'
		// money to the account just replaced.
		h.Set("Cache-Control", "private, no-cache")
		if match := c.Request().Header.Get("If-None-Match"); match != "" && strings.Contains(match, etag) {
			return c.NoContent(http.StatusNotModified)
		}
	}
	h.Set("X-Choso-QR-Version", strconv.Itoa(st.QRVersion))
	var buf bytes.Buffer
	if format == "svg" {
		err = qr.RenderSVG(&buf, payload, level, size)
	} else {
		err = qr.RenderPNG(&buf, payload, level, size)
	}
	if err != nil {
		return err
	}
	ct := "image/png"
	if format == "svg" {
		ct = "image/svg+xml"
	}
	return c.Blob(http.StatusOK, ct, buf.Bytes())
}
