package main

import (
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func TestChoso_QREncodeIsDeterministicAndDecodes(t *testing.T) {
	dir := t.TempDir()
	args := []string{"qr", "encode", "--bin", "970436", "--account", "0011001234567", "--amount", "45000",
		"--purpose", "Bún chả cô Lan", "--ref", "CS7K2M9QX3", "--png", filepath.Join(dir, "q.png"), "--svg", filepath.Join(dir, "q.svg")}
	first, stderr, code := runCLI(t, args...)
	second, _, _ := runCLI(t, args...)
	if code != 0 || first != second || !strings.HasPrefix(first, "000201010212") {
		t.Fatalf("encode: exit %d, %q then %q (%s)", code, first, second, stderr)
	}
	if !strings.Contains(first, "CS7K2M9QX3 BUN CHA CO LAN") {
		t.Fatalf("payload %q lacks the reference first and the folded purpose", first)
	}
	f, err := os.Open(filepath.Join(dir, "q.png"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if img, err := png.Decode(f); err != nil || img.Bounds().Dx() != 512 {
		t.Fatalf("PNG: %v", err)
	}
	if svg, _ := os.ReadFile(filepath.Join(dir, "q.svg")); !strings.Contains(string(svg), "<svg") {
		t.Fatal("no SVG written")
	}

	out, _, code := runCLI(t, "qr", "decode", strings.TrimSpace(first))
	var r struct {
		EMVOK    bool   `json:"emv_ok"`
		Transfer bool   `json:"transfer"`
		Verdict  string `json:"verdict"`
		Fields   struct {
			BIN        string `json:"bin"`
			Account    string `json:"account"`
			Amount     *int64 `json:"amount"`
			Initiation string `json:"initiation"`
			Purpose    string `json:"purpose"`
		} `json:"fields"`
	}
	if err := json.Unmarshal([]byte(out), &r); err != nil || code != 0 {
		t.Fatalf("decode: exit %d, %v: %s", code, err, out)
	}
	if !r.Transfer || !r.EMVOK || r.Verdict != "ok" || r.Fields.BIN != "970436" || r.Fields.Account != "0011001234567" ||
		r.Fields.Amount == nil || *r.Fields.Amount != 45000 || r.Fields.Initiation != "dynamic" || r.Fields.Purpose != "CS7K2M9QX3 BUN CHA CO LAN" {
		t.Fatalf("decoded = %+v", r)
	}
}

func TestChoso_QRDecodeStdinExitStatus(t *testing.T) {
	valid := "00020101021138580010A000000727012800069704180114581100007157520208QRIBFTTA53037045802VN630438C8"
	cmd := exec.Command(chosoBinary(t), "qr", "decode")
	cmd.Env = cleanEnv()
	cmd.Stdin = strings.NewReader(valid + "\n\n" + valid[:len(valid)-4] + "0000\nhello\n")
	out, err := cmd.Output()
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 {
		t.Fatalf("got %d JSON lines, want 3:\n%s", len(lines), out)
	}
	var verdicts []string
	for _, l := range lines {
		var r struct{ Verdict string }
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		verdicts = append(verdicts, r.Verdict)
	}
	if strings.Join(verdicts, " ") != "ok bad_crc not_emv" {
		t.Fatalf("verdicts = %v", verdicts)
	}
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("exit = %v, want 1 when a payload is not a transfer", err)
	}
	if _, _, code := runCLI(t, "qr", "decode", valid); code != 0 {
		t.Fatalf("all valid: exit %d, want 0", code)
	}
}

func TestChoso_QREncodeRefusesBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"qr", "encode", "--bin", "97043", "--account", "1"},
		{"qr", "encode", "--bin", "970436", "--account", "1", "--amount", "1000000000"},
		{"qr", "encode", "--bin", "970436", "--account", "12345678901234567890"},
	} {
		if _, stderr, code := runCLI(t, args...); code != exitError || stderr == "" {
			t.Errorf("%v: exit %d, stderr %q; want 1 with a reason", args, code, stderr)
		}
	}
}
