package registry

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/registry/registrytest"
)

// TestPushPullRoundTrip pushes an image of three layers (gzip, zstd,
// uncompressed) to a real registry and pulls it into a fresh store: same
// id, same manifest digest, same layers and file contents.
func TestPushPullRoundTrip(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	ctx := context.Background()
	for _, c := range []archive.Compression{archive.Gzip, archive.Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			src := newStore(t)
			img := makeImage(t, src, "local/img:1", c,
				map[string]string{"etc/os-release": "strata\n", "bin/a": "aaaa"},
				map[string]string{"bin/b": strings.Repeat("b", 3<<20)},
				map[string]string{"bin/a": "changed"})
			ref := mustParse(t, reg.Host+"/test/"+c.String()+":1")

			var pushed events
			popts := PushOptions{Options: testOptions(), Progress: pushed.add}
			res, err := Push(ctx, src, img, ref, popts)
			if err != nil {
				t.Fatal(err)
			}
			if res.Digest != img.ManifestDigest {
				t.Errorf("pushed digest %s, want the store's %s", res.Digest, img.ManifestDigest)
			}
			for _, l := range img.Manifest.Layers {
				if got := pushed.statuses(layers.ShortID(l.Digest)); !reflect.DeepEqual(got, []string{"Preparing", "Pushed"}) {
					t.Errorf("push of %s: got %q, want Preparing, Pushed", layers.ShortID(l.Digest), got)
				}
			}
			// A second push finds everything there.
			var again events
			popts.Progress = again.add
			if _, err := Push(ctx, src, img, ref, popts); err != nil {
				t.Fatal(err)
			}
			if got := again.statuses(layers.ShortID(img.Manifest.Layers[0].Digest)); !reflect.DeepEqual(got, []string{"Preparing", "Layer already exists"}) {
				t.Errorf("second push: got %q, want Preparing, Layer already exists", got)
			}

			dst := newStore(t)
			var pulled events
			pr, err := Pull(ctx, dst, ref, PullOptions{Options: testOptions(), Progress: pulled.add})
			if err != nil {
				t.Fatal(err)
			}
			got := pr.Image
			if got.ID != img.ID || got.ManifestDigest != img.ManifestDigest {
				t.Errorf("pulled id %s manifest %s, want %s %s", got.ID, got.ManifestDigest, img.ID, img.ManifestDigest)
			}
			if pr.Digest != img.ManifestDigest || pr.UpToDate {
				t.Errorf("pull result digest %s up to date %v, want %s false", pr.Digest, pr.UpToDate, img.ManifestDigest)
			}
			if !reflect.DeepEqual(got.Layers, img.Layers) {
				t.Errorf("pulled layers %+v, want %+v", got.Layers, img.Layers)
			}
			want := []string{"Pulling fs layer", "Verifying Checksum", "Download complete", "Pull complete"}
			if st := pulled.statuses(layers.ShortID(img.Manifest.Layers[1].Digest)); !reflect.DeepEqual(st, want) {
				t.Errorf("pull statuses %q, want %q", st, want)
			}
			resolved, err := dst.ResolveImage(ctx, ref.Familiar())
			if err != nil || resolved.ID != img.ID {
				t.Fatalf("resolve %s after pull: %v, %v", ref.Familiar(), resolved, err)
			}
			wantRD := ref.FamiliarName() + "@" + img.ManifestDigest.String()
			if !reflect.DeepEqual(resolved.RepoDigests, []string{wantRD}) {
				t.Errorf("repo digests %q, want %q", resolved.RepoDigests, wantRD)
			}
			// The same layers came through: identical indexes (names,
			// metadata, content digests), and every content in the
			// object store with the bytes its digest says.
			for _, l := range img.Layers {
				want, err := src.LayerIndex(l.DiffID)
				if err != nil {
					t.Fatal(err)
				}
				idx, err := dst.LayerIndex(l.DiffID)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(idx.Bytes(), want.Bytes()) {
					t.Errorf("layer %s: pulled index differs from the pushed one", l.DiffID)
				}
				for i := uint32(0); i < uint32(idx.Len()); i++ {
					d, ok := idx.Digest(i)
					if !ok {
						continue
					}
					data, err := os.ReadFile(dst.ObjectPath(d))
					if err != nil || sha256.Sum256(data) != d {
						t.Errorf("object %x of %s: %v", d, idx.Name(i), err)
					}
				}
			}

			// Pulled again: nothing moves.
			var second events
			pr, err = Pull(ctx, dst, ref, PullOptions{Options: testOptions(), Progress: second.add})
			if err != nil {
				t.Fatal(err)
			}
			if !pr.UpToDate {
				t.Errorf("second pull: not up to date")
			}
			if st := second.statuses(layers.ShortID(img.Manifest.Layers[0].Digest)); len(st) != 0 {
				t.Errorf("second pull statuses %q, want none (Docker lists no layers then)", st)
			}
		})
	}
}

// TestPushMountsFromAnotherRepository: an image pulled from one repository
// of a registry and pushed to another is mounted, not uploaded.
func TestPushMountsFromAnotherRepository(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	ctx := context.Background()
	src := newStore(t)
	img := makeImage(t, src, "local/img:1", archive.Gzip, map[string]string{"a": "a"})
	first := mustParse(t, reg.Host+"/one/img:1")
	if _, err := Push(ctx, src, img, first, PushOptions{Options: testOptions()}); err != nil {
		t.Fatal(err)
	}
	img, err := src.ResolveImage(ctx, "local/img:1")
	if err != nil {
		t.Fatal(err)
	}
	var ev events
	if _, err := Push(ctx, src, img, mustParse(t, reg.Host+"/two/img:1"), PushOptions{Options: testOptions(), Progress: ev.add}); err != nil {
		t.Fatal(err)
	}
	got := ev.statuses(layers.ShortID(img.Manifest.Layers[0].Digest))
	if want := []string{"Preparing", "Mounted from one/img"}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}

// TestPullAllTagsAndSearchCatalog: Tags lists a repository's tags, and a
// search of a registry without v1 search goes through every page of its
// catalog, exact matches first.
func TestSearchCatalogPages(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	ctx := context.Background()
	src := newStore(t)
	img := makeImage(t, src, "local/img:1", archive.Gzip, map[string]string{"a": "a"})
	for _, repo := range []string{"alpha/box", "box", "boxer", "zeta", "other/thing", "mybox"} {
		if _, err := Push(ctx, src, img, mustParse(t, reg.Host+"/"+repo+":1"), PushOptions{Options: testOptions()}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := Push(ctx, src, img, mustParse(t, reg.Host+"/box:2"), PushOptions{Options: testOptions()}); err != nil {
		t.Fatal(err)
	}
	opts := SearchOptions{Options: testOptions(), PageSize: 2}
	res, err := Search(ctx, reg.Host+"/box", opts)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range res {
		names = append(names, strings.TrimPrefix(r.Name, reg.Host+"/"))
	}
	if want := []string{"alpha/box", "box", "boxer", "mybox"}; !reflect.DeepEqual(names, want) {
		t.Errorf("search box: got %q, want %q", names, want)
	}
	opts.Limit = 1
	if res, err := Search(ctx, reg.Host+"/thing", opts); err != nil || len(res) != 1 || res[0].Name != reg.Host+"/other/thing" {
		t.Errorf("search thing --limit 1: got %v, %v", res, err)
	}
	opts.Limit = 101
	if _, err := Search(ctx, reg.Host+"/box", opts); err == nil || !strings.Contains(err.Error(), "outside the range") {
		t.Errorf("limit 101: got %v", err)
	}
	tags, err := Tags(ctx, mustParse(t, reg.Host+"/box"), testOptions())
	if err != nil || !reflect.DeepEqual(tags, []string{"1", "2"}) {
		t.Errorf("tags of box: got %q, %v", tags, err)
	}
}

// TestLoginBasicAuth: a registry behind htpasswd accepts the right
// password only; with the credentials saved, pulls and pushes work.
func TestLoginBasicAuth(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{Users: map[string]string{"alice": "s3cret"}})
	ctx := context.Background()
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	srv, err := ParseServer("http://" + reg.Host + "/")
	if err != nil || srv.Key != reg.Host {
		t.Fatalf("ParseServer: %+v, %v", srv, err)
	}
	opts := Options{} // the default keychain: $DOCKER_CONFIG
	err = Login(ctx, srv, "alice", "wrong", opts)
	if !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), "\n") || !strings.Contains(err.Error(), reg.Host) {
		t.Fatalf("wrong password: got %v, want one line naming %s, wrapping ErrUnauthorized", err, reg.Host)
	}
	src := newStore(t)
	img := makeImage(t, src, "local/img:1", archive.Gzip, map[string]string{"a": "a"})
	ref := mustParse(t, reg.Host+"/private/img:1")
	if _, err := Push(ctx, src, img, ref, PushOptions{Options: opts}); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("push without login: got %v, want ErrUnauthorized", err)
	}
	if err := Login(ctx, srv, "alice", "s3cret", opts); err != nil {
		t.Fatal(err)
	}
	path, plain, err := SaveCredentials("", srv, "alice", "s3cret")
	if err != nil || path != filepath.Join(cfgDir, "config.json") || !plain {
		t.Fatalf("SaveCredentials: %s %v %v", path, plain, err)
	}
	if _, err := Push(ctx, src, img, ref, PushOptions{Options: opts}); err != nil {
		t.Fatal(err)
	}
	if _, err := Pull(ctx, newStore(t), ref, PullOptions{Options: opts}); err != nil {
		t.Fatal(err)
	}
	if had, err := Logout("", srv); !had || err != nil {
		t.Fatalf("logout: %v %v", had, err)
	}
	if had, _ := Logout("", srv); had {
		t.Errorf("second logout found credentials")
	}
	data, _ := os.ReadFile(filepath.Join(cfgDir, "config.json"))
	if strings.Contains(string(data), reg.Host) {
		t.Errorf("config.json still names the registry after logout: %s", data)
	}
	if _, err := Pull(ctx, newStore(t), ref, PullOptions{Options: opts}); !errors.Is(err, ErrUnauthorized) {
		t.Errorf("pull after logout: got %v, want ErrUnauthorized", err)
	}
}

// TestSkopeoInterop: an image pushed by strata is read by skopeo, and one
// skopeo pushes is pulled by strata with the same id.
func TestSkopeoInterop(t *testing.T) {
	if _, err := exec.LookPath("skopeo"); err != nil {
		t.Skip("skopeo is not installed")
	}
	reg := registrytest.Start(t, registrytest.Options{})
	ctx := context.Background()
	src := newStore(t)
	img := makeImage(t, src, "local/img:1", archive.Gzip, map[string]string{"a": "a"}, map[string]string{"b": "b"})
	if _, err := Push(ctx, src, img, mustParse(t, reg.Host+"/bystrata:1"), PushOptions{Options: testOptions()}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "oci")
	skopeo := func(args ...string) {
		t.Helper()
		cmd := exec.Command("skopeo", append([]string{"--tmpdir", t.TempDir()}, args...)...)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("skopeo %s: %v\n%s", strings.Join(args, " "), err, b)
		}
	}
	skopeo("copy", "--src-tls-verify=false", "docker://"+reg.Host+"/bystrata:1", "oci:"+out+":x")
	idx, err := os.ReadFile(filepath.Join(out, "index.json"))
	if err != nil || !strings.Contains(string(idx), img.ManifestDigest.Encoded()) {
		t.Errorf("skopeo's copy does not hold manifest %s: %s %v", img.ManifestDigest, idx, err)
	}
	// skopeo pushes the store's own OCI layout entry (the store is one).
	skopeo("copy", "--dest-tls-verify=false", "oci:"+src.Root()+":local/img:1", "docker://"+reg.Host+"/byskopeo:1")
	dst := newStore(t)
	pr, err := Pull(ctx, dst, mustParse(t, reg.Host+"/byskopeo:1"), PullOptions{Options: testOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if pr.Image.ID != img.ID {
		t.Errorf("pulled id %s, want %s", pr.Image.ID, img.ID)
	}
	if pr.Image.ManifestDigest != digest.Digest(pr.Digest) {
		t.Errorf("manifest %s, resolved %s", pr.Image.ManifestDigest, pr.Digest)
	}
}
