package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/choso/choso"
)

// demoMarkets are two real markets of Bắc Ninh province, in two of its
// communes, for a newcomer to click through. The stalls and people are
// made up; the banks, BINs, communes and formats are real.
var demoMarkets = []struct {
	name, commune, address string
}{
	{"Chợ Thương", "07210", "Đường Thánh Thiên, Phường Bắc Giang, Bắc Ninh"},
	{"Chợ Nhớn", "09187", "Đường Nguyễn Trãi, Phường Kinh Bắc, Bắc Ninh"},
}

var demoGoods = []struct{ name, category string }{
	{"Rau sạch", "Rau củ quả"}, {"Thịt lợn", "Thịt"}, {"Cá tươi", "Thủy sản"}, {"Gạo ngon", "Gạo, ngũ cốc"},
	{"Bún chả", "Ăn uống"}, {"Trái cây", "Rau củ quả"}, {"Đậu phụ", "Thực phẩm chế biến"}, {"Gà ta", "Gia cầm"},
	{"Tạp hóa", "Tạp hóa"}, {"Quần áo", "May mặc"},
}

var demoVendors = []string{
	"Nguyễn Thị Lan", "Trần Văn Hùng", "Lê Thị Hoa", "Phạm Văn Đức", "Hoàng Thị Mai",
	"Vũ Văn Nam", "Đặng Thị Hương", "Bùi Văn Tuấn", "Đỗ Thị Thu", "Ngô Văn Bình",
	"Dương Thị Hạnh", "Lý Văn Phúc", "Trịnh Thị Ngọc", "Đinh Văn Long", "Mai Thị Yến",
	"Hồ Văn Sơn", "Phan Thị Liên", "Tô Văn Khánh", "Chu Thị Nga", "Lương Văn Tài",
}

// demoBanks are BINs of banks whose apps pay VietQR, from banks.tsv.
var demoBanks = []string{"970436", "970418", "970415", "970405", "970422", "970407", "970416", "970432", "970403"}

// seedDemo registers two markets with 20 stalls each, a volunteer for both
// communes and an official for the province, and a month of their phones'
// sales and a demo bank's credits (seedDemoSales), and logs the logins. It
// does nothing on a store that already has markets.
func seedDemo(ctx context.Context, reg *choso.Registry, ps *choso.Partners, log *slog.Logger) error {
	var n int
	if err := reg.Store.View(ctx, func(tx choso.Tx) error {
		var err error
		n, err = tx.CountMarkets()
		return err
	}); err != nil {
		return err
	}
	if n > 0 {
		log.Info("demo data skipped: the store already has markets", "markets", n)
		return nil
	}
	sys := choso.SystemPrincipal("demo")
	volunteer, vpw, err := reg.CreateUser(ctx, sys, choso.NewUser{Username: "tinhnguyen", Role: choso.RoleVolunteer, Scope: []string{"07210", "09187"}})
	if err != nil && choso.ErrorCode(err) != choso.EConflict {
		return fmt.Errorf("demo volunteer: %w", err)
	}
	official, opw, err := reg.CreateUser(ctx, sys, choso.NewUser{Username: "canbo", Role: choso.RoleOfficial, Scope: []string{"24"}})
	if err != nil && choso.ErrorCode(err) != choso.EConflict {
		return fmt.Errorf("demo official: %w", err)
	}
	actor := sys
	if volunteer != nil {
		actor = volunteer.Principal()
	}
	loc, err := choso.LoadLocation(choso.DefaultTimeZone)
	if err != nil {
		return err
	}
	// The markets and stalls were registered over the last month, each
	// stall on the day it joined (demoJoined).
	now := reg.Now()
	at := func(t time.Time) *choso.Registry {
		r := *reg
		r.Now = func() time.Time { return t }
		return &r
	}
	var stalls []*choso.Stall
	for mi, dm := range demoMarkets {
		m, err := at(demoJoined(0, now, loc)).CreateMarket(ctx, actor, choso.NewMarket{Name: dm.name, CommuneCode: dm.commune, Address: dm.address})
		if err != nil {
			return fmt.Errorf("demo market %s: %w", dm.name, err)
		}
		for i := range 20 {
			k := mi*20 + i
			vendor := demoVendors[k%len(demoVendors)]
			goods := demoGoods[k%len(demoGoods)]
			s, err := at(demoJoined(k, now, loc)).CreateStall(ctx, actor, m.ID, choso.NewStall{
				Code:        fmt.Sprintf("%c-%02d", 'A'+i/10, i%10+1),
				Name:        goods.name + " " + shortName(vendor),
				Category:    goods.category,
				VendorName:  vendor,
				VendorPhone: fmt.Sprintf("09%d%d %03d %03d", 1+k%8, k%10, 100+k*7, 200+k*13),
				Payout: choso.PayoutAccount{
					BIN:     demoBanks[k%len(demoBanks)],
					Account: fmt.Sprintf("%d%09d", 10+k%80, 123456789-k*7919),
					Service: choso.ServiceAccount,
					Holder:  strings.ToUpper(choso.FoldVietnamese(vendor)),
				},
				ConsentGiven: true,
			})
			if err != nil {
				return fmt.Errorf("demo stall %d: %w", k, err)
			}
			stalls = append(stalls, s)
		}
	}
	log.Info("demo data seeded", "markets", len(demoMarkets), "stalls", len(stalls))
	// The logins first: they are shown once, and the store has its
	// markets now, so a start after a seed that failed part-way seeds
	// nothing more.
	if volunteer != nil {
		log.Info("demo user", "username", volunteer.Username, "password", vpw, "role", volunteer.Role, "scope", strings.Join(volunteer.Scope, ","))
	}
	if official != nil {
		log.Info("demo user", "username", official.Username, "password", opw, "role", official.Role, "scope", strings.Join(official.Scope, ","))
	}
	return seedDemoSales(ctx, reg, ps, actor, stalls, log)
}

// shortName is how market people call a vendor: "cô Lan", "chú Hùng".
func shortName(full string) string {
	parts := strings.Fields(full)
	given := parts[len(parts)-1]
	if len(parts) >= 2 && parts[1] == "Thị" {
		return "cô " + given
	}
	return "chú " + given
}
