package server

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"

	chosync "github.com/choso/choso/sync"
)

// wantStd is what c.JSON writes for v: encoding/json and a newline.
func wantStd(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func checkResponseBytes(t *testing.T, res *chosync.PushResponse) {
	t.Helper()
	got := append(appendPushResponse(nil, res), '\n')
	if want := wantStd(t, res); !bytes.Equal(got, want) {
		t.Fatalf("appendPushResponse wrote\n%s\nencoding/json writes\n%s", got, want)
	}
}

func TestAppendPushResponse(t *testing.T) {
	for name, res := range map[string]*chosync.PushResponse{
		"empty": {},
		"applied": {AckSeq: 50, NextExpectedSeq: 51, ServerTimeMs: 1764140000000, ConfigVersion: 3, TotalsVersion: 9,
			Results: []chosync.Result{{Seq: 49, Status: "applied", ServerSeq: 1001, TimeQuality: "good"}, {Seq: 50, Status: "applied", ServerSeq: 1002}}},
		"no results": {AckSeq: 4, NextExpectedSeq: 5, Results: []chosync.Result{}},
		"gap": {AckSeq: 4, NextExpectedSeq: 5, Gap: &chosync.Gap{Expected: 5, Received: 9},
			Results: []chosync.Result{{Seq: 9, Status: "not_processed"}}},
		"duplicate and rejected": {Results: []chosync.Result{
			{Seq: 1, Status: "duplicate", Original: &chosync.Original{Status: "applied", ServerSeq: 77}},
			{Seq: 2, Status: "duplicate", Original: &chosync.Original{Status: "rejected", Code: "invalid_amount"}},
			{Seq: 3, Status: "rejected", Code: "invalid_amount", Message: `amount must be > 0, got "-5" <&> é` + "\n\x01\xff", Note: "a\u2028b"},
		}},
		"token": {AckSeq: 1, NextExpectedSeq: 2, Token: "dGhpcyBpcyBhIHRva2Vu_-", Results: []chosync.Result{{Seq: 1, Status: "applied"}}},
	} {
		t.Run(name, func(t *testing.T) { checkResponseBytes(t, res) })
	}
}

// FuzzAppendPushResponse holds the answer's bytes to encoding/json's for
// any strings and numbers.
func FuzzAppendPushResponse(f *testing.F) {
	f.Add(uint64(50), int64(1764140000000), "applied", "", "", "good", "", true, false)
	f.Add(uint64(0), int64(-1), "rejected", "invalid_amount", "amount <0> & \"x\"\n", "", "tok\xff", false, true)
	f.Fuzz(func(t *testing.T, seq uint64, ms int64, status, code, message, quality, token string, gap, original bool) {
		res := &chosync.PushResponse{AckSeq: seq, NextExpectedSeq: seq + 1, ServerTimeMs: ms, ConfigVersion: int(ms % 1000),
			TotalsVersion: seq >> 3, Token: token,
			Results: []chosync.Result{{Seq: seq, Status: status, Code: code, Message: message, ServerSeq: seq >> 1, Note: code + message, TimeQuality: quality}}}
		if gap {
			res.Gap = &chosync.Gap{Expected: seq, Received: seq >> 2}
		}
		if original {
			res.Results[0].Original = &chosync.Original{Status: status, Code: message, ServerSeq: seq}
		}
		checkResponseBytes(t, res)
	})
}

// A push asked for pretty output gets c.JSON's indented answer, the same
// answer; any other gets the hand-built bytes.
func TestWritePushResponse_PrettyOnRequest(t *testing.T) {
	rs := newRegistryServer(t)
	p := rs.enroll(t, rs.objects(t, false).stall)
	for _, tc := range []struct {
		path     string
		indented bool
	}{{"/v1/sync/push", false}, {"/v1/sync/push?pretty", true}} {
		res := rs.do(t, "POST", tc.path, bytes.NewReader(pushBody(t, p.sales(2, 1000, "cash"))),
			"Authorization", "Bearer "+p.token, "Content-Type", "application/json")
		body, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK || res.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("%s: %d %q", tc.path, res.StatusCode, res.Header.Get("Content-Type"))
		}
		var got chosync.PushResponse
		if err := json.Unmarshal(body, &got); err != nil || len(got.Results) != 2 || got.AckSeq != p.seq {
			t.Fatalf("%s: %s (%v)", tc.path, body, err)
		}
		if indented := bytes.Contains(body, []byte("\n  ")); indented != tc.indented {
			t.Errorf("%s: indented %v, want %v:\n%s", tc.path, indented, tc.indented, body)
		}
	}
}
