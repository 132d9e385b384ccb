package registry

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/strata-engine/strata/layers/reference"
)

// Options are what every operation on a registry shares.
type Options struct {
	// Insecure lists registries ("host:port", or a CIDR such as
	// "10.0.0.0/8") that may be reached over plain HTTP or HTTPS with an
	// unverified certificate. Loopback registries always may.
	Insecure []string
	// Keychain finds credentials; nil means Docker's config.json
	// ($DOCKER_CONFIG, ~/.docker), credential helpers included.
	Keychain authn.Keychain
	// Jobs is how many blobs move at the same time; 0 means 3, Docker's
	// default.
	Jobs int
	// UserAgent is sent with every request.
	UserAgent string

	// retry overrides the back-off between retries (tests make it short).
	retry *remote.Backoff
}

func (o *Options) jobs() int {
	if o.Jobs > 0 {
		return o.Jobs
	}
	return 3
}

func (o *Options) keychain() authn.Keychain {
	if o.Keychain != nil {
		return o.Keychain
	}
	return authn.DefaultKeychain
}

// insecure reports whether host (a registry, "host[:port]") may use
// plain HTTP or an unverified certificate.
func (o *Options) insecure(host string) bool {
	if isLoopback(host) {
		return true
	}
	h := hostOnly(host)
	for _, x := range o.Insecure {
		x = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(x, "http://"), "https://"), "/")
		if x == host || x == h {
			return true
		}
		if _, block, err := net.ParseCIDR(x); err == nil {
			if ip := net.ParseIP(h); ip != nil && block.Contains(ip) {
				return true
			}
		}
	}
	return false
}

func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return strings.Trim(host, "[]")
}

func isLoopback(host string) bool {
	h := hostOnly(host)
	if h == "localhost" || strings.HasSuffix(h, ".localhost") {
		return true
	}
	ip := net.ParseIP(h)
	return ip != nil && ip.IsLoopback()
}

// nameOptions are the go-containerregistry parse options for a registry:
// insecure ones are tried over HTTPS and then plain HTTP.
func (o *Options) nameOptions(host string) []name.Option {
	if o.insecure(host) {
		return []name.Option{name.Insecure}
	}
	return nil
}

// repository turns a parsed reference into go-containerregistry's form.
func (o *Options) repository(r reference.Reference) (name.Repository, error) {
	return name.NewRepository(r.Name(), o.nameOptions(r.Domain())...)
}

// remoteOptions are the options of every go-containerregistry call.
func (o *Options) remoteOptions(ctx context.Context) []remote.Option {
	opts := []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuthFromKeychain(o.keychain()),
		remote.WithTransport(o.transport()),
		remote.WithJobs(o.jobs()),
	}
	if o.retry != nil {
		opts = append(opts, remote.WithRetryBackoff(*o.retry))
	}
	if o.UserAgent != "" {
		opts = append(opts, remote.WithUserAgent(o.UserAgent))
	}
	return opts
}

// transport sends requests over HTTPS with the system's roots, except to
// insecure registries, whose certificates are not checked; and it refuses
// plain HTTP to any other host. (go-containerregistry would also try
// plain HTTP on private networks; Docker does not, and nor does Strata.)
func (o *Options) transport() http.RoundTripper {
	return &guard{o: o, secure: secureTransport, insecure: insecureTransport}
}

var (
	secureTransport   = newTransport(false)
	insecureTransport = newTransport(true)
)

func newTransport(skipVerify bool) *http.Transport {
	t := remote.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{InsecureSkipVerify: skipVerify} //nolint:gosec // only for registries the user listed as insecure
	t.ResponseHeaderTimeout = 60 * time.Second
	return t
}

type guard struct {
	o                *Options
	secure, insecure http.RoundTripper
}

// ErrInsecure is returned for plain HTTP to a registry not listed as insecure.
var ErrInsecure = errors.New("plain HTTP is allowed only to loopback and insecure registries")

func (g *guard) RoundTrip(req *http.Request) (*http.Response, error) {
	ok := g.o.insecure(req.URL.Host)
	if req.URL.Scheme == "http" && !ok {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, fmt.Errorf("%s: %w", req.URL.Host, ErrInsecure)
	}
	if ok {
		return g.insecure.RoundTrip(req)
	}
	return g.secure.RoundTrip(req)
}

// Config is the registry configuration file: JSON with Docker's
// daemon.json key, {"insecure-registries": ["myhost:5000", "10.0.0.0/8"]}.
type Config struct {
	InsecureRegistries []string `json:"insecure-registries"`
}

// ConfigPaths are where the registry configuration is read from, in
// order; every file that exists counts. $STRATA_REGISTRIES_CONFIG, when
// set, replaces them all.
func ConfigPaths(getenv func(string) string) []string {
	if p := getenv("STRATA_REGISTRIES_CONFIG"); p != "" {
		return []string{p}
	}
	paths := []string{"/etc/strata/registries.json"}
	dir := getenv("XDG_CONFIG_HOME")
	if dir == "" {
		if home := getenv("HOME"); home != "" {
			dir = filepath.Join(home, ".config")
		}
	}
	if dir != "" {
		paths = append(paths, filepath.Join(dir, "strata", "registries.json"))
	}
	return paths
}

// LoadConfig reads and merges the files at paths; missing files are skipped.
func LoadConfig(paths []string) (*Config, error) {
	var c Config
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("registry configuration: %w", err)
		}
		var f Config
		if err := json.Unmarshal(data, &f); err != nil {
			return nil, fmt.Errorf("registry configuration %s: %v", p, err)
		}
		c.InsecureRegistries = append(c.InsecureRegistries, f.InsecureRegistries...)
	}
	return &c, nil
}
