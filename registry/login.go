package registry

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"

	"github.com/docker/cli/cli/config"
	"github.com/docker/cli/cli/config/configfile"
	"github.com/docker/cli/cli/config/types"
	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// DockerHubAuthKey is the key Docker Hub's credentials have in config.json.
const DockerHubAuthKey = "https://index.docker.io/v1/"

// Server is a registry as login and logout name it.
type Server struct {
	Host string // what requests go to: "index.docker.io", "localhost:5000"
	Key  string // its key in config.json: DockerHubAuthKey, "localhost:5000"
}

// ParseServer reads the SERVER argument of login and logout: empty or
// Docker Hub's names mean Docker Hub; "http(s)://host[:port][/path]"
// means host[:port].
func ParseServer(s string) (Server, error) {
	h := strings.TrimSuffix(s, "/")
	h = strings.TrimPrefix(strings.TrimPrefix(h, "https://"), "http://")
	if i := strings.IndexByte(h, '/'); i >= 0 {
		h = h[:i]
	}
	switch h {
	case "", "docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com":
		return Server{Host: name.DefaultRegistry, Key: DockerHubAuthKey}, nil
	}
	if _, err := name.NewRegistry(h); err != nil || strings.ContainsAny(h, " \t") {
		return Server{}, &opError{msg: fmt.Sprintf("invalid registry address %q", s), kind: ErrInvalid}
	}
	return Server{Host: h, Key: h}, nil
}

// Login checks username and password against the registry and returns
// nil when it accepts them. Nothing is stored: see SaveCredentials.
func Login(ctx context.Context, srv Server, username, password string, opts Options) error {
	reg, err := name.NewRegistry(srv.Host, opts.nameOptions(srv.Host)...)
	if err != nil {
		return &opError{msg: "login " + srv.Host + ": " + oneLine(err.Error()), kind: ErrInvalid, cause: err}
	}
	auth := authn.FromConfig(authn.AuthConfig{Username: username, Password: password})
	rt, err := transport.NewWithContext(ctx, reg, auth, opts.transport(), []string{reg.Scope("")})
	if err == nil {
		err = checkLogin(ctx, rt, reg)
	}
	if err != nil {
		var te *transport.Error
		if errors.As(err, &te) && (te.StatusCode == http.StatusUnauthorized || te.StatusCode == http.StatusForbidden) {
			return &opError{msg: "login " + srv.Host + ": unauthorized: incorrect username or password", kind: ErrUnauthorized, cause: err}
		}
		return describe("login", srv.Host, srv.Host, err)
	}
	return nil
}

// checkLogin asks for the registry's base endpoint with the credentials.
func checkLogin(ctx context.Context, rt http.RoundTripper, reg name.Registry) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, reg.Scheme()+"://"+reg.RegistryStr()+"/v2/", nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return transport.CheckError(resp, http.StatusOK)
}

// configDir is where Docker's CLI keeps config.json: $DOCKER_CONFIG, else
// ~/.docker. Looked up on every call: docker/cli's config.Dir caches the
// first answer for the life of the process, which made one test's
// $DOCKER_CONFIG every later test's.
func configDir() string {
	if d := os.Getenv(config.EnvOverrideConfigDir); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return config.Dir()
	}
	return filepath.Join(home, ".docker")
}

// loadConfig reads config.json from dir ("" is $DOCKER_CONFIG or
// ~/.docker, as Docker's CLI finds it).
func loadConfig(dir string) (*configfile.ConfigFile, error) {
	if dir == "" {
		dir = configDir()
	}
	cf, err := config.Load(dir)
	if err != nil {
		return nil, fmt.Errorf("docker configuration %s: %w", dir, err)
	}
	return cf, nil
}

// SaveCredentials stores the credentials for srv where Docker would: the
// credential helper or store config.json names, else config.json itself.
// It returns the file's path, and whether the password went into it in
// plain text (base64), which Docker warns about.
func SaveCredentials(configDir string, srv Server, username, password string) (path string, plain bool, err error) {
	cf, err := loadConfig(configDir)
	if err != nil {
		return "", false, err
	}
	ac := types.AuthConfig{Username: username, Password: password, ServerAddress: srv.Key}
	plain = cf.CredentialsStore == "" && cf.CredentialHelpers[srv.Key] == ""
	if plain {
		// Written here rather than through Docker's file store, which
		// prints its own warning on os.Stderr; the CLI warns instead.
		cf.GetAuthConfigs()[srv.Key] = ac
		err = cf.Save()
	} else {
		err = cf.GetCredentialsStore(srv.Key).Store(ac)
	}
	if err != nil {
		return "", false, fmt.Errorf("saving credentials: %w", err)
	}
	return cf.GetFilename(), plain, nil
}

// Credentials returns the stored user name for srv, if any.
func Credentials(configDir string, srv Server) (string, bool) {
	cf, err := loadConfig(configDir)
	if err != nil {
		return "", false
	}
	ac, err := cf.GetAuthConfig(srv.Key)
	if err != nil || (ac.Username == "" && ac.IdentityToken == "") {
		return "", false
	}
	return ac.Username, true
}

// Logout removes the credentials stored for srv. It reports whether
// there were any.
func Logout(configDir string, srv Server) (bool, error) {
	cf, err := loadConfig(configDir)
	if err != nil {
		return false, err
	}
	_, inFile := cf.GetAuthConfigs()[srv.Key]
	_, helper := Credentials(configDir, srv)
	if !inFile && !helper {
		return false, nil
	}
	if err := cf.GetCredentialsStore(srv.Key).Erase(srv.Key); err != nil {
		return true, fmt.Errorf("removing credentials for %s: %w", srv.Key, err)
	}
	if inFile {
		// A helper's erase leaves the file's entry; Docker removes it too.
		delete(cf.GetAuthConfigs(), srv.Key)
		if err := cf.Save(); err != nil {
			return true, err
		}
	}
	return true, nil
}
