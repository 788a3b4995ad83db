package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Config is everything the binary reads from flags and the environment.
// Each field has a flag and a CHOSO_* variable; a flag wins over the
// variable, which wins over the default.
type Config struct {
	Addr            string        // --addr, CHOSO_ADDR: listen address
	Data            string        // --data, CHOSO_DATA: data directory
	Store           string        // --store, CHOSO_STORE: bolt:PATH or postgres://…; empty means bolt:DATA/choso.db
	TLSCert         string        // --tls-cert, CHOSO_TLS_CERT
	TLSKey          string        // --tls-key, CHOSO_TLS_KEY
	TrustedProxies  string        // --trusted-proxies, CHOSO_TRUSTED_PROXIES: comma-separated CIDRs
	LogLevel        string        // --log-level, CHOSO_LOG_LEVEL: debug, info, warn, error
	ShutdownTimeout time.Duration // --shutdown-timeout, CHOSO_SHUTDOWN_TIMEOUT: grace for requests in flight
	Demo            bool          // --demo, CHOSO_DEMO: seed a demo market into an empty store
	PushLimit       string        // --push-limit, CHOSO_PUSH_LIMIT: per-device pushes "BURST/INTERVAL", or "off"

	// Derived by Validate.
	storePath  string // the bbolt file; "" with PostgreSQL
	storeURL   string // the PostgreSQL URL; "" with bbolt
	proxies    []*net.IPNet
	logLevel   slog.Level
	pushBurst  int
	pushPeriod time.Duration
}

// DefaultConfig returns the configuration of a fresh machine: loopback on
// port 8080, the store in ./data/choso.db.
func DefaultConfig() Config {
	return Config{
		Addr:            "127.0.0.1:8080",
		Data:            "./data",
		LogLevel:        "info",
		ShutdownTimeout: 20 * time.Second,
		PushLimit:       "10/1s",
	}
}

// flagSpec ties one Config field to its flag and variable.
type flagSpec struct {
	name, env, usage string
	str              *string
	dur              *time.Duration
	boolean          *bool
}

func (c *Config) specs(serving bool) []flagSpec {
	specs := []flagSpec{
		{name: "data", env: "CHOSO_DATA", usage: "data directory; the store is choso.db in it", str: &c.Data},
		{name: "store", env: "CHOSO_STORE", usage: "store location: bolt:PATH (default bolt:DATA/choso.db) or postgres://USER:PASSWORD@HOST/DB", str: &c.Store},
		{name: "log-level", env: "CHOSO_LOG_LEVEL", usage: "log level: debug, info, warn or error", str: &c.LogLevel},
	}
	if serving {
		specs = append(specs,
			flagSpec{name: "addr", env: "CHOSO_ADDR", usage: "listen address host:port; port 0 picks a free one", str: &c.Addr},
			flagSpec{name: "tls-cert", env: "CHOSO_TLS_CERT", usage: "PEM certificate file: serve HTTPS directly", str: &c.TLSCert},
			flagSpec{name: "tls-key", env: "CHOSO_TLS_KEY", usage: "PEM private key file for --tls-cert", str: &c.TLSKey},
			flagSpec{name: "trusted-proxies", env: "CHOSO_TRUSTED_PROXIES", usage: "comma-separated CIDRs of reverse proxies whose X-Forwarded-For is believed", str: &c.TrustedProxies},
			flagSpec{name: "shutdown-timeout", env: "CHOSO_SHUTDOWN_TIMEOUT", usage: "how long requests in flight may run after SIGTERM", dur: &c.ShutdownTimeout},
			flagSpec{name: "push-limit", env: "CHOSO_PUSH_LIMIT", usage: "per-device sync pushes: BURST/INTERVAL (10/1s), or off for benchmarks", str: &c.PushLimit},
			flagSpec{name: "demo", env: "CHOSO_DEMO", usage: "seed two demo markets, 40 stalls, demo logins, a month of sales and a demo bank into a store without markets", boolean: &c.Demo},
		)
	}
	return specs
}

// bindFlags registers c's flags on fs, with each default taken from the
// environment when the variable is set. It returns an error for a variable
// that does not parse, so a typo in the environment fails at start.
func (c *Config) bindFlags(fs *flag.FlagSet, serving bool) error {
	for _, s := range c.specs(serving) {
		usage := fmt.Sprintf("%s (env %s)", s.usage, s.env)
		env, hasEnv := os.LookupEnv(s.env)
		switch {
		case s.str != nil:
			if hasEnv {
				*s.str = env
			}
			fs.StringVar(s.str, s.name, *s.str, usage)
		case s.dur != nil:
			if hasEnv {
				d, err := time.ParseDuration(env)
				if err != nil {
					return fmt.Errorf("%s=%q: %v", s.env, env, err)
				}
				*s.dur = d
			}
			fs.DurationVar(s.dur, s.name, *s.dur, usage)
		case s.boolean != nil:
			if hasEnv {
				b, err := strconv.ParseBool(env)
				if err != nil {
					return fmt.Errorf("%s=%q: want true or false", s.env, env)
				}
				*s.boolean = b
			}
			fs.BoolVar(s.boolean, s.name, *s.boolean, usage)
		}
	}
	return nil
}

// Validate checks the configuration once and derives what the rest of the
// program uses. Every problem is reported, not just the first.
func (c *Config) Validate(serving bool) error {
	var errs []error
	if c.Data == "" {
		errs = append(errs, errors.New("--data must not be empty"))
	}
	switch {
	case c.Store == "":
		c.storePath = filepath.Join(c.Data, "choso.db")
	case strings.HasPrefix(c.Store, "bolt:"):
		c.storePath = strings.TrimPrefix(c.Store, "bolt:")
		if c.storePath == "" {
			errs = append(errs, errors.New("--store bolt: needs a path, e.g. bolt:/var/lib/choso/choso.db"))
		}
	case strings.HasPrefix(c.Store, "postgres://"), strings.HasPrefix(c.Store, "postgresql://"):
		c.storePath, c.storeURL = "", c.Store
		if u, err := url.Parse(c.Store); err != nil || (u.Host == "" && u.Query().Get("host") == "") {
			errs = append(errs, fmt.Errorf("--store %q: want postgres://USER:PASSWORD@HOST[:PORT]/DATABASE", redactDSN(c.Store)))
		}
	default:
		errs = append(errs, fmt.Errorf("--store %q: want bolt:PATH or postgres://…", redactDSN(c.Store)))
	}
	if err := c.logLevel.UnmarshalText([]byte(c.LogLevel)); err != nil {
		errs = append(errs, fmt.Errorf("--log-level %q: want debug, info, warn or error", c.LogLevel))
	}
	if serving {
		if host, port, err := net.SplitHostPort(c.Addr); err != nil {
			errs = append(errs, fmt.Errorf("--addr %q: %v", c.Addr, err))
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			errs = append(errs, fmt.Errorf("--addr %q: port must be 0–65535", c.Addr))
		} else if host != "" && net.ParseIP(host) == nil && host != "localhost" {
			// A host name would be resolved once at start; insist on an IP so
			// the listener is what the operator thinks it is.
			errs = append(errs, fmt.Errorf("--addr %q: host must be an IP address, localhost or empty", c.Addr))
		}
		if (c.TLSCert == "") != (c.TLSKey == "") {
			errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
		}
		statErrs := len(errs)
		for _, f := range []string{c.TLSCert, c.TLSKey} {
			if f != "" {
				if _, err := os.Stat(f); err != nil {
					errs = append(errs, fmt.Errorf("TLS file: %v", err))
				}
			}
		}
		// Loaded here, not only when the listener opens: by then the store
		// is open and a first start has logged the admin's only password.
		if c.TLSCert != "" && c.TLSKey != "" && len(errs) == statErrs {
			if _, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey); err != nil {
				errs = append(errs, fmt.Errorf("--tls-cert %s, --tls-key %s: %v", c.TLSCert, c.TLSKey, err))
			}
		}
		c.proxies = nil
		for _, cidr := range strings.Split(c.TrustedProxies, ",") {
			if cidr = strings.TrimSpace(cidr); cidr == "" {
				continue
			}
			_, n, err := net.ParseCIDR(cidr)
			if err != nil {
				errs = append(errs, fmt.Errorf("--trusted-proxies: %q is not a CIDR (e.g. 10.0.0.0/8)", cidr))
				continue
			}
			c.proxies = append(c.proxies, n)
		}
		if c.PushLimit == "off" {
			c.pushBurst, c.pushPeriod = 0, 0
		} else if burst, period, ok := strings.Cut(c.PushLimit, "/"); !ok {
			errs = append(errs, fmt.Errorf("--push-limit %q: want BURST/INTERVAL such as 10/1s, or off", c.PushLimit))
		} else {
			b, err1 := strconv.Atoi(burst)
			d, err2 := time.ParseDuration(period)
			if err1 != nil || err2 != nil || b < 1 || d <= 0 {
				errs = append(errs, fmt.Errorf("--push-limit %q: want BURST/INTERVAL such as 10/1s, or off", c.PushLimit))
			}
			c.pushBurst, c.pushPeriod = b, d
		}
		if c.ShutdownTimeout <= 0 {
			errs = append(errs, errors.New("--shutdown-timeout must be positive"))
		}
	}
	return errors.Join(errs...)
}

// LogAttrs returns the configuration as log attributes, secrets masked.
func (c *Config) LogAttrs() []any {
	return []any{
		"addr", c.Addr,
		"data", c.Data,
		"store", c.storeName(),
		"tls", c.TLSCert != "",
		"tls_cert", c.TLSCert,
		"trusted_proxies", c.TrustedProxies,
		"log_level", c.LogLevel,
		"shutdown_timeout", c.ShutdownTimeout.String(),
		"demo", c.Demo,
		"push_limit", c.PushLimit,
	}
}

// storeName names the store for logs and messages, password masked.
func (c *Config) storeName() string {
	if c.storeURL != "" {
		return redactDSN(c.storeURL)
	}
	return "bolt:" + c.storePath
}

// dataDir is the directory of the node's own files (the master key file
// when CHOSO_MASTER_KEY is not set): the bbolt file's directory, or --data
// with PostgreSQL.
func (c *Config) dataDir() string {
	if c.storeURL != "" {
		return c.Data
	}
	return filepath.Dir(c.storePath)
}

// redactDSN masks the password of a URL-shaped store location.
func redactDSN(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.User == nil {
		return s
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}
