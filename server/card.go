package server

import (
	"bytes"
	"embed"
	"html/template"
	"net/http"

	"github.com/choso/choso"
	"github.com/choso/choso/qr"
	"github.com/labstack/echo/v4"
)

//go:embed templates/cards.html
var cardTemplates embed.FS

var cardsTemplate = template.Must(template.ParseFS(cardTemplates, "templates/cards.html"))

func (s *Server) registerCardRoutes(g routeGroup) {
	g.GET("/stalls/:id/card", s.handleStallCard)
	g.GET("/markets/:id/cards", s.handleMarketCards)
}

// cardView is what one printed card shows.
type cardView struct {
	Stall         *choso.Stall
	Market        *choso.Market
	BankName      string
	MaskedAccount string
	SVG           template.HTML // the static VietQR, inline: nothing to fetch
}

type cardsPage struct {
	Title string
	Sheet bool
	Pages [][]cardView
}

// newCard renders one stall's card: the static code of its payout account.
func newCard(st *choso.Stall, m *choso.Market) (cardView, error) {
	payload, err := qr.Encode(stallTransfer(st))
	if err != nil {
		return cardView{}, err
	}
	var svg bytes.Buffer
	if err := qr.RenderSVG(&svg, payload, qr.LevelM, 0); err != nil {
		return cardView{}, err
	}
	bank := st.Payout.BIN
	if b, ok := qr.BankByBIN(st.Payout.BIN); ok {
		bank = b.ShortName + " — " + b.Name
	}
	return cardView{Stall: st, Market: m, BankName: bank, MaskedAccount: choso.MaskAccount(st.Payout.Account), SVG: template.HTML(svg.String())}, nil
}

func (s *Server) renderCards(c echo.Context, page cardsPage) error {
	var buf bytes.Buffer
	if err := cardsTemplate.Execute(&buf, page); err != nil {
		return err
	}
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// handleStallCard is a stall's printable A6 card.
func (s *Server) handleStallCard(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	st, err := s.registry.FindStall(ctx, p, c.Param("id"))
	if err != nil {
		return err
	}
	if st.ErasedAt != nil {
		return choso.Errorf(choso.EConflict, "this vendor's data was erased; there is no card to print")
	}
	m, err := s.registry.FindMarket(ctx, p, st.MarketID)
	if err != nil {
		return err
	}
	card, err := newCard(st, m)
	if err != nil {
		return err
	}
	return s.renderCards(c, cardsPage{Title: "Thẻ VietQR " + st.Code + " — " + st.Name, Pages: [][]cardView{{card}}})
}

// handleMarketCards is a market's print sheet: the cards of its active
// stalls, four A6 cards to an A4 page, in code order.
func (s *Server) handleMarketCards(c echo.Context) error {
	ctx, p := c.Request().Context(), principal(c)
	m, err := s.registry.FindMarket(ctx, p, c.Param("id"))
	if err != nil {
		return err
	}
	page := cardsPage{Title: "Thẻ VietQR — " + m.Name, Sheet: true}
	stalls, err := s.stallsOfMarket(ctx, p, m.ID, choso.StallActive)
	if err != nil {
		return err
	}
	var cards []cardView
	for _, st := range stalls {
		if st.ErasedAt != nil {
			continue // its account is masked: no code to print
		}
		card, err := newCard(st, m)
		if err != nil {
			return err
		}
		cards = append(cards, card)
	}
	for i := 0; i < len(cards); i += 4 {
		page.Pages = append(page.Pages, cards[i:min(i+4, len(cards))])
	}
	return s.renderCards(c, page)
}
