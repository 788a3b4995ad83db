package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

func batch(device string, first, n int, ts int64) string {
	recs := make([]string, n)
	for i := range recs {
		recs[i] = fmt.Sprintf(`{"device_id":%q,"seq":%d,"ts":%d,"kind":"reading","payload":"p"}`, device, first+i, ts)
	}
	return `{"records":[` + strings.Join(recs, ",") + `]}`
}

func post(t *testing.T, url, body string) map[string]int {
	t.Helper()
	res, err := http.Post(url+"/sync", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("POST /sync: %s", res.Status)
	}
	var got map[string]int
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

func stats(t *testing.T, url string) map[string]int {
	t.Helper()
	res, err := http.Get(url + "/stats")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var got map[string]int
	if err := json.NewDecoder(res.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	return got
}

// Each option writes what it says, once per record or per request, and a
// batch sent again is all duplicates.
func TestServer_WritesWhatEachOptionAdds(t *testing.T) {
	for _, tc := range []struct {
		name                     string
		opts                     options
		ids, devices, days, feed int
	}{
		{"reference", options{maxRecords: 500}, 0, 0, 0, 0},
		{"ids", options{maxRecords: 500, ids: true, idValue: 140}, 150, 0, 0, 0},
		{"perpush", options{maxRecords: 500, ids: true, idValue: 140, perPush: true}, 150, 2, 2, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := openServer(filepath.Join(t.TempDir(), "ref.db"), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			defer s.db.Close()
			srv := httptest.NewServer(s.echo())
			defer srv.Close()

			const day = 1767225600000
			if got := post(t, srv.URL, batch("a", 1, 50, day)); got["accepted"] != 50 || got["duplicates"] != 0 {
				t.Fatalf("first batch: %v, want 50 accepted", got)
			}
			if got := post(t, srv.URL, batch("a", 1, 50, day)); got["accepted"] != 0 || got["duplicates"] != 50 {
				t.Fatalf("same batch again: %v, want 50 duplicates", got)
			}
			post(t, srv.URL, batch("a", 51, 50, day+1))
			post(t, srv.URL, batch("b", 1, 50, day))
			got := stats(t, srv.URL)
			want := map[string]int{"keys": 150, "ids": tc.ids, "devices": tc.devices, "days": tc.days, "feed": tc.feed,
				"accepted": 150, "duplicates": 50, "requests": 4}
			for k, v := range want {
				if got[k] != v {
					t.Errorf("%s = %d, want %d (all: %v)", k, got[k], v, got)
				}
			}
		})
	}
}

// The stand-in for a ULID sorts by the record's time first.
func TestIDKey_SortsByTimeFirst(t *testing.T) {
	early := idKey(&record{DeviceID: "z", Seq: 9, TS: 1000})
	late := idKey(&record{DeviceID: "a", Seq: 1, TS: 1001})
	if len(early) != 16 || string(early) >= string(late) {
		t.Fatalf("idKey(ts 1000) = %x, idKey(ts 1001) = %x: want 16 bytes, time first", early, late)
	}
	if string(idKey(&record{DeviceID: "a", Seq: 1, TS: 1000})) == string(idKey(&record{DeviceID: "a", Seq: 2, TS: 1000})) {
		t.Fatal("two records of one device share an ID")
	}
}
