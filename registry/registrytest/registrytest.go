// Package registrytest runs a real registry for tests: Debian's
// docker-registry (the reference distribution registry), with its storage
// in a private directory and its API on a free loopback port, optionally
// behind htpasswd basic authentication.
package registrytest

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Binary is where Debian's docker-registry package installs the registry.
const Binary = "/usr/bin/docker-registry"

// Available reports whether the registry binary is installed.
func Available() bool {
	_, err := os.Stat(Binary)
	return err == nil
}

// Options configure a registry.
type Options struct {
	// Users, when not empty, turns on basic authentication (htpasswd,
	// bcrypt) with these user → password pairs.
	Users map[string]string
}

// Registry is a running registry.
type Registry struct {
	Host string // "127.0.0.1:PORT"
	Dir  string // its configuration and storage
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// Start starts a registry in a temporary directory of t and stops it when
// the test ends. A test that needs the registry skips when it is not
// installed.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	if !Available() {
		t.Skipf("%s is not installed (Debian's docker-registry)", Binary)
	}
	r, err := StartIn(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// StartIn starts a registry whose configuration, storage and log live in
// dir. The caller must Stop it.
func StartIn(dir string, opts Options) (*Registry, error) {
	var lastErr error
	// The port is free when chosen; another process may take it before
	// the registry binds it, so try a few.
	for attempt := 0; attempt < 5; attempt++ {
		r, err := start(dir, opts)
		if err == nil {
			return r, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func start(dir string, opts Options) (*Registry, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	host := fmt.Sprintf("127.0.0.1:%d", port)
	auth := ""
	if len(opts.Users) > 0 {
		var lines []string
		for u, p := range opts.Users {
			out, err := exec.Command("htpasswd", "-Bbn", u, p).Output()
			if err != nil {
				return nil, fmt.Errorf("htpasswd (apache2-utils): %w", err)
			}
			lines = append(lines, strings.TrimSpace(string(out)))
		}
		pw := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(pw, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
			return nil, err
		}
		auth = fmt.Sprintf("auth:\n  htpasswd:\n    realm: strata-test\n    path: %s\n", pw)
	}
	cfg := fmt.Sprintf(`version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
%s`, filepath.Join(dir, "data"), host, auth)
	cfgPath := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "registry.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(Binary, "serve", cfgPath)
	cmd.Stdout, cmd.Stderr = logf, logf
	// Without this the registry sends usage reports nowhere, slowly.
	cmd.Env = append(os.Environ(), "REGISTRY_REPORTING_BUGSNAG_APIKEY=")
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start %s: %w", Binary, err)
	}
	r := &Registry{Host: host, Dir: dir, cmd: cmd, done: make(chan struct{}), log: logf}
	go func() { cmd.Wait(); close(r.done) }()
	if err := r.wait(); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

// wait returns once /v2/ answers (200, or 401 with authentication).
func (r *Registry) wait() error {
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-r.done:
			log, _ := os.ReadFile(filepath.Join(r.Dir, "registry.log"))
			return fmt.Errorf("docker-registry exited: %s", strings.TrimSpace(string(log)))
		default:
		}
		resp, err := client.Get("http://" + r.Host + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return errors.New("docker-registry did not answer on " + r.Host)
}

// Stop kills the registry and waits for it. It may be called more than once.
func (r *Registry) Stop() {
	if r.cmd.Process != nil {
		r.cmd.Process.Kill()
	}
	<-r.done
	r.log.Close()
}
