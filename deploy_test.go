package choso_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// No Docker engine runs on the development machines, so the compose file's
// structure is checked here instead of by starting it.
func TestDockerCompose_OneReplicaVolumeHealthcheckGrace(t *testing.T) {
	raw, err := os.ReadFile("docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Services map[string]struct {
			Build   any                     `yaml:"build"`
			Deploy  struct{ Replicas *int } `yaml:"deploy"`
			Env     map[string]string       `yaml:"environment"`
			Volumes []string                `yaml:"volumes"`
			Health  struct {
				Test     []string `yaml:"test"`
				Interval string   `yaml:"interval"`
			} `yaml:"healthcheck"`
			StopGrace string `yaml:"stop_grace_period"`
		} `yaml:"services"`
		Volumes map[string]any `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docker-compose.yml: %v", err)
	}
	if len(doc.Services) != 1 {
		t.Fatalf("services = %d, want exactly one (bbolt locks its file)", len(doc.Services))
	}
	svc, ok := doc.Services["choso"]
	if !ok {
		t.Fatal("no service named choso")
	}
	if svc.Deploy.Replicas == nil || *svc.Deploy.Replicas != 1 {
		t.Errorf("deploy.replicas = %v, want 1", svc.Deploy.Replicas)
	}
	dataDir := svc.Env["CHOSO_DATA"]
	if dataDir == "" {
		t.Fatal("CHOSO_DATA not set")
	}
	var mounted bool
	for _, v := range svc.Volumes {
		name, target, _ := strings.Cut(v, ":")
		if target == dataDir {
			if _, named := doc.Volumes[name]; !named {
				t.Errorf("volume %q on %s is not a named volume", name, dataDir)
			}
			mounted = true
		}
	}
	if !mounted {
		t.Errorf("no volume mounted on the data directory %s", dataDir)
	}
	// `choso healthcheck` without --url probes the server that CHOSO_ADDR
	// and CHOSO_TLS_CERT configure; a pinned URL goes stale (unhealthy)
	// when an operator moves the port or turns TLS on in the environment.
	if test := strings.Join(svc.Health.Test, " "); !strings.Contains(test, "/choso healthcheck") || strings.Contains(test, "--url") {
		t.Errorf("healthcheck %v: want `choso healthcheck` without --url, which follows CHOSO_ADDR and CHOSO_TLS_CERT", svc.Health.Test)
	}
	grace, err := time.ParseDuration(svc.StopGrace)
	if err != nil {
		t.Fatalf("stop_grace_period %q: %v", svc.StopGrace, err)
	}
	shutdown, err := time.ParseDuration(svc.Env["CHOSO_SHUTDOWN_TIMEOUT"])
	if err != nil {
		t.Fatalf("CHOSO_SHUTDOWN_TIMEOUT %q: %v", svc.Env["CHOSO_SHUTDOWN_TIMEOUT"], err)
	}
	if grace <= shutdown {
		t.Errorf("stop_grace_period %v must be longer than the shutdown timeout %v", grace, shutdown)
	}
}

func TestDockerfile_StaticNonRoot(t *testing.T) {
	raw, err := os.ReadFile("Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	df := string(raw)
	for _, want := range []string{"CGO_ENABLED=0", "AS build", "USER 65532", "nonroot", "HEALTHCHECK"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	if strings.Count(df, "\nFROM ") < 1 || !strings.HasPrefix(strings.TrimSpace(df[strings.Index(df, "FROM"):]), "FROM golang") {
		t.Error("Dockerfile is not a multi-stage build from a Go image")
	}
}

// The PostgreSQL deployment: a database with a health check and a named
// volume, two choso nodes on it that share the master key and wait for the
// database, and nginx in front of both.
func TestDockerComposePostgres_DatabaseTwoNodesAndABalancer(t *testing.T) {
	raw, err := os.ReadFile("docker-compose.postgres.yml")
	if err != nil {
		t.Fatal(err)
	}
	type service struct {
		Image     string            `yaml:"image"`
		Env       map[string]string `yaml:"environment"`
		Volumes   []string          `yaml:"volumes"`
		DependsOn map[string]struct {
			Condition string `yaml:"condition"`
		} `yaml:"depends_on"`
		Health struct {
			Test []string `yaml:"test"`
		} `yaml:"healthcheck"`
		StopGrace string `yaml:"stop_grace_period"`
	}
	var doc struct {
		Services map[string]service `yaml:"services"`
		Volumes  map[string]any     `yaml:"volumes"`
	}
	if err := yaml.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("docker-compose.postgres.yml: %v", err)
	}
	pg, ok := doc.Services["postgres"]
	if !ok || !strings.HasPrefix(pg.Image, "postgres:") || len(pg.Health.Test) == 0 {
		t.Fatalf("postgres service: %+v", pg)
	}
	if len(pg.Volumes) == 0 {
		t.Fatal("postgres has no volume")
	}
	if name, _, _ := strings.Cut(pg.Volumes[0], ":"); !hasKey(doc.Volumes, name) {
		t.Errorf("postgres volume %q is not a named volume", name)
	}
	var nodes []string
	for name, svc := range doc.Services {
		if !strings.HasPrefix(svc.Env["CHOSO_STORE"], "postgres://") {
			continue
		}
		nodes = append(nodes, name)
		if svc.Env["CHOSO_MASTER_KEY"] == "" {
			t.Errorf("%s: no CHOSO_MASTER_KEY: nodes must share it (sealed secrets, cursors, form tokens)", name)
		}
		if svc.DependsOn["postgres"].Condition != "service_healthy" {
			t.Errorf("%s does not wait for a healthy database", name)
		}
		if len(svc.Health.Test) == 0 || svc.StopGrace == "" {
			t.Errorf("%s: health check %v, stop grace %q", name, svc.Health.Test, svc.StopGrace)
		}
	}
	if len(nodes) < 2 {
		t.Fatalf("choso nodes on PostgreSQL: %v, want at least two", nodes)
	}
	lb, ok := doc.Services["lb"]
	if !ok || !strings.HasPrefix(lb.Image, "nginx:") {
		t.Fatalf("no nginx balancer: %+v", lb)
	}
	conf, err := os.ReadFile("deploy/nginx.conf")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range nodes {
		if !strings.Contains(string(conf), "server "+n+":8080") {
			t.Errorf("deploy/nginx.conf does not balance to %s", n)
		}
		if _, ok := lb.DependsOn[n]; !ok {
			t.Errorf("the balancer does not wait for %s", n)
		}
	}
	if regexp.MustCompile(`proxy_next_upstream[^;]*non_idempotent`).Match(conf) {
		t.Error("nginx must not retry non-idempotent requests on another node")
	}
	// The balancer is published on a port of its own ("8080:80"), so the
	// browser's Origin names that port. choso's same-origin check compares
	// it with Host: nginx's $host drops the port, and every form a volunteer
	// sent through it, the sign-in included, was refused as cross-site.
	if !regexp.MustCompile(`(?m)^\s*proxy_set_header\s+Host\s+\$http_host;`).Match(conf) {
		t.Error("deploy/nginx.conf must forward the Host header as the browser sent it, port included ($http_host)")
	}
}

func hasKey(m map[string]any, k string) bool {
	_, ok := m[k]
	return ok
}
