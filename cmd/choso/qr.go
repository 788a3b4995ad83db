package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/choso/choso/qr"
)

// runQR encodes and decodes VietQR payloads: choso qr encode|decode.
func runQR(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "usage: choso qr encode|decode [flags]")
		return errUsage
	}
	switch args[0] {
	case "encode":
		return runQREncode(e, args[1:])
	case "decode":
		return runQRDecode(e, args[1:])
	}
	fmt.Fprintf(e.stderr, "choso qr: unknown subcommand %q (encode, decode)\n", args[0])
	return errUsage
}

// runQREncode prints the payload of a transfer code, and writes its image
// when asked. The output is deterministic: the purpose is used as given
// after ASCII folding, and a payment reference goes first only with --ref.
func runQREncode(e *env, args []string) error {
	fs := newFlagSet("qr encode", e)
	bin := fs.String("bin", "", "beneficiary bank BIN (6 digits)")
	account := fs.String("account", "", "account or card number")
	card := fs.Bool("card", false, "the number is a card (QRIBFTTC)")
	amount := fs.Int64("amount", 0, "amount in đồng: makes a dynamic code")
	purpose := fs.String("purpose", "", "transfer message (62.08), folded to ASCII")
	name := fs.String("name", "", "merchant name (59), folded to ASCII")
	city := fs.String("city", "", "city (60), folded to ASCII")
	ref := fs.String("ref", "", "payment reference put first in 62.08")
	pngFile := fs.String("png", "", "also write a PNG to this file")
	svgFile := fs.String("svg", "", "also write an SVG to this file")
	size := fs.Int("size", 512, "image size in pixels")
	level := fs.String("level", "M", "error correction: L, M, Q or H")
	if err := fs.Parse(args); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	t := qr.Transfer{BIN: *bin, Account: *account, Amount: *amount, Reference: *ref, Purpose: *purpose, MerchantName: *name, City: *city}
	if *card {
		t.Service = qr.ServiceCard
	}
	payload, err := qr.Encode(t)
	if err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, payload)
	lvl, err := qr.ParseLevel(*level)
	if err != nil {
		return err
	}
	write := func(file string, render func(*os.File) error) error {
		if file == "" {
			return nil
		}
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		if err := render(f); err != nil {
			f.Close()
			return err
		}
		return f.Close()
	}
	if err := write(*pngFile, func(f *os.File) error { return qr.RenderPNG(f, payload, lvl, *size) }); err != nil {
		return err
	}
	return write(*svgFile, func(f *os.File) error { return qr.RenderSVG(f, payload, lvl, *size) })
}

// errNotTransfer makes `choso qr decode` exit 1 when any payload is not a
// VietQR transfer; the JSON lines say why.
var errNotTransfer = errors.New("not every payload is a VietQR transfer")

// runQRDecode prints one JSON object per payload, from the arguments or,
// without any, one per line of standard input.
func runQRDecode(e *env, args []string) error {
	fs := newFlagSet("qr decode", e)
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	enc := json.NewEncoder(e.stdout)
	allTransfers := true
	decode := func(payload string) error {
		r := qr.Decode(payload)
		allTransfers = allTransfers && r.Transfer
		return enc.Encode(r)
	}
	if fs.NArg() > 0 {
		for _, p := range fs.Args() {
			if err := decode(p); err != nil {
				return err
			}
		}
	} else {
		sc := bufio.NewScanner(e.stdin)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := strings.TrimRight(sc.Text(), "\r")
			if strings.TrimSpace(line) == "" {
				continue
			}
			if err := decode(line); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return err
		}
	}
	if !allTransfers {
		return errNotTransfer
	}
	return nil
}
