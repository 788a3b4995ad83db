package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// network is the phones' mobile network: a loopback proxy in front of the
// server. Each phone talks to /p/{i}/…; the network can have the phone
// offline (the connection is closed at once), cut a push before the server
// sees it, or lose the answer after the server committed it (the
// connection is closed instead of answering). Each phone's requests carry
// its own X-Forwarded-For, as phones on a carrier network come from many
// addresses (the server believes it only with --trusted-proxies).
type network struct {
	upstream string
	loss     float64 // of pushes: answer lost after the server applied
	cut      float64 // of pushes: cut before the server sees them
	srv      *http.Server
	ln       net.Listener
	tr       *http.Transport

	mu     sync.Mutex
	phones []*link

	Lost, Cut, Refused atomic.Int64
}

// link is one phone's connection.
type link struct {
	offline atomic.Bool
	ip      string
}

func startNetwork(upstream string, loss, cut float64) (*network, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	n := &network{upstream: strings.TrimRight(upstream, "/"), loss: loss, cut: cut, ln: ln,
		tr: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096, IdleConnTimeout: 90 * time.Second}}
	n.srv = &http.Server{Handler: n, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 120 * time.Second}
	go n.srv.Serve(ln)
	return n, nil
}

func (n *network) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n.srv.Shutdown(ctx)
	n.tr.CloseIdleConnections()
}

// addPhone makes a link and returns the base URL the phone should use.
func (n *network) addPhone() (int, string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	i := len(n.phones)
	n.phones = append(n.phones, &link{ip: fmt.Sprintf("10.%d.%d.%d", 64+i>>16&63, i>>8&255, i&255)})
	return i, fmt.Sprintf("http://%s/p/%d", n.ln.Addr(), i)
}

func (n *network) link(i int) *link {
	n.mu.Lock()
	defer n.mu.Unlock()
	if i < 0 || i >= len(n.phones) {
		return nil
	}
	return n.phones[i]
}

func (n *network) setOffline(i int, off bool) {
	if l := n.link(i); l != nil {
		l.offline.Store(off)
	}
}

// drop closes the client's connection without an answer.
func drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}

var forwardHeaders = []string{"Authorization", "Content-Type", "Content-Encoding", "X-Request-ID", "If-None-Match", "Accept", "User-Agent"}
var backHeaders = []string{"Content-Type", "Retry-After", "ETag", "Date", "Cache-Control"}

func (n *network) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/p/")
	idx, path, _ := strings.Cut(rest, "/")
	i, err := strconv.Atoi(idx)
	l := n.link(i)
	if !ok || err != nil || l == nil {
		http.NotFound(w, r)
		return
	}
	if l.offline.Load() {
		n.Refused.Add(1)
		drop(w)
		return
	}
	push := path == "v1/sync/push"
	if push && n.cut > 0 && rand.Float64() < n.cut {
		n.Cut.Add(1)
		drop(w)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		drop(w)
		return
	}
	target := n.upstream + "/" + path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	out, err := http.NewRequestWithContext(r.Context(), r.Method, target, bytes.NewReader(body))
	if err != nil {
		drop(w)
		return
	}
	for _, h := range forwardHeaders {
		if v := r.Header.Get(h); v != "" {
			out.Header.Set(h, v)
		}
	}
	out.Header.Set("X-Forwarded-For", l.ip)
	res, err := n.tr.RoundTrip(out)
	if err != nil {
		drop(w)
		return
	}
	raw, err := io.ReadAll(res.Body)
	res.Body.Close()
	if err != nil {
		drop(w)
		return
	}
	if push && res.StatusCode == http.StatusOK && n.loss > 0 && rand.Float64() < n.loss {
		n.Lost.Add(1)
		drop(w)
		return
	}
	for _, h := range backHeaders {
		if v := res.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(res.StatusCode)
	w.Write(raw)
}
