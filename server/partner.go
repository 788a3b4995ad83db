package server

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/auth"
	"github.com/choso/choso/internal/partnerauth"
	jsonv2 "github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/labstack/echo/v4"
)

// PartnerBodyLimit caps a partner request body: a post of 1,000 credits.
const PartnerBodyLimit = 1 << 20

func (s *Server) registerPartnerRoutes(e *echo.Echo) {
	g := routeGroup{g: e.Group("/partner/v1"), mw: []echo.MiddlewareFunc{bodyLimit(PartnerBodyLimit), s.requirePartner}}
	g.GET("/changes", s.handlePartnerChanges)
	g.GET("/summaries", s.handlePartnerSummaries)
	g.GET("/exports/summaries.ndjson", s.handlePartnerExportNDJSON, s.limitExports)
	g.GET("/exports/summaries.csv", s.handlePartnerExportCSV, s.limitExports)
	g.POST("/credits", s.handlePartnerCredits)
	g.GET("/reconciliation", s.handlePartnerReconciliation)
}

const ctxPartner = "partner"

func partnerOf(c echo.Context) *choso.Partner {
	p, _ := c.Get(ctxPartner).(*choso.Partner)
	return p
}

// requirePartner verifies the request's HMAC signature (DESIGN.md §6) over
// its method, path, raw query, timestamp, nonce and body, then rate limits
// the key.
func (s *Server) requirePartner(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.partners == nil {
			return choso.Errorf(choso.EUnavailable, "this server has no bank partner side configured")
		}
		req := c.Request()
		body, err := io.ReadAll(req.Body)
		if err != nil {
			return bodyError(err, "could not read the request body")
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		path, rawQuery := partnerauth.RequestTarget(req)
		partnerID, keyID, err := s.partnerVerifier.Verify(req.Context(), req.Method, path, rawQuery, req.Header, body)
		if err != nil {
			return err
		}
		if ok, wait := s.partnerLimiter.Allow(keyID); !ok {
			return rateLimited(c, wait, "requests with this key")
		}
		p, err := s.partners.FindPartner(req.Context(), partnerID)
		if err != nil {
			return err
		}
		c.Set(ctxPartner, p)
		return next(c)
	}
}

// newPartnerLimiter: a key gets 50 requests at once and 20 a second after.
func newPartnerLimiter(now func() time.Time) *auth.Limiter {
	return auth.NewLimiter(50, 50*time.Millisecond, now)
}

// Cursors are opaque and tamper-evident: the change seq and the partner
// they belong to, with an HMAC under a key derived from the master key.
// An altered cursor, or another partner's, is a 400 cursor_invalid.
const ecursorInvalid = "cursor_invalid"

func (s *Server) cursorMAC(partnerID string, seq uint64) []byte {
	m := hmac.New(sha256.New, s.cursorKey)
	m.Write([]byte(partnerID))
	binary.Write(m, binary.BigEndian, seq)
	return m.Sum(nil)[:12]
}

func (s *Server) encodeCursor(partnerID string, seq uint64) string {
	b := binary.BigEndian.AppendUint64([]byte{1}, seq)
	b = append(b, s.cursorMAC(partnerID, seq)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) decodeCursor(partnerID, cursor string) (uint64, error) {
	if cursor == "" {
		return 0, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || len(b) != 1+8+12 || b[0] != 1 {
		return 0, choso.Errorf(ecursorInvalid, "cursor is not one this server gave you")
	}
	seq := binary.BigEndian.Uint64(b[1:9])
	if !hmac.Equal(b[9:], s.cursorMAC(partnerID, seq)) {
		return 0, choso.Errorf(ecursorInvalid, "cursor is not one this server gave you")
	}
	return seq, nil
}

type changesResponse struct {
	Data       []choso.Revision `json:"data"`
	NextCursor string           `json:"next_cursor"`
	HasMore    bool             `json:"has_more"`
}

// handlePartnerChanges pages through the partner's stall-day revisions in
// commit order: pass next_cursor back until has_more is false, then poll.
func (s *Server) handlePartnerChanges(c echo.Context) error {
	p := partnerOf(c)
	after, err := s.decodeCursor(p.ID, c.QueryParam("cursor"))
	if err != nil {
		return err
	}
	limit := 0
	if v := c.QueryParam("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > choso.MaxFeedLimit {
			return choso.Errorf(choso.EInvalid, "limit must be 1–%d", choso.MaxFeedLimit)
		}
	}
	page, err := s.partners.Changes(c.Request().Context(), p, after, limit)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, changesResponse{Data: page.Data, NextCursor: s.encodeCursor(p.ID, page.Last), HasMore: page.HasMore})
}

type summariesResponse struct {
	Data          []choso.Revision `json:"data"`
	AsOfSeq       uint64           `json:"as_of_seq"`
	HasMore       bool             `json:"has_more"`
	StartingAfter string           `json:"next_starting_after,omitempty"`
}

func (s *Server) handlePartnerSummaries(c echo.Context) error {
	f := choso.SummaryFilter{Date: c.QueryParam("business_date"), MarketID: c.QueryParam("market_id"),
		CommuneCode: c.QueryParam("commune"), StartingAfter: c.QueryParam("starting_after")}
	var err error
	if v := c.QueryParam("limit"); v != "" {
		if f.Limit, err = strconv.Atoi(v); err != nil || f.Limit < 1 || f.Limit > choso.MaxFeedLimit {
			return choso.Errorf(choso.EInvalid, "limit must be 1–%d", choso.MaxFeedLimit)
		}
	}
	if v := c.QueryParam("as_of_seq"); v != "" {
		if f.AsOfSeq, err = strconv.ParseUint(v, 10, 64); err != nil {
			return choso.Errorf(choso.EInvalid, "as_of_seq must be a number from an earlier page")
		}
	}
	page, err := s.partners.Summaries(c.Request().Context(), partnerOf(c), f)
	if err != nil {
		return err
	}
	res := summariesResponse{Data: page.Data, AsOfSeq: page.AsOfSeq, HasMore: page.HasMore}
	if page.HasMore && len(page.Data) > 0 {
		res.StartingAfter = page.Data[len(page.Data)-1].StallID
	}
	return c.JSON(http.StatusOK, res)
}

// creditsRequest holds each credit undecoded, so that one the bank wrote
// wrong (a time without its offset, an amount in quotes) is that credit's
// invalid, as a credit that breaks a rule is, not the whole post's 400.
type creditsRequest struct {
	Credits []jsontext.Value `json:"credits"`
}

type creditsResponse struct {
	Results []choso.CreditResult `json:"results"`
}

// handlePartnerCredits takes the bank's credit notifications. Each result
// says created, duplicate (same bank_txn_id, same content: the stored
// result), conflict (same id, other content) or invalid; a post with any
// conflict answers 409 with every result.
func (s *Server) handlePartnerCredits(c echo.Context) error {
	var req creditsRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	results, err := postCredits(c.Request().Context(), s.partners, partnerOf(c), req.Credits)
	if err != nil {
		return err
	}
	status := http.StatusOK
	for _, r := range results {
		if r.Status == choso.CreditConflict {
			status = http.StatusConflict
		}
	}
	return c.JSON(status, creditsResponse{Results: results})
}

// postCredits reads each credit of a post on its own and posts those it
// could read. One it could not read is that credit's invalid, in its place
// among the results, with what to fix: a bank's line written wrong is a
// bad line like one that breaks a rule, and the rest are taken.
func postCredits(ctx context.Context, ps *choso.Partners, p *choso.Partner, raw []jsontext.Value) ([]choso.CreditResult, error) {
	if len(raw) > choso.MaxCreditsPerPost {
		return nil, choso.Errorf(choso.ETooLarge, "%d credits in one post; at most %d", len(raw), choso.MaxCreditsPerPost)
	}
	var in []choso.CreditInput
	unread := map[int]choso.CreditResult{} // by place in the post
	for i, r := range raw {
		var ci choso.CreditInput
		if err := decodeCredit(r, &ci); err != nil {
			unread[i] = choso.CreditResult{BankTxnID: bankTxnIDOf(r), Status: choso.CreditInvalid, Message: choso.ErrorMessage(err)}
			continue
		}
		in = append(in, ci)
	}
	var taken []choso.CreditResult
	if len(in) > 0 || len(unread) == 0 {
		var err error
		if taken, err = ps.PostCredits(ctx, p, in); err != nil {
			return nil, err
		}
	}
	results := make([]choso.CreditResult, 0, len(raw))
	for i := range raw {
		if r, ok := unread[i]; ok {
			results = append(results, r)
			continue
		}
		results, taken = append(results, taken[0]), taken[1:]
	}
	return results, nil
}

// decodeCredit reads one credit of a post with the rules of decodeJSON.
func decodeCredit(raw jsontext.Value, in *choso.CreditInput) error {
	if raw.Kind() != '{' {
		return choso.Errorf(choso.EInvalid, "a credit must be a JSON object, got %s", raw.Kind())
	}
	return unmarshalStrict(raw, in)
}

// bankTxnIDOf returns the bank_txn_id of a credit that could not be read,
// if it has one, so its result names it.
func bankTxnIDOf(raw jsontext.Value) string {
	var id struct {
		BankTxnID string `json:"bank_txn_id"`
	}
	if raw.Kind() == '{' {
		jsonv2.Unmarshal(raw, &id)
	}
	return id.BankTxnID
}

func (s *Server) handlePartnerReconciliation(c echo.Context) error {
	rec, err := s.partners.Reconcile(c.Request().Context(), partnerOf(c), c.QueryParam("date"), c.QueryParam("bin"), c.QueryParam("account"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, rec)
}

// handleSyncCredits gives a phone the credits to its stall's account after
// ?since= (the last_seq of its previous page): matched or not, so a vendor
// can tell a real payment from a fake transfer screenshot. A credit matched
// late comes again, under its seq, at a later place (choso.Credit.StallPos).
func (s *Server) handleSyncCredits(c echo.Context) error {
	if s.partners == nil {
		return c.JSON(http.StatusOK, map[string]any{"data": []any{}, "last_seq": 0})
	}
	var since uint64
	if v := c.QueryParam("since"); v != "" {
		var err error
		if since, err = strconv.ParseUint(v, 10, 64); err != nil {
			return choso.Errorf(choso.EInvalid, "since must be a credit seq")
		}
	}
	credits, err := s.partners.StallCredits(c.Request().Context(), device(c).StallID, since, 0)
	if err != nil {
		return err
	}
	type phoneCredit struct {
		Seq        uint64    `json:"seq"`
		Amount     int64     `json:"amount"`
		CreditedAt time.Time `json:"credited_at"`
		Content    string    `json:"content"`
		SaleID     string    `json:"sale_id,omitempty"`
		Match      string    `json:"match"`
	}
	out := make([]phoneCredit, 0, len(credits))
	last := since
	for _, cr := range credits {
		out = append(out, phoneCredit{Seq: cr.Seq, Amount: cr.Amount, CreditedAt: cr.CreditedAt, Content: cr.Content, SaleID: cr.SaleID, Match: cr.MatchKind})
		// The page's place: a credit matched late comes again, under its
		// own seq, at a place past it.
		last = max(last, cr.StallPos)
	}
	return c.JSON(http.StatusOK, map[string]any{"data": out, "last_seq": last})
}
