package main

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/secret"
	"github.com/choso/choso/qr"
)

// sealer seals partner secrets with the master key.
type sealer struct{ key []byte }

func (s sealer) Seal(plaintext, aad []byte) ([]byte, error) {
	return secret.Seal(s.key, plaintext, aad)
}
func (s sealer) Open(sealed, aad []byte) ([]byte, error) { return secret.Open(s.key, sealed, aad) }

// masterKey returns the master key from CHOSO_MASTER_KEY or the key file in
// the data directory, created with mode 0600 at first start: the first
// start of a store without partners. A store that has partners had its
// key file already; one restored without it gets none made.
func masterKey(ctx context.Context, cfg *Config, db choso.Store) ([]byte, error) {
	if cfg.storeURL != "" && os.Getenv("CHOSO_MASTER_KEY") == "" {
		// A key file per node would seal partner secrets no other node can open.
		return nil, errors.New("with --store postgres://… every node must share one master key: set CHOSO_MASTER_KEY")
	}
	path := filepath.Join(cfg.dataDir(), secret.KeyFile)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) && os.Getenv("CHOSO_MASTER_KEY") == "" {
		var partners []*choso.Partner
		if err := db.View(ctx, func(tx choso.Tx) error {
			var err error
			partners, err = tx.ListPartners()
			return err
		}); err != nil {
			return nil, err
		}
		if len(partners) > 0 {
			// A new key would open none of their keys or webhook secrets.
			return nil, fmt.Errorf("%s is missing, but the store holds %d bank partners whose keys are sealed under a master key: "+
				"put back the master.key kept with this store's backup (or set CHOSO_MASTER_KEY to it), then start again", path, len(partners))
		}
	}
	return secret.MasterKey(cfg.dataDir(), os.Getenv("CHOSO_MASTER_KEY"))
}

// derive makes a key for one purpose from the master key, so that the
// master key itself signs nothing a client sees.
func derive(master []byte, purpose string) []byte {
	m := hmac.New(sha256.New, master)
	m.Write([]byte(purpose))
	return m.Sum(nil)
}

// newPartners returns the partner side over store.
func newPartners(store choso.Store, master []byte) *choso.Partners {
	return &choso.Partners{
		Store: store, Sealer: sealer{key: master}, Now: time.Now, FinalAfter: choso.DefaultFinalAfter,
		ExtractRef: qr.ExtractReference, Location: choso.LoadLocation,
	}
}

// How often the partner workers run a round. Variables so that tests can
// shorten them.
var (
	// finalizeEvery is how often runFinalizer turns aged days final.
	finalizeEvery = 10 * time.Minute
	// lateMatchEvery is how often runLateMatcher looks for credits that
	// came before their sales; a vendor sees such a sale confirmed that
	// much after the phone synced.
	lateMatchEvery = 30 * time.Second
)

// runFinalizer turns stall-days final as they age, every finalizeEvery
// until ctx is done. It runs on one node at a time (runLeased).
func runFinalizer(ctx context.Context, ps *choso.Partners, log *slog.Logger) {
	every(ctx, finalizeEvery, func(ctx context.Context) {
		n, err := ps.FinalizeDays(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("finalizing days", "err", err)
		case n > 0:
			log.Info("days finalized", "count", n)
		}
	})
}

// runLateMatcher matches credits the bank posted before the phones synced
// their sales (choso.Partners.MatchLateCredits), every lateMatchEvery until
// ctx is done, reading the feed to its end each round.
func runLateMatcher(ctx context.Context, ps *choso.Partners, log *slog.Logger) {
	every(ctx, lateMatchEvery, func(ctx context.Context) {
		for more := true; more && ctx.Err() == nil; {
			n, m, err := ps.MatchLateCredits(ctx)
			if err != nil {
				if ctx.Err() == nil {
					log.Error("matching late credits", "err", err)
				}
				return
			}
			if n > 0 {
				log.Info("late credits matched", "count", n)
			}
			more = m
		}
	})
}

// every runs round at once and then every d until ctx is done. A round
// that overruns d delays the next; rounds never overlap.
func every(ctx context.Context, d time.Duration, round func(context.Context)) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// runPartner manages partners on a stopped server's store: add, key, revoke.
func runPartner(ctx context.Context, e *env, args []string) error {
	// The subcommand is known before the store and the master key are
	// touched: help or a typo must not create them in the data directory.
	var arg string // what the subcommand takes, for its usage line
	known := false
	if len(args) > 0 {
		arg, known = map[string]string{"add": "NAME", "key": "PARTNER_ID", "revoke": "KEY_ID"}[args[0]]
	}
	if !known {
		if len(args) > 0 && args[0] != "-h" && args[0] != "--help" && args[0] != "help" {
			fmt.Fprintf(e.stderr, "choso partner: unknown subcommand %q\n", args[0])
		}
		fmt.Fprintln(e.stderr, "usage: choso partner add NAME [--province CODE]… [--market ID]… [--webhook-url URL] | key PARTNER_ID | revoke KEY_ID")
		return errUsage
	}
	sub, args := args[0], args[1:]
	cfg := DefaultConfig()
	fs := newFlagSet("partner "+sub, e)
	if err := cfg.bindFlags(fs, false); err != nil {
		return err
	}
	var provinces, markets multiFlag
	fs.Var(&provinces, "province", "province code of the partner's programme (repeat)")
	fs.Var(&markets, "market", "market ID of the partner's programme (repeat)")
	webhook := fs.String("webhook-url", "", "URL that receives the partner's signed webhooks")
	// Flags may come after the name: take the name first.
	var positional []string
	for len(args) > 0 && len(args[0]) > 0 && args[0][0] != '-' {
		positional, args = append(positional, args[0]), args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	positional = append(positional, fs.Args()...)
	if err := cfg.Validate(false); err != nil {
		return err
	}
	if len(positional) != 1 {
		fmt.Fprintf(e.stderr, "usage: choso partner %s [flags] %s\n", sub, arg)
		return errUsage
	}
	// Checked before the partner is added: a URL refused after it would
	// leave a partner whose key secret was never shown.
	if err := choso.ValidateWebhookURL(*webhook); err != nil {
		return errors.New(choso.ErrorMessage(err))
	}
	if err := os.MkdirAll(cfg.dataDir(), 0o700); err != nil {
		return err
	}
	db, err := openStore(&cfg)
	if err != nil {
		return err
	}
	defer db.Close()
	// Revoking a key seals nothing: it works on a store whose master key is
	// not at hand (restored on a new machine after a key leaked, say), and
	// makes no key file beside it.
	var master []byte
	if sub != "revoke" {
		if master, err = masterKey(ctx, &cfg, db); err != nil {
			return err
		}
	}
	reg := newRegistry(db)
	if err := seedRegions(ctx, reg, slog.New(slog.DiscardHandler)); err != nil {
		return err
	}
	ps := newPartners(db, master)
	cli := choso.SystemPrincipal("cli")
	out := json.NewEncoder(e.stdout)
	switch sub {
	case "add":
		p, key, sec, err := ps.AddPartner(ctx, cli, choso.NewPartner{Name: positional[0], Provinces: provinces, MarketIDs: markets})
		if err != nil {
			return errors.New(choso.ErrorMessage(err))
		}
		res := map[string]string{"partner_id": p.ID, "key_id": key.ID, "secret": sec}
		if *webhook != "" {
			whs, err := ps.SetWebhook(ctx, cli, p.ID, *webhook)
			if err != nil {
				return errors.New(choso.ErrorMessage(err))
			}
			res["webhook_secret"] = whs
		}
		return out.Encode(res)
	case "key":
		key, sec, err := ps.AddPartnerKey(ctx, cli, positional[0])
		if err != nil {
			return errors.New(choso.ErrorMessage(err))
		}
		return out.Encode(map[string]string{"partner_id": key.PartnerID, "key_id": key.ID, "secret": sec})
	case "revoke":
		key, err := ps.RevokePartnerKey(ctx, cli, positional[0])
		if err != nil {
			return errors.New(choso.ErrorMessage(err))
		}
		fmt.Fprintf(e.stdout, "key %s of partner %s revoked\n", key.ID, key.PartnerID)
		return nil
	}
	return nil
}
