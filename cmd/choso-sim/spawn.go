package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// spawned is a choso server the simulator started.
type spawned struct {
	cmd            *exec.Cmd
	bin            string
	extra          []string // the extra arguments it was started with
	dir            string
	base           string
	user, password string
	done           chan struct{}
}

// spawn starts bin serve on a temp data directory and port 0, and reads
// its address and first admin from its JSON log.
func spawn(ctx context.Context, bin string, extra []string, logw io.Writer) (*spawned, error) {
	dir, err := os.MkdirTemp("", "choso-sim-server-")
	if err != nil {
		return nil, err
	}
	args := append([]string{"--data", dir, "--addr", "127.0.0.1:0", "--trusted-proxies", "127.0.0.1/32"}, extra...)
	cmd := exec.Command(bin, args...)
	orphanSafe(cmd)
	logFile, err := os.Create(filepath.Join(dir, "server.log"))
	if err != nil {
		return nil, err
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &spawned{cmd: cmd, bin: bin, extra: extra, dir: dir, done: make(chan struct{})}
	found := make(chan error, 1)
	go func() {
		defer close(s.done)
		defer logFile.Close()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		reported := false
		for sc.Scan() {
			logFile.Write(append(sc.Bytes(), '\n'))
			if reported {
				continue
			}
			var line struct {
				Msg      string `json:"msg"`
				Addr     string `json:"addr"`
				Username string `json:"username"`
				Password string `json:"password"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			switch line.Msg {
			case "admin created":
				s.user, s.password = line.Username, line.Password
			case "listening":
				s.base = "http://" + line.Addr
			}
			if s.base != "" && s.password != "" {
				reported = true
				found <- nil
			}
		}
		if !reported {
			found <- fmt.Errorf("%s exited or closed its log before listening (log in %s)", bin, dir)
		}
		cmd.Wait()
	}()
	select {
	case err := <-found:
		if err != nil {
			s.stop()
			return nil, err
		}
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, fmt.Errorf("%s did not start within 60 s", bin)
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
	fmt.Fprintf(logw, "choso-sim: started %s at %s (data %s)\n", bin, s.base, dir)
	return s, nil
}

// halt stops the server and waits for it to exit, leaving its data.
func (s *spawned) halt() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-s.done:
		case <-time.After(15 * time.Second):
			s.cmd.Process.Kill()
			<-s.done
		}
	}
}

// stop halts the server and removes its data directory.
func (s *spawned) stop() {
	s.halt()
	os.RemoveAll(s.dir)
}

// checkEvents halts the server and runs its binary's own check of the
// store it wrote (choso check --events): every stored event agrees with
// its entity, result and indexes, and each stall-day's totals equal its
// sales in the log. The totals the phones are compared with are kept as
// running sums; this reads the events themselves.
func (s *spawned) checkEvents(ctx context.Context) (string, error) {
	s.halt()
	args := []string{"check", "--events", "--data", s.dir}
	for i, a := range s.extra { // the same store as the server's
		switch {
		case a == "--store" && i+1 < len(s.extra):
			args = append(args, a, s.extra[i+1])
		case strings.HasPrefix(a, "--store="):
			args = append(args, a)
		}
	}
	out, err := exec.CommandContext(ctx, s.bin, args...).CombinedOutput()
	return strings.TrimSpace(string(out)), err
}
