package registry

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/registry/registrytest"
)

// tokenFront puts Docker Hub's style of authentication in front of a real
// registry: every /v2/ request needs a bearer token for its repository
// and action, handed out by /token (the realm) after the token flow of
// the distribution spec. Anyone gets pull on public/*; alice, with her
// password, gets pull and push on everything.
type tokenFront struct {
	srv   *httptest.Server
	proxy *httputil.ReverseProxy

	mu     sync.Mutex
	tokens map[string]map[string]bool // token → "repo:action" granted
	issued int                        // tokens handed out
	bearer int                        // /v2/ requests let through with a token
}

func newTokenFront(t *testing.T, backend string) *tokenFront {
	u, err := url.Parse("http://" + backend)
	if err != nil {
		t.Fatal(err)
	}
	f := &tokenFront{proxy: httputil.NewSingleHostReverseProxy(u), tokens: map[string]map[string]bool{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *tokenFront) host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *tokenFront) serve(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/token" {
		f.token(w, r)
		return
	}
	repo, action := "", "pull"
	if rest, ok := strings.CutPrefix(r.URL.Path, "/v2/"); ok && rest != "" {
		for _, sep := range []string{"/blobs/", "/manifests/", "/tags/"} {
			if i := strings.Index(rest, sep); i > 0 {
				repo = rest[:i]
				break
			}
		}
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		action = "push"
	}
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	f.mu.Lock()
	granted := f.tokens[tok]
	ok := granted != nil && (repo == "" || granted[repo+":"+action])
	if ok {
		f.bearer++
	}
	f.mu.Unlock()
	if !ok {
		challenge := `Bearer realm="` + f.srv.URL + `/token",service="strata-test"`
		if repo != "" {
			challenge += `,scope="repository:` + repo + `:` + action + `"`
		}
		w.Header().Set("WWW-Authenticate", challenge)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}`))
		return
	}
	r.Header.Del("Authorization")
	f.proxy.ServeHTTP(w, r)
}

func (f *tokenFront) token(w http.ResponseWriter, r *http.Request) {
	user, pass, hasAuth := r.BasicAuth()
	alice := hasAuth && user == "alice" && pass == "s3cret"
	if hasAuth && !alice || r.URL.Query().Get("service") != "strata-test" {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"errors":[{"code":"UNAUTHORIZED","message":"bad credentials"}]}`))
		return
	}
	granted := map[string]bool{}
	for _, scope := range r.URL.Query()["scope"] {
		// repository:NAME:ACTION[,ACTION]
		p := strings.Split(scope, ":")
		if len(p) != 3 || p[0] != "repository" {
			continue
		}
		for _, a := range strings.Split(p[2], ",") {
			if alice || a == "pull" && strings.HasPrefix(p[1], "public/") {
				granted[p[1]+":"+a] = true
			}
		}
	}
	b := make([]byte, 16)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	f.mu.Lock()
	f.tokens[tok] = granted
	f.issued++
	f.mu.Unlock()
	json.NewEncoder(w).Encode(map[string]any{"token": tok, "access_token": tok, "expires_in": 300})
}

func (f *tokenFront) counts() (issued, bearer int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.issued, f.bearer
}

// TestBearerTokenAuth pulls and pushes through the token flow registries
// such as Docker Hub use: anonymous tokens for public pulls, login
// credentials exchanged for tokens that carry push, and one-line
// unauthorized errors otherwise.
func TestBearerTokenAuth(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	front := newTokenFront(t, reg.Host)
	ctx := context.Background()
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	opts := Options{} // the default keychain: $DOCKER_CONFIG
	srv, err := ParseServer(front.host())
	if err != nil {
		t.Fatal(err)
	}

	src := newStore(t)
	img := makeImage(t, src, "local/img:1", archive.Gzip, map[string]string{"a": "a"}, map[string]string{"b": "b"})
	private, public := mustParse(t, front.host()+"/private/img:1"), mustParse(t, front.host()+"/public/img:1")
	if _, err := Push(ctx, src, img, public, PushOptions{Options: opts}); !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "\n") {
		t.Fatalf("anonymous push: got %v, want one line wrapping ErrUnauthorized", err)
	}
	if err := Login(ctx, srv, "alice", "wrong", opts); !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), front.host()) {
		t.Fatalf("login with a wrong password: got %v", err)
	}
	if err := Login(ctx, srv, "alice", "s3cret", opts); err != nil {
		t.Fatalf("login: %v", err)
	}
	if _, _, err := SaveCredentials("", srv, "alice", "s3cret"); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []string{private.String(), public.String()} {
		if _, err := Push(ctx, src, img, mustParse(t, ref), PushOptions{Options: opts}); err != nil {
			t.Fatalf("push %s with a token: %v", ref, err)
		}
	}
	res, err := Pull(ctx, newStore(t), private, PullOptions{Options: opts})
	if err != nil || res.Image.ID != img.ID {
		t.Fatalf("pull %s as alice: %v", private, err)
	}

	// Without credentials: public pulls get an anonymous token, private
	// ones are refused.
	if err := os.Remove(filepath.Join(cfgDir, "config.json")); err != nil {
		t.Fatal(err)
	}
	res, err = Pull(ctx, newStore(t), public, PullOptions{Options: opts})
	if err != nil || res.Image.ID != img.ID {
		t.Fatalf("anonymous pull of %s: %v", public, err)
	}
	dst := newStore(t)
	if _, err := Pull(ctx, dst, private, PullOptions{Options: opts}); !errors.Is(err, ErrUnauthorized) || !strings.Contains(err.Error(), "private/img") {
		t.Fatalf("anonymous pull of %s: got %v, want ErrUnauthorized naming it", private, err)
	}
	if imgs, _ := dst.Images(ctx); len(imgs) != 0 {
		t.Errorf("a refused pull left %d images", len(imgs))
	}
	if issued, bearer := front.counts(); issued == 0 || bearer == 0 {
		t.Errorf("the token flow was not used: %d tokens issued, %d requests with one", issued, bearer)
	}
}
