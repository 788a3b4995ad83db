package main

import (
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"
)

// runHealthcheck asks a server's /healthz and exits 0 when it answers 200.
// Container images without a shell or curl use it as their health check.
// Without --url it probes the server this process's environment configures
// (CHOSO_ADDR, CHOSO_TLS_CERT), as the image's check runs beside it.
func runHealthcheck(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("healthcheck", e)
	def, local := defaultHealthURL()
	url := fs.String("url", def, "URL to probe (default: the server CHOSO_ADDR and CHOSO_TLS_CERT configure, on loopback)")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after this long")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	client := http.DefaultClient
	if local && *url == def {
		// The server's own certificate names its public host, not
		// 127.0.0.1: a probe of itself over loopback does not check it.
		client = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	}
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s answered %s", *url, res.Status)
	}
	fmt.Fprintf(e.stdout, "%s: %s\n", *url, res.Status)
	return nil
}

// defaultHealthURL is the /healthz of the server the environment
// configures, reached on loopback when it listens on every address; local
// says the URL is https to this machine.
func defaultHealthURL() (url string, local bool) {
	addr := cmp.Or(os.Getenv("CHOSO_ADDR"), DefaultConfig().Addr)
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "http://" + DefaultConfig().Addr + "/healthz", false
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	if os.Getenv("CHOSO_TLS_CERT") != "" {
		return "https://" + net.JoinHostPort(host, port) + "/healthz", true
	}
	return "http://" + net.JoinHostPort(host, port) + "/healthz", false
}
