package registry

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/archive"
)

// faultServer is go-containerregistry's in-memory registry behind a
// middleware that breaks the download of chosen blobs in chosen ways.
type faultServer struct {
	srv     *httptest.Server
	storage *httptest.Server // "blob storage" that redirects point to
	inner   http.Handler

	mu     sync.Mutex
	mode   string
	swap   string          // the blob "swap" serves instead
	target map[string]bool // blob digests the fault applies to
}

func newFaultServer(t *testing.T) *faultServer {
	f := &faultServer{inner: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0)))}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	f.storage = httptest.NewServer(http.HandlerFunc(f.serveStorage))
	t.Cleanup(f.srv.Close)
	t.Cleanup(f.storage.Close)
	return f
}

func (f *faultServer) host() string { return strings.TrimPrefix(f.srv.URL, "http://") }

func (f *faultServer) set(mode string, targets ...digest.Digest) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.mode = mode
	f.target = map[string]bool{}
	for _, d := range targets {
		f.target[d.String()] = true
	}
}

// blobBody fetches a blob from the inner registry.
func (f *faultServer) blobBody(path string) []byte {
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, path, nil)
	f.inner.ServeHTTP(rec, req)
	return rec.Body.Bytes()
}

func (f *faultServer) serveStorage(w http.ResponseWriter, r *http.Request) {
	w.Write(f.blobBody(r.URL.Path))
}

func (f *faultServer) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	mode := f.mode
	i := strings.LastIndex(r.URL.Path, "/blobs/")
	hit := r.Method == http.MethodGet && i >= 0 && f.target[r.URL.Path[i+len("/blobs/"):]]
	f.mu.Unlock()
	if !hit || mode == "" {
		f.inner.ServeHTTP(w, r)
		return
	}
	body := f.blobBody(r.URL.Path)
	switch mode {
	case "truncate":
		// The full length is promised; half of it comes.
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:len(body)/2])
	case "corrupt":
		bad := bytes.Clone(body)
		bad[len(bad)-1] ^= 0xff
		w.Write(bad)
	case "swap":
		// Another valid layer blob under this digest.
		w.Write(f.blobBody(strings.Replace(r.URL.Path, r.URL.Path[i+len("/blobs/"):], f.swap, 1)))
	case "500":
		http.Error(w, "internal error", http.StatusInternalServerError)
	case "slow":
		for i := 0; i < len(body); i += 4096 {
			w.Write(body[i:min(i+4096, len(body))])
			w.(http.Flusher).Flush()
			time.Sleep(2 * time.Millisecond)
		}
	case "redirect":
		http.Redirect(w, r, f.storage.URL+r.URL.Path, http.StatusTemporaryRedirect)
	case "die":
		// Half the body, then the connection drops, as when the
		// registry's process is killed mid-transfer.
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.Write(body[:len(body)/2])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
		}
	default:
		panic("unknown fault " + mode)
	}
}

// putIndex stores an OCI index with the given manifests under tag.
func (f *faultServer) putIndex(t *testing.T, repo, tag string, manifests ...ocispec.Descriptor) digest.Digest {
	t.Helper()
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: manifests}
	idx.SchemaVersion = 2
	raw, err := json.Marshal(idx)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPut, f.srv.URL+"/v2/"+repo+"/manifests/"+tag, bytes.NewReader(raw))
	req.Header.Set("Content-Type", string(types.OCIImageIndex))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("put index: %s", resp.Status)
	}
	return digest.FromBytes(raw)
}

// tmpEmpty fails unless the store's staging directory is empty.
func tmpEmpty(t *testing.T, s *layers.Store) {
	t.Helper()
	ents, err := os.ReadDir(filepath.Join(s.Root(), "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 0 {
		t.Errorf("staging files left in tmp/: %v", ents)
	}
}

// TestPullFaults: every way a download can go wrong ends in one line that
// names the reference, and a store that holds nothing it did not hold
// before, except layers that were completely downloaded and verified.
func TestPullFaults(t *testing.T) {
	ctx := context.Background()
	f := newFaultServer(t)
	src := newStore(t)
	img := makeImage(t, src, "local/img:1", archive.Gzip,
		map[string]string{"a": strings.Repeat("a", 200<<10)},
		map[string]string{"b": strings.Repeat("b", 300<<10)})
	ref := mustParse(t, f.host()+"/faults/img:1")
	if _, err := Push(ctx, src, img, ref, PushOptions{Options: testOptions()}); err != nil {
		t.Fatal(err)
	}
	bottom, top := img.Manifest.Layers[0].Digest, img.Manifest.Layers[1].Digest
	f.putIndex(t, "faults/img", "armonly", ocispec.Descriptor{
		MediaType: ocispec.MediaTypeImageManifest, Digest: img.ManifestDigest, Size: int64(len(img.RawManifest)),
		Platform: &ocispec.Platform{OS: "linux", Architecture: "s390x"},
	})

	notRegistry := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<html>\n<body>Not Found</body>\n</html>\n")
	}))
	defer notRegistry.Close()
	closed := httptest.NewServer(http.NotFoundHandler())
	closedHost := strings.TrimPrefix(closed.URL, "http://")
	closed.Close()

	tests := []struct {
		name    string
		mode    string
		ref     string
		jobs    int
		is      error  // sentinel, if any
		want    string // in the message
		keepBot bool   // the bottom layer completes and stays
	}{
		{name: "truncated body", mode: "truncate", ref: ref.String(), want: "layer "},
		{name: "wrong digest", mode: "corrupt", ref: ref.String(), want: "layer "},
		{name: "another layer's bytes", mode: "swap", ref: ref.String(), want: "layer " + layers.ShortID(bottom)},
		{name: "server errors", mode: "500", ref: ref.String(), want: "500"},
		{name: "registry dies mid-pull", mode: "die", ref: ref.String(), want: "layer "},
		{name: "top layer dies, bottom kept", mode: "die-top", ref: ref.String(), jobs: 1, want: "layer " + layers.ShortID(top), keepBot: true},
		{name: "unknown tag", ref: f.host() + "/faults/img:nope", is: ErrNotFound, want: "manifest for " + f.host() + "/faults/img:nope not found"},
		{name: "unknown repository", ref: f.host() + "/nosuch/img:1", is: ErrNotFound, want: f.host() + "/nosuch/img"},
		{name: "other platform only", ref: f.host() + "/faults/img:armonly", is: ErrPlatform, want: "no matching manifest for linux/"},
		{name: "not a registry", ref: strings.TrimPrefix(notRegistry.URL, "http://") + "/x:1", is: ErrNotRegistry, want: "does not answer as a registry"},
		{name: "nobody listening", ref: closedHost + "/x:1", want: "connection refused"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dst := newStore(t)
			before := storeFiles(t, dst)
			switch tc.mode {
			case "":
				f.set("")
			case "die-top":
				f.set("die", top)
			case "swap":
				f.swap = top.String()
				f.set("swap", bottom)
			default:
				f.set(tc.mode, bottom, top)
			}
			defer f.set("")
			opts := testOptions()
			opts.Jobs = tc.jobs
			r := mustParse(t, tc.ref)
			_, err := Pull(ctx, dst, r, PullOptions{Options: opts})
			if err == nil {
				t.Fatal("pull succeeded")
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") || !strings.Contains(msg, tc.want) {
				t.Errorf("error %q: want one line containing %q", msg, tc.want)
			}
			if !strings.Contains(msg, r.Familiar()) && !strings.Contains(msg, r.FamiliarName()) {
				t.Errorf("error %q does not name %s", msg, r.Familiar())
			}
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("error %q does not wrap %v", msg, tc.is)
			}
			tmpEmpty(t, dst)
			if imgs, _ := dst.Images(ctx); len(imgs) != 0 {
				t.Errorf("a failed pull recorded %d images", len(imgs))
			}
			if tc.keepBot {
				if !dst.HasLayer(bottom, img.Layers[0].DiffID) || dst.HasLayer(top, img.Layers[1].DiffID) {
					t.Errorf("want the bottom layer kept and the top one absent")
				}
				// The registry is back: the pull resumes from the bottom layer.
				f.set("")
				var ev events
				if _, err := Pull(ctx, dst, r, PullOptions{Options: opts, Progress: ev.add}); err != nil {
					t.Fatal(err)
				}
				if got := ev.statuses(layers.ShortID(bottom)); len(got) != 1 || got[0] != "Already exists" {
					t.Errorf("resumed pull: bottom layer %q, want Already exists", got)
				}
				return
			}
			if after := storeFiles(t, dst); after != before {
				t.Errorf("store changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}

	// Faults a pull survives: slow bodies, redirects to blob storage.
	for _, mode := range []string{"slow", "redirect"} {
		t.Run(mode, func(t *testing.T) {
			f.set(mode, bottom, top)
			defer f.set("")
			dst := newStore(t)
			res, err := Pull(ctx, dst, ref, PullOptions{Options: testOptions()})
			if err != nil {
				t.Fatal(err)
			}
			if res.Image.ID != img.ID {
				t.Errorf("id %s, want %s", res.Image.ID, img.ID)
			}
		})
	}

	// An index resolves to the image for the platform asked for.
	t.Run("index", func(t *testing.T) {
		multi := f.putIndex(t, "faults/img", "multi",
			ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: img.ManifestDigest, Size: int64(len(img.RawManifest)),
				Platform: &ocispec.Platform{OS: "linux", Architecture: "s390x"}},
			ocispec.Descriptor{MediaType: ocispec.MediaTypeImageManifest, Digest: img.ManifestDigest, Size: int64(len(img.RawManifest)),
				Platform: &ocispec.Platform{OS: "linux", Architecture: HostPlatform().Architecture}})
		dst := newStore(t)
		res, err := Pull(ctx, dst, mustParse(t, f.host()+"/faults/img:multi"), PullOptions{Options: testOptions()})
		if err != nil {
			t.Fatal(err)
		}
		if res.Digest != multi || res.Image.ManifestDigest != img.ManifestDigest {
			t.Errorf("resolved %s manifest %s, want index %s manifest %s", res.Digest, res.Image.ManifestDigest, multi, img.ManifestDigest)
		}
		p, _ := ParsePlatform("linux/s390x")
		if _, err := Pull(ctx, dst, mustParse(t, f.host()+"/faults/img:multi"), PullOptions{Options: testOptions(), Platform: p}); err != nil {
			t.Errorf("pull --platform linux/s390x: %v", err)
		}
		p, _ = ParsePlatform("linux/mips64le")
		_, err = Pull(ctx, dst, mustParse(t, f.host()+"/faults/img:1"), PullOptions{Options: testOptions(), Platform: p})
		if !errors.Is(err, ErrPlatform) || !strings.Contains(err.Error(), "does not match the specified platform") {
			t.Errorf("single image for another platform: got %v", err)
		}
	})
}

// TestPlainHTTPOnlyToLoopbackAndInsecure: the transport refuses plain
// HTTP to a registry that is neither loopback nor listed as insecure.
func TestPlainHTTPOnlyToLoopbackAndInsecure(t *testing.T) {
	o := &Options{Insecure: []string{"myreg:5000", "10.1.0.0/16"}}
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "localhost:5000": true, "[::1]:5000": true, "localhost": true,
		"myreg:5000": true, "10.1.2.3:443": true, "myreg:5001": false, "10.2.0.1:5000": false,
		"registry.example.com": false, "192.168.1.1:5000": false,
	} {
		if got := o.insecure(host); got != want {
			t.Errorf("insecure(%s) = %v, want %v", host, got, want)
		}
	}
	req, _ := http.NewRequest(http.MethodGet, "http://registry.example.com/v2/", nil)
	if _, err := o.transport().RoundTrip(req); !errors.Is(err, ErrInsecure) {
		t.Errorf("plain HTTP to registry.example.com: got %v, want ErrInsecure", err)
	}
	dir := t.TempDir()
	p := filepath.Join(dir, "registries.json")
	os.WriteFile(p, []byte(`{"insecure-registries": ["a:1", "b:2"]}`), 0o644)
	cfg, err := LoadConfig([]string{p, filepath.Join(dir, "missing.json")})
	if err != nil || len(cfg.InsecureRegistries) != 2 {
		t.Errorf("LoadConfig: %+v %v", cfg, err)
	}
	os.WriteFile(p, []byte(`{`), 0o644)
	if _, err := LoadConfig([]string{p}); err == nil || !strings.Contains(err.Error(), p) {
		t.Errorf("bad config: got %v, want an error naming %s", err, p)
	}
}
