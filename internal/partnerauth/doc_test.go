package partnerauth

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docPath is the signing guide for banks; its worked examples are checked
// here so its numbers cannot drift from the code.
const docPath = "../../docs/partner-signing.md"

// docExample is one worked example's inputs as the guide states them.
type docExample struct {
	secret, keyID, method, path, query, nonce string
	timestamp                                 int64
	body                                      []byte
}

// fencedBlocks returns the contents of the doc's fenced code blocks with
// the given info string, in order.
func fencedBlocks(doc, info string) []string {
	var blocks []string
	lines := strings.Split(doc, "\n")
	for i := 0; i < len(lines); i++ {
		if lines[i] != "```"+info {
			continue
		}
		var b []string
		for i++; i < len(lines) && lines[i] != "```"; i++ {
			b = append(b, lines[i])
		}
		blocks = append(blocks, strings.Join(b, "\n"))
	}
	return blocks
}

// docExamples parses the ```text blocks that begin with "secret:".
func docExamples(t *testing.T, doc string) []docExample {
	t.Helper()
	var out []docExample
	for _, block := range fencedBlocks(doc, "text") {
		if !strings.HasPrefix(block, "secret:") {
			continue
		}
		fields := map[string]string{}
		for _, line := range strings.Split(block, "\n") {
			name, value, ok := strings.Cut(line, ":")
			if !ok {
				t.Fatalf("%s: example line %q has no colon", docPath, line)
			}
			fields[name] = strings.TrimSpace(value)
		}
		ts, err := strconv.ParseInt(fields["timestamp"], 10, 64)
		if err != nil {
			t.Fatalf("%s: example timestamp %q: %v", docPath, fields["timestamp"], err)
		}
		out = append(out, docExample{
			secret: fields["secret"], keyID: fields["key id"], method: fields["method"], path: fields["path"],
			query: fields["raw query"], nonce: fields["nonce"], timestamp: ts, body: []byte(fields["body"]),
		})
	}
	return out
}

func TestDoc_WorkedExamples(t *testing.T) {
	raw, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	examples := docExamples(t, doc)
	if len(examples) != 2 {
		t.Fatalf("%s: got %d worked examples, want 2", docPath, len(examples))
	}
	scripts := map[string]string{}
	for _, s := range fencedBlocks(doc, "sh") {
		if name, ok := strings.CutPrefix(strings.SplitN(s, "\n", 2)[0], "# reproduce: "); ok {
			scripts[name] = s
		}
	}
	for i, ex := range examples {
		canonical := Canonical(ex.method, ex.path, ex.query, ex.timestamp, ex.nonce, ex.body)
		sig := Sign([]byte(ex.secret), ex.method, ex.path, ex.query, ex.timestamp, ex.nonce, ex.body)
		if !strings.Contains(doc, "```text\n"+canonical+"\n```") {
			t.Errorf("example %d: the guide does not show the canonical string the code builds:\n%s", i+1, canonical)
		}
		headers := strings.Join([]string{
			HeaderKey + ": " + ex.keyID,
			HeaderTimestamp + ": " + strconv.FormatInt(ex.timestamp, 10),
			HeaderNonce + ": " + ex.nonce,
			HeaderSignature + ": " + sig,
		}, "\n")
		if !strings.Contains(doc, "```http\n"+headers+"\n```") {
			t.Errorf("example %d: the guide does not show the headers the code computes:\n%s", i+1, headers)
		}
		if len(ex.body) > 0 {
			sum := sha256.Sum256(ex.body)
			if !strings.Contains(doc, hex.EncodeToString(sum[:])) {
				t.Errorf("example %d: the guide does not give the body's SHA-256 %x", i+1, sum)
			}
			if !strings.Contains(doc, "one line of "+strconv.Itoa(len(ex.body))+" bytes") {
				t.Errorf("example %d: the guide does not give the body's length, %d bytes", i+1, len(ex.body))
			}
		}

		// The example verifies, as a server would see it.
		v := &Verifier{
			Lookup: func(context.Context, string) ([]byte, string, error) { return []byte(ex.secret), "bank_example", nil },
			Now:    func() time.Time { return time.Unix(ex.timestamp, 0) }, Started: time.Unix(ex.timestamp-60, 0),
		}
		h := http.Header{}
		h.Set(HeaderKey, ex.keyID)
		h.Set(HeaderTimestamp, strconv.FormatInt(ex.timestamp, 10))
		h.Set(HeaderNonce, ex.nonce)
		h.Set(HeaderSignature, sig)
		if _, _, err := v.Verify(context.Background(), ex.method, ex.path, ex.query, h, ex.body); err != nil {
			t.Errorf("example %d does not verify: %v", i+1, err)
		}

		// The OpenSSL commands print the same signature.
		name := map[string]string{"/partner/v1/credits": "credits", "/partner/v1/changes": "changes"}[ex.path]
		script, ok := scripts[name]
		if !ok {
			t.Errorf("example %d: no sh block starting with %q", i+1, "# reproduce: "+name)
			continue
		}
		if !strings.Contains(script, ex.secret) {
			t.Errorf("example %d: the OpenSSL script does not use the example's secret", i+1)
		}
		if _, err := exec.LookPath("openssl"); err != nil {
			t.Logf("example %d: openssl not installed; the script is not run", i+1)
			continue
		}
		out, err := exec.Command("sh", "-c", script).Output()
		if err != nil {
			t.Errorf("example %d: running the OpenSSL script: %v", i+1, err)
			continue
		}
		if got := string(bytes.TrimSpace(out)); got != sig {
			t.Errorf("example %d: the OpenSSL script printed %q, want %q", i+1, got, sig)
		}
	}
}
