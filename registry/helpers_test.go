package registry

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/layers/reference"
)

// testOptions are Options for tests: no credentials from the machine,
// and retries that do not wait seconds.
func testOptions() Options {
	return Options{Keychain: authn.NewMultiKeychain(), retry: &remote.Backoff{Duration: time.Millisecond, Factor: 1, Steps: 2}}
}

func newStore(t testing.TB) *layers.Store {
	t.Helper()
	s, err := layers.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// layerTar is a tar of the given name → content files.
func layerTar(t testing.TB, files map[string]string) []byte {
	t.Helper()
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, n := range names {
		hdr := &tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(files[n])), ModTime: time.Unix(1700000000, 0)}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(files[n]))
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// makeImage stores an image of one layer per map, bottom first.
func makeImage(t testing.TB, s *layers.Store, ref string, c archive.Compression, layerFiles ...map[string]string) *layers.Image {
	t.Helper()
	ctx := context.Background()
	tx, err := s.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	var ls []*layers.Layer
	for _, files := range layerFiles {
		l, err := tx.NewLayer(ctx, bytes.NewReader(layerTar(t, files)), c)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	created := time.Unix(1700000000, 0).UTC()
	img, err := tx.CreateImage(ctx, ocispec.Image{Created: &created, Config: ocispec.ImageConfig{Cmd: []string{"sh"}}}, ls, []string{ref})
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func mustParse(t testing.TB, s string) reference.Reference {
	t.Helper()
	r, err := reference.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// events records progress events.
type events struct {
	mu   sync.Mutex
	list []Event
}

func (e *events) add(ev Event) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if ev.Status != "Downloading" && ev.Status != "Pushing" {
		e.list = append(e.list, ev)
	}
}

// statuses lists the statuses of the layer with short id.
func (e *events) statuses(id string) []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []string
	for _, ev := range e.list {
		if ev.ID == id {
			out = append(out, ev.Status)
		}
	}
	return out
}

// storeFiles lists every file of the store but tmp/, for "unchanged" checks.
func storeFiles(t testing.TB, s *layers.Store) string {
	t.Helper()
	var out []string
	err := filepath.Walk(s.Root(), func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(s.Root(), p)
		if fi.IsDir() || strings.HasSuffix(rel, ".lock") {
			return nil
		}
		out = append(out, fmt.Sprintf("%s %d", rel, fi.Size()))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return strings.Join(out, "\n")
}
