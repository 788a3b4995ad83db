package qr

import (
	"bytes"
	"io"
	"strings"
	"testing"
)

// seededReader yields a fixed xorshift stream from its seed, so references
// are reproducible.
type seededReader struct{ n uint64 }

func (c *seededReader) Read(p []byte) (int, error) {
	for i := range p {
		c.n ^= c.n<<13 + 0x9E3779B97F4A7C15
		c.n ^= c.n >> 7
		c.n ^= c.n << 17
		p[i] = byte(c.n >> 56)
	}
	return len(p), nil
}

func TestNewReference_IsCSPlusEightUnambiguousCharacters(t *testing.T) {
	rnd := &seededReader{}
	seen := map[string]bool{}
	for range 1000 {
		ref, err := NewReference(rnd)
		if err != nil {
			t.Fatal(err)
		}
		if len(ref) != 10 || !strings.HasPrefix(ref, "CS") {
			t.Fatalf("got %q, want CS and 8 characters", ref)
		}
		if strings.ContainsAny(ref[2:], "ILOU") {
			t.Fatalf("got %q, want none of I, L, O, U", ref)
		}
		if !ValidReference(ref) {
			t.Fatalf("ValidReference(%q): got false, want true", ref)
		}
		seen[ref] = true
	}
	if len(seen) < 990 {
		t.Errorf("got %d distinct references of 1000, want nearly all", len(seen))
	}
	a, _ := NewReference(bytes.NewReader([]byte{1, 2, 3, 4, 5}))
	b, _ := NewReference(bytes.NewReader([]byte{1, 2, 3, 4, 5}))
	if a != b {
		t.Errorf("same bytes: got %q and %q, want equal references", a, b)
	}
	if _, err := NewReference(bytes.NewReader([]byte{1, 2})); err == nil {
		t.Errorf("short reader: got no error, want one")
	}
}

func TestValidReference_RejectsEverySingleCharacterChange(t *testing.T) {
	ref, _ := NewReference(&seededReader{n: 9})
	for i := 2; i < len(ref); i++ {
		for _, c := range []byte(referenceAlphabet) {
			if c == ref[i] {
				continue
			}
			changed := ref[:i] + string(c) + ref[i+1:]
			if ValidReference(changed) {
				t.Errorf("ValidReference(%q) (from %q): got true, want false", changed, ref)
			}
		}
	}
}

func TestExtractReference_FindsTheReferenceInMangledBankContent(t *testing.T) {
	ref, _ := NewReference(&seededReader{n: 42})
	lower := strings.ToLower(ref)
	spaced := ref[:2] + " " + ref[2:6] + " " + ref[6:]
	confusable := strings.NewReplacer("0", "O", "1", "I").Replace(ref) // as retyped by a person
	tests := []struct {
		name, content string
	}{
		{"as sent", ref + " BAN 12 MUA RAU"},
		{"lower-cased", "chuyen tien " + lower + " ban 12"},
		{"bank prefix with dots (Vietcombank style)", "MBVCB.3279715342." + ref + ".BAN 12.CT tu 0011001234567"},
		{"glued to the bank's words", "IBFT" + ref + "BAN12MUARAU"},
		{"split by spaces", "ND: " + spaced + " ban 12"},
		{"cut right after the reference", "NGUYEN VAN A chuyen tien " + ref},
		{"look-alike letters for digits", "TT " + confusable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := ExtractReference(tt.content)
			if !ok || got != ref {
				t.Errorf("ExtractReference(%q): got %q, %v, want %q", tt.content, got, ok, ref)
			}
		})
	}
}

func TestExtractReference_FindsNothingInContentWithoutOne(t *testing.T) {
	for _, content := range []string{
		"", "CS", "chuyen tien mua rau", "CSKH VIETCOMBANK 1900545413", "THANH TOAN CS1234567",
		"CSJYQPEPN82 TD000827097755000018000", // a payOS code: different scheme
		strings.Repeat("CS", 100),
	} {
		if got, ok := ExtractReference(content); ok {
			t.Errorf("ExtractReference(%q): got %q, want none", content, got)
		}
	}
}

func TestExtractReference_ReadsLongContentWithoutFailing(t *testing.T) {
	ref, _ := NewReference(&seededReader{n: 7})
	long := strings.Repeat("x ", 500) + ref
	if got, ok := ExtractReference(long); !ok || got != ref {
		t.Errorf("got %q, %v, want %q", got, ok, ref)
	}
}

var _ io.Reader = (*seededReader)(nil)
