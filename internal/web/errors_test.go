package web

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Each Vietnamese error text takes the English message's parts, in order,
// and a message it does not know, or an English page, keeps the English.
func TestErrorText(t *testing.T) {
	for _, e := range errorsVi {
		n := strings.Count(e.en, "%q") + strings.Count(e.en, "%s") + strings.Count(e.en, "%d")
		if got := strings.Count(e.vi, "%s"); got != n {
			t.Errorf("%q: the Vietnamese takes %d parts, the English gives %d", e.en, got, n)
			continue
		}
		// As a %q part shows in the English message, so it shows here.
		var args, shown []any
		for i := 0; i+1 < len(e.en); i++ {
			if e.en[i] != '%' {
				continue
			}
			switch e.en[i+1] {
			case 'q':
				args = append(args, fmt.Sprintf("X-%d", len(args)))
				shown = append(shown, strconv.Quote(args[len(args)-1].(string)))
			case 's':
				args = append(args, fmt.Sprintf("X-%d", len(args)))
				shown = append(shown, args[len(args)-1])
			case 'd':
				args = append(args, 360+len(args))
				shown = append(shown, fmt.Sprint(args[len(args)-1]))
			}
		}
		msg := fmt.Sprintf(e.en, args...)
		if got, want := ErrorText(Vietnamese, msg), fmt.Sprintf(e.vi, shown...); got != want {
			t.Errorf("ErrorText(%q) = %q, want %q", msg, got, want)
		}
		if got := ErrorText(English, msg); got != msg {
			t.Errorf("on an English page: %q, want the message as it is", got)
		}
	}
	if got := ErrorText(Vietnamese, "something else went wrong"); got != "something else went wrong" {
		t.Errorf("an unknown message: %q", got)
	}
}

// Every English message the table translates is one the code words, as a
// string literal of a .go file: a message reworded in the code without the
// table would show in English again.
func TestErrorText_EveryMessageIsTheCodes(t *testing.T) {
	var src strings.Builder
	root := "../.."
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "vendor" || strings.HasPrefix(d.Name(), ".") && path != root) {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasSuffix(path, "_test.go") && !strings.Contains(path, "internal/web/errors.go") {
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			src.Write(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	code := src.String()
	for _, e := range errorsVi {
		if !strings.Contains(code, strconv.Quote(e.en)) && !strings.Contains(code, "`"+e.en+"`") {
			t.Errorf("no .go file words %q", e.en)
		}
	}
}

// A message names the form control it is about: the bank for a BIN the
// directory lacks, not the account beside it; nothing for a message no one
// control causes, or one the table does not know.
func TestErrorField(t *testing.T) {
	for msg, want := range map[string]string{
		"bin 912345 is not in the NAPAS bank directory": "bank",
		`bin "12": want the bank's 6-digit BIN`:         "bank",
		"account may hold only letters and digits":      "account",
		"a card number is 12–19 digits":                 "account",
		`phone "0123": unexpected character "x"`:        "vendor_phone",
		"stall code A-1 is taken in this market":        "code",
		"vendor name must be 1–80 characters":           "vendor_name",
		"name must be 1–80 characters":                  "name",
		"commune_code 99999: no such commune":           "commune_code",
		"to must not be before from":                    "to",
		"a report covers at most 366 days":              "from to",
		"this stall has no pending payout change":       "",
		"something else went wrong":                     "",
	} {
		if got := ErrorField(msg); got != want {
			t.Errorf("ErrorField(%q) = %q, want %q", msg, got, want)
		}
	}
}
