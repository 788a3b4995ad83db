package main

import (
	"context"
	"fmt"
	"net/http"
	"time"
)

// runHealthcheck asks a server's /healthz and exits 0 when it answers 200.
// Container images without a shell or curl use it as their health check.
func runHealthcheck(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("healthcheck", e)
	url := fs.String("url", "http://127.0.0.1:8080/healthz", "URL to probe")
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
	res, err := http.DefaultClient.Do(req)
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
