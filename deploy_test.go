package choso_test

import (
	"os"
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
	if !strings.Contains(strings.Join(svc.Health.Test, " "), "/healthz") {
		t.Errorf("healthcheck %v does not probe /healthz", svc.Health.Test)
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
