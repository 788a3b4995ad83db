package main

import (
	"context"
	"encoding/json"
	mrand "math/rand/v2"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/choso/choso"
	"github.com/choso/choso/internal/store/postgres"
	"github.com/choso/choso/internal/store/postgres/pgtest"
	"github.com/choso/choso/partnerclient"
)

// TestCluster_ThreeNodesOneDatabase_KillOneMidStream is issue 8's cluster
// drill: three choso processes share one PostgreSQL database; phones push
// through all three at random; one node is killed with SIGKILL mid-stream
// and restarted; a bank tails the partner feed through another node
// throughout. Every acknowledged event must be counted exactly once, and
// the bank must see every change, in order, with no hole.
func TestCluster_ThreeNodesOneDatabase_KillOneMidStream(t *testing.T) {
	url := pgtest.NewDatabase(t)
	env := append(cleanEnv(), "CHOSO_MASTER_KEY="+testMasterKey)
	startNode := func() *e2eServer {
		data := t.TempDir()
		p := startWith(t, env, "--data", data, "--addr", "127.0.0.1:0", "--push-limit", "off", "--store", url)
		s := &e2eServer{t: t, data: data, proc: p}
		s.base = "http://" + p.waitLog(t, "listening")["addr"].(string)
		waitReady(t, s.base)
		return s
	}
	nodes := []*e2eServer{startNode()}
	admin := nodes[0].proc.waitLog(t, "admin created")["password"].(string)
	nodes = append(nodes, startNode(), startNode())
	phones := nodes[0].setupPhones(6, admin)

	out, stderr, code := runCLIWith(t, env, "partner", "add", "Ngân hàng Thử", "--province", "24", "--store", url)
	var key struct {
		KeyID  string `json:"key_id"`
		Secret string `json:"secret"`
	}
	if err := json.Unmarshal([]byte(out), &key); code != 0 || err != nil {
		t.Fatalf("partner add: exit %d, %v\n%s%s", code, err, out, stderr)
	}
	bank, err := partnerclient.New(nodes[2].base, key.KeyID, []byte(key.Secret))
	if err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex // guards nodes[1], replaced when it restarts
	base := func(i int) string {
		mu.Lock()
		defer mu.Unlock()
		return nodes[i].base
	}

	// The bank tails the feed through node 2, which is never killed.
	var seen []uint64
	var readErrs int
	var lastErr error
	cursor := ""
	read := func() (more bool) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		page, err := bank.Changes(ctx, cursor, 50)
		if err != nil {
			readErrs, lastErr = readErrs+1, err
			time.Sleep(100 * time.Millisecond) // rate limited or busy: the next poll continues
			return true
		}
		for _, r := range page.Data {
			if want := uint64(len(seen)) + 1; r.ChangeSeq != want {
				t.Fatalf("the feed gave change %d where %d was due: a hole, or a later change visible before an earlier one", r.ChangeSeq, want)
			}
			seen = append(seen, r.ChangeSeq)
		}
		cursor = page.NextCursor
		return page.HasMore
	}
	stopReading, readerDone := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(readerDone)
		for {
			select {
			case <-stopReading:
				return
			case <-time.After(60 * time.Millisecond): // within the key's 20 requests a second
			}
			read()
		}
	}()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for _, p := range phones {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				p.record(1 + mrand.IntN(10))
				p.pushOnce(client, base(mrand.IntN(len(nodes))))
			}
		})
	}
	time.Sleep(time.Second)
	nodes[1].kill()
	t.Logf("node 1 killed with SIGKILL mid-stream")
	time.Sleep(300 * time.Millisecond)
	restarted := startNode()
	mu.Lock()
	nodes[1] = restarted
	mu.Unlock()
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	drain(t, nodes[1].base, phones)
	close(stopReading)
	<-readerDone
	for deadline := time.Now().Add(30 * time.Second); read(); {
		if time.Now().After(deadline) {
			t.Fatalf("the feed still has more after 30 s; %d changes seen, %d read errors, the last: %v", len(seen), readErrs, lastErr)
		}
		time.Sleep(60 * time.Millisecond)
	}
	t.Logf("feed read through node 2: %d changes, %d read errors (the last: %v)", len(seen), readErrs, lastErr)

	var acked uint64
	for _, p := range phones {
		acked += p.acked
	}
	events := checkTotals(t, nodes[0], phones)
	db, err := postgres.Open(context.Background(), url, postgres.Options{MaxConns: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var last uint64
	db.View(context.Background(), func(tx choso.Tx) error { last, err = tx.LastChangeSeq(); return err })
	if uint64(len(seen)) != last || last == 0 {
		t.Fatalf("the bank saw %d changes, the database holds changes 1…%d", len(seen), last)
	}
	t.Logf("3 nodes, 1 killed and restarted: %d events acknowledged, totals equal the %d distinct events; the bank saw changes 1…%d in order through another node",
		acked, events, last)
	for _, n := range nodes {
		n.proc.cmd.Process.Signal(syscall.SIGTERM)
		n.proc.cmd.Wait()
	}
	if out, stderr, code := runCLIWith(t, env, "check", "--store", url); code != 0 {
		t.Fatalf("check after the drill: exit %d\n%s%s", code, out, stderr)
	}
}
