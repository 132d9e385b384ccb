package layers

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/layers/index"
	"github.com/strata-engine/strata/layers/tarball"
)

// tfile is one entry of a test tar.
type tfile struct {
	name, body, link string
	typ              byte
	mode             int64
}

func mktar(t testing.TB, files ...tfile) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{Name: f.name, Typeflag: f.typ, Mode: f.mode, Linkname: f.link,
			ModTime: time.Unix(1700000000, 0), Uid: 0, Gid: 0}
		if hdr.Typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Mode == 0 {
			hdr.Mode = 0o644
		}
		if hdr.Typeflag == tar.TypeReg {
			hdr.Size = int64(len(f.body))
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			tw.Write([]byte(f.body))
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

var baseFiles = []tfile{
	{name: "bin/", typ: tar.TypeDir, mode: 0o755},
	{name: "bin/sh", body: strings.Repeat("shell", 1000), mode: 0o755},
	{name: "bin/ls", link: "sh", typ: tar.TypeSymlink},
	{name: "bin/cat", link: "bin/sh", typ: tar.TypeLink},
	{name: "etc/passwd", body: "root:x:0:0::/root:/bin/sh\n"},
	{name: "etc/empty", body: ""},
	{name: "big", body: strings.Repeat("0123456789abcdef", 1<<17)}, // 2 MiB: the streamed path
}

func newStore(t testing.TB) *Store {
	t.Helper()
	s, err := Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func importTar(t testing.TB, s *Store, data []byte, refs ...string) *Image {
	t.Helper()
	img, err := s.Import(context.Background(), bytes.NewReader(data), ImportOptions{Refs: refs, Source: "-"})
	if err != nil {
		t.Fatalf("import: %v", err)
	}
	return img
}

// snapshot lists every file of the store with its size, locks excluded, so
// a failed operation can be shown to have changed nothing.
func snapshot(t testing.TB, s *Store) string {
	t.Helper()
	var out []string
	filepath.WalkDir(s.Root(), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(p, ".lock") {
			return err
		}
		info, _ := d.Info()
		rel, _ := filepath.Rel(s.Root(), p)
		out = append(out, rel+" "+string(rune('0'+info.Size()%10)))
		return nil
	})
	sort.Strings(out)
	return strings.Join(out, "\n")
}

func TestImportMakesAnOCILayout(t *testing.T) {
	s := newStore(t)
	img := importTar(t, s, mktar(t, baseFiles...), "busybox")
	if got, want := img.RepoTags, []string{"busybox:latest"}; !equal(got, want) {
		t.Errorf("RepoTags: got %v, want %v", got, want)
	}
	// index.json names the manifest with the familiar tag.
	idx, err := s.readIndex()
	if err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 1 || idx.Manifests[0].Annotations[AnnotationRefName] != "busybox:latest" ||
		idx.Manifests[0].Annotations[AnnotationImageName] != "docker.io/library/busybox:latest" {
		t.Fatalf("index.json: got %+v", idx.Manifests)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), "oci-layout")); err != nil {
		t.Error(err)
	}
	// Every blob is named by its content.
	ents, _ := os.ReadDir(filepath.Join(s.Root(), "blobs", "sha256"))
	if len(ents) != 3 {
		t.Errorf("got %d blobs, want 3 (manifest, config, layer)", len(ents))
	}
	for _, e := range ents {
		data, _ := os.ReadFile(filepath.Join(s.Root(), "blobs", "sha256", e.Name()))
		if got := digest.FromBytes(data).Encoded(); got != e.Name() {
			t.Errorf("blob %s has content %s", e.Name(), got)
		}
	}
	// The layer blob is gzip and its diffID is the uncompressed tar's digest.
	if mt := img.Manifest.Layers[0].MediaType; mt != ocispec.MediaTypeImageLayerGzip {
		t.Errorf("layer media type: got %s", mt)
	}
	if got, want := img.Config.RootFS.DiffIDs[0], digest.FromBytes(mktar(t, baseFiles...)); got != want {
		t.Errorf("diffID: got %s, want %s", got, want)
	}
	// Every file's content is in the object store, under its sha256.
	x, err := s.LayerIndex(img.Config.RootFS.DiffIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range baseFiles {
		i, ok := x.Resolve(f.name)
		if !ok {
			t.Errorf("%s missing from the index", f.name)
			continue
		}
		if d, ok := x.Digest(i); ok {
			data, err := os.ReadFile(s.ObjectPath(d))
			if err != nil || sha256.Sum256(data) != [32]byte(d) {
				t.Errorf("object of %s: %v", f.name, err)
			}
		}
	}
	// A hard-linked file counts once.
	if img.Size != int64(len(baseFiles[1].body)+len(baseFiles[4].body)+len(baseFiles[6].body)) {
		t.Errorf("size: got %d", img.Size)
	}
	if ents, _ := os.ReadDir(filepath.Join(s.Root(), "tmp")); len(ents) != 0 {
		t.Errorf("staging left behind: %v", ents)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestResolveImage(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := importTar(t, s, mktar(t, tfile{name: "a", body: "a"}), "alpha:1", "localhost:5000/team/alpha:2")
	b := importTar(t, s, mktar(t, tfile{name: "b", body: "b"}))
	tests := []struct {
		ref  string
		want *Image
		err  error
	}{
		{"alpha:1", a, nil},
		{"docker.io/library/alpha:1", a, nil},
		{"localhost:5000/team/alpha:2", a, nil},
		{a.ID.String(), a, nil},
		{a.ID.Encoded(), a, nil},
		{a.ID.Encoded()[:12], a, nil},
		{b.ID.Encoded()[:5], b, nil},
		{"alpha", nil, ErrNotFound}, // alpha:latest
		{"nosuch", nil, ErrNotFound},
		{"sha256:0000", nil, ErrNotFound},
		{"Alpha:1", nil, nil}, // invalid reference format
		{"", nil, ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.ref, func(t *testing.T) {
			got, err := s.ResolveImage(ctx, tt.ref)
			if tt.want != nil {
				if err != nil || got.ID != tt.want.ID {
					t.Fatalf("got %v, %v; want %s", got, err, tt.want.ID)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %s, want an error", got.ID)
			}
			if tt.err != nil && !errors.Is(err, tt.err) {
				t.Fatalf("got %v, want %v", err, tt.err)
			}
		})
	}
	// A prefix shared by both ids is ambiguous, when there is one.
	var common int
	for common < 64 && a.ID.Encoded()[common] == b.ID.Encoded()[common] {
		common++
	}
	if common > 0 {
		if _, err := s.ResolveImage(ctx, a.ID.Encoded()[:common]); !errors.Is(err, ErrAmbiguous) {
			t.Errorf("prefix %s: got %v, want ErrAmbiguous", a.ID.Encoded()[:common], err)
		}
	}
	var nf *NotFoundError
	if _, err := s.ResolveImage(ctx, "nosuch"); !errors.As(err, &nf) || err.Error() != "No such image: nosuch:latest" {
		t.Errorf("got %v, want Docker's text", err)
	}
}

func TestTagAndRemove(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	img := importTar(t, s, mktar(t, baseFiles...), "one")
	if err := s.Tag(ctx, img, "two:v2"); err != nil {
		t.Fatal(err)
	}
	// By id, an image with two names needs force.
	if _, err := s.RemoveImage(ctx, img.ID.Encoded()[:12], RemoveOptions{}); !errors.Is(err, ErrConflict) {
		t.Fatalf("rmi by id: got %v, want ErrConflict", err)
	}
	ev, err := s.RemoveImage(ctx, "two:v2", RemoveOptions{})
	if err != nil || len(ev) != 1 || ev[0].Untagged != "two:v2" {
		t.Fatalf("rmi two:v2: got %+v, %v", ev, err)
	}
	// A container holds it: refused, then forced to an untag only.
	if err := s.Hold("c1", img.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveImage(ctx, "one", RemoveOptions{}); !errors.Is(err, ErrInUse) {
		t.Fatalf("rmi of a held image: got %v, want ErrInUse", err)
	}
	if ev, err = s.RemoveImage(ctx, "one", RemoveOptions{Force: true}); err != nil || len(ev) != 1 {
		t.Fatalf("rmi -f of a held image: got %+v, %v", ev, err)
	}
	imgs, _ := s.Images(ctx)
	if len(imgs) != 1 || len(imgs[0].RepoTags) != 0 {
		t.Fatalf("after forced rmi: got %d images, want the held one untagged", len(imgs))
	}
	// Prune keeps what is held, and takes it once released.
	if rep, err := s.Prune(ctx, PruneOptions{}); err != nil || len(rep.Events) != 0 {
		t.Fatalf("prune while held: got %+v, %v", rep, err)
	}
	if err := s.Release("c1"); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Prune(ctx, PruneOptions{})
	if err != nil || len(rep.Events) == 0 || rep.Events[0].Deleted != img.ID || rep.Reclaimed == 0 {
		t.Fatalf("prune: got %+v, %v", rep, err)
	}
	assertEmpty(t, s)
}

// assertEmpty checks that nothing but the empty layout is left.
func assertEmpty(t *testing.T, s *Store) {
	t.Helper()
	for _, d := range []string{"blobs/sha256", "layers/sha256", "flat/sha256", "tmp", "holds"} {
		if ents, _ := os.ReadDir(filepath.Join(s.Root(), d)); len(ents) != 0 {
			t.Errorf("%s not empty: %d entries", d, len(ents))
		}
	}
	_, n, _ := dirSize(s.ObjectsDir())
	if n != 0 {
		t.Errorf("%d objects left", n)
	}
}

func TestRemoveCollectsOnlyUnsharedContent(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	a := importTar(t, s, mktar(t, baseFiles...), "a")
	b := importTar(t, s, mktar(t, append([]tfile{{name: "extra", body: "only in b"}}, baseFiles...)...), "b")
	u, err := s.DiskUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Two layers hold the same files: stored once.
	if u.LayersSize != a.Size+b.Size || u.StoredSize != b.Size || u.Saved() <= 0 {
		t.Errorf("usage: layers %d stored %d saved %d (a %d, b %d)", u.LayersSize, u.StoredSize, u.Saved(), a.Size, b.Size)
	}
	ev, err := s.RemoveImage(ctx, "a", RemoveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(ev) != 3 || ev[0].Untagged != "a:latest" || ev[1].Deleted != a.ID || ev[2].Deleted != a.Config.RootFS.DiffIDs[0] {
		t.Errorf("events: got %+v", ev)
	}
	// b's files must all still be readable.
	x, err := s.LayerIndex(b.Config.RootFS.DiffIDs[0])
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < x.NumDigests(); k++ {
		if _, err := os.Stat(s.ObjectPath(x.DigestAt(k))); err != nil {
			t.Errorf("object of b collected: %v", err)
		}
	}
	if _, err := s.RemoveImage(ctx, "b", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, s)
}

func TestBadLayersChangeNothing(t *testing.T) {
	good := mktar(t, baseFiles...)
	tests := []struct {
		name string
		data []byte
	}{
		{"truncated", good[:len(good)/2]},
		{"empty", nil},
		{"not a tar", []byte(strings.Repeat("garbage ", 200))},
		{"absolute path", mktar(t, tfile{name: "/etc/passwd", body: "x"})},
		{"dot dot", mktar(t, tfile{name: "a/../../etc/passwd", body: "x"})},
		{"hard link to nowhere", mktar(t, tfile{name: "a", link: "missing", typ: tar.TypeLink})},
		{"hard link outside", mktar(t, tfile{name: "a", link: "../../etc/shadow", typ: tar.TypeLink})},
		{"symlink as a directory", mktar(t, tfile{name: "d", link: "/etc", typ: tar.TypeSymlink}, tfile{name: "d/passwd", body: "x"})},
		{"duplicate", mktar(t, tfile{name: "a", body: "1"}, tfile{name: "a", body: "2"})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newStore(t)
			importTar(t, s, good, "keep")
			before := snapshot(t, s)
			_, err := s.Import(context.Background(), bytes.NewReader(tt.data), ImportOptions{Refs: []string{"bad"}, Source: "-"})
			if err == nil {
				t.Fatal("import succeeded, want an error")
			}
			if after := snapshot(t, s); after != before {
				t.Errorf("store changed:\nbefore:\n%s\nafter:\n%s", before, after)
			}
		})
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, f := range []tarball.Format{tarball.DockerArchive, tarball.OCIArchive} {
		t.Run(f.String(), func(t *testing.T) {
			ctx := context.Background()
			src := newStore(t)
			img := importTar(t, src, mktar(t, baseFiles...), "busybox:1", "mirror.local/busybox:1")
			var buf bytes.Buffer
			if err := src.Save(ctx, &buf, []string{"busybox:1", "mirror.local/busybox:1"}, f); err != nil {
				t.Fatal(err)
			}
			dst := newStore(t)
			loaded, err := dst.Load(ctx, bytes.NewReader(buf.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			if len(loaded) != 1 || loaded[0].ID != img.ID || loaded[0].ManifestDigest != img.ManifestDigest {
				t.Fatalf("loaded %d images, first %s manifest %s; want id %s manifest %s", len(loaded), loaded[0].ID, loaded[0].ManifestDigest, img.ID, img.ManifestDigest)
			}
			got, err := dst.ResolveImage(ctx, "mirror.local/busybox:1")
			if err != nil || got.ID != img.ID || !equal(got.RepoTags, []string{"busybox:1", "mirror.local/busybox:1"}) {
				t.Fatalf("got %+v, %v", got, err)
			}
			// Loading again is a no-op that still succeeds.
			before := snapshot(t, dst)
			if _, err := dst.Load(ctx, bytes.NewReader(buf.Bytes())); err != nil {
				t.Fatal(err)
			}
			if after := snapshot(t, dst); after != before {
				t.Errorf("second load changed the store")
			}
		})
	}
}

func TestLoadLegacyUncompressedLayers(t *testing.T) {
	ctx := context.Background()
	layer := mktar(t, baseFiles...)
	diffID := digest.FromBytes(layer)
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + diffID.String() + `"]}}`)
	cd := digest.FromBytes(cfg)
	man := []byte(`[{"Config":"` + cd.Encoded() + `.json","RepoTags":["legacy:1"],"Layers":["abc/layer.tar"]}]`)
	arch := mktar(t,
		tfile{name: cd.Encoded() + ".json", body: string(cfg)},
		tfile{name: "abc/", typ: tar.TypeDir, mode: 0o755},
		tfile{name: "abc/layer.tar", body: string(layer)},
		tfile{name: "manifest.json", body: string(man)},
	)
	s := newStore(t)
	imgs, err := s.Load(ctx, bytes.NewReader(arch))
	if err != nil {
		t.Fatal(err)
	}
	if len(imgs) != 1 || imgs[0].ID != cd || !equal(imgs[0].RepoTags, []string{"legacy:1"}) {
		t.Fatalf("got %+v", imgs)
	}
	// The uncompressed layer was stored gzip.
	if mt := imgs[0].Manifest.Layers[0].MediaType; mt != archive.MediaType(archive.Gzip) {
		t.Errorf("media type: got %s", mt)
	}
	// A config that promises another diffID is refused, leaving nothing.
	bad := bytes.Replace(arch, []byte(diffID.Encoded()), []byte(strings.Repeat("0", 64)), -1)
	s2 := newStore(t)
	before := snapshot(t, s2)
	if _, err := s2.Load(ctx, bytes.NewReader(bad)); err == nil {
		t.Fatal("load of a lying archive succeeded")
	}
	if snapshot(t, s2) != before {
		t.Error("failed load changed the store")
	}
}

func TestFlattenedImageIndex(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	tx, err := s.Begin()
	if err != nil {
		t.Fatal(err)
	}
	var ls []*Layer
	for _, files := range [][]tfile{
		baseFiles,
		{{name: ".wh.big", body: ""}, {name: "etc/.wh..wh..opq", body: ""}, {name: "etc/new", body: "new"}},
	} {
		l, err := tx.NewLayer(ctx, bytes.NewReader(mktar(t, files...)), archive.Zstd)
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
	}
	img, err := tx.CreateImage(ctx, ocispec.Image{}, ls, []string{"two-layers"})
	tx.Close()
	if err != nil {
		t.Fatal(err)
	}
	if mt := img.Manifest.Layers[1].MediaType; mt != ocispec.MediaTypeImageLayerZstd {
		t.Errorf("media type: got %s", mt)
	}
	flat, err := s.ImageIndex(ctx, img)
	if err != nil {
		t.Fatal(err)
	}
	var paths []string
	flat.Walk(func(i uint32, p string) error {
		paths = append(paths, p)
		return nil
	})
	want := []string{"", "bin", "etc", "bin/cat", "bin/ls", "bin/sh", "etc/new"}
	if !equal(paths, want) {
		t.Errorf("flattened: got %v, want %v", paths, want)
	}
	// The second call reads the cache.
	if _, err := os.Stat(filepath.Join(s.Root(), "flat", "sha256", ChainID(img.Config.RootFS.DiffIDs).Encoded()+".index")); err != nil {
		t.Error(err)
	}
	again, err := s.ImageIndex(ctx, img)
	if err != nil || !bytes.Equal(again.Bytes(), flat.Bytes()) {
		t.Errorf("cached index differs: %v", err)
	}
	if i, ok := flat.Resolve("bin/cat"); !ok || flat.Nlink(i) != 2 {
		t.Errorf("hard link lost in flattening")
	}
	_ = index.NoLink

	// By image id, as a container's monitor gets it: the same file,
	// rebuilt when it has gone.
	for range 2 {
		path, err := s.ImageIndexFile(ctx, img.ID)
		if err != nil {
			t.Fatal(err)
		}
		x, err := index.Load(path)
		if err != nil || !bytes.Equal(x.Bytes(), flat.Bytes()) {
			t.Fatalf("index file %s: %v, or differs from ImageIndex's", path, err)
		}
		os.Remove(path)
	}
	for _, bad := range []digest.Digest{digest.Digest("sha256:" + strings.Repeat("0", 64)), "nonsense", img.Manifest.Layers[0].Digest} {
		if _, err := s.ImageIndexFile(ctx, bad); err == nil {
			t.Errorf("ImageIndexFile(%s): no error", bad)
		}
	}
	// An image without layers has the empty index.
	tx, err = s.Begin()
	if err != nil {
		t.Fatal(err)
	}
	empty, err := tx.CreateImage(ctx, ocispec.Image{}, nil, []string{"no-layers"})
	tx.Close()
	if err != nil {
		t.Fatal(err)
	}
	path, err := s.ImageIndexFile(ctx, empty.ID)
	if err != nil {
		t.Fatal(err)
	}
	if x, err := index.Load(path); err != nil || x.Walk(func(uint32, string) error { return nil }) != nil {
		t.Errorf("empty image's index %s: %v", path, err)
	}
}

func TestConcurrentImportsAndGC(t *testing.T) {
	s := newStore(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			data := mktar(t, append([]tfile{{name: "n", body: strings.Repeat("x", i)}}, baseFiles...)...)
			_, err := s.Import(ctx, bytes.NewReader(data), ImportOptions{Refs: []string{"img:" + string(rune('a'+i))}})
			errs <- err
			_, err = s.GC(ctx)
			errs <- err
		}(i)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	imgs, err := s.Images(ctx)
	if err != nil || len(imgs) != 8 {
		t.Fatalf("got %d images, %v; want 8", len(imgs), err)
	}
	for _, img := range imgs {
		x, err := s.LayerIndex(img.Config.RootFS.DiffIDs[0])
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < x.NumDigests(); k++ {
			if _, err := os.Stat(s.ObjectPath(x.DigestAt(k))); err != nil {
				t.Fatalf("object lost to a concurrent GC: %v", err)
			}
		}
	}
}

func TestGCRemovesStaleStaging(t *testing.T) {
	s := newStore(t)
	for _, name := range []string{"obj-1-1-1", "blob-123"} {
		os.WriteFile(filepath.Join(s.Root(), "tmp", name), []byte("crashed writer"), 0o600)
	}
	if _, err := s.GC(context.Background()); err != nil {
		t.Fatal(err)
	}
	assertEmpty(t, s)
}

func TestImageJSONIsOCI(t *testing.T) {
	s := newStore(t)
	img := importTar(t, s, mktar(t, baseFiles...), "x")
	var m map[string]any
	if err := json.Unmarshal(img.RawManifest, &m); err != nil || m["mediaType"] != ocispec.MediaTypeImageManifest || m["schemaVersion"] != 2.0 {
		t.Errorf("manifest: got %v, %v", m, err)
	}
	if len(img.Config.History) != 1 || img.Config.History[0].Comment != "Imported from -" {
		t.Errorf("history: got %+v", img.Config.History)
	}
	_ = io.EOF
}

func TestLoadCorruptBlobChangesNothing(t *testing.T) {
	ctx := context.Background()
	src := newStore(t)
	img := importTar(t, src, mktar(t, baseFiles...), "busybox")
	var buf bytes.Buffer
	if err := src.Save(ctx, &buf, []string{"busybox"}, tarball.OCIArchive); err != nil {
		t.Fatal(err)
	}
	// Flip one byte in the middle of the layer blob's gzip stream.
	arch := buf.Bytes()
	layer := img.Manifest.Layers[0]
	blob, err := os.ReadFile(src.blobPath(layer.Digest))
	if err != nil {
		t.Fatal(err)
	}
	at := bytes.Index(arch, blob)
	if at < 0 {
		t.Fatal("layer blob not found in the archive")
	}
	for _, off := range []int{len(blob) / 2, len(blob) - 3} {
		bad := bytes.Clone(arch)
		bad[at+off] ^= 0x55
		dst := newStore(t)
		importTar(t, dst, mktar(t, tfile{name: "other", body: "x"}), "other")
		before := snapshot(t, dst)
		if _, err := dst.Load(ctx, bytes.NewReader(bad)); err == nil {
			t.Fatalf("byte %d flipped: load succeeded", off)
		}
		if after := snapshot(t, dst); after != before {
			t.Errorf("byte %d flipped: store changed:\n%s\n---\n%s", off, before, after)
		}
	}
}
