package layers

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/strata-engine/strata/layers/archive"
)

func gz(t *testing.T, data []byte, level int) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, level)
	zw.Write(data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestPutLayerVerifiesBlobAndDiffID: a layer blob is kept only when both
// its own digest and size and its content's digest are the promised ones;
// otherwise the store is left exactly as it was.
func TestPutLayerVerifiesBlobAndDiffID(t *testing.T) {
	ctx := context.Background()
	tarData := mktar(t, tfile{name: "etc/hostname", body: "strata\n"}, tfile{name: "big", body: strings.Repeat("x", 2<<20)})
	diffID := digest.FromBytes(tarData)
	blobA := gz(t, tarData, gzip.BestSpeed)
	blobB := gz(t, tarData, gzip.BestCompression) // same content, other blob
	descA := ocispec.Descriptor{MediaType: archive.MediaTypeTarGzip, Digest: digest.FromBytes(blobA), Size: int64(len(blobA))}
	other := digest.FromBytes([]byte("other"))

	tests := []struct {
		name   string
		data   []byte
		desc   ocispec.Descriptor
		diffID digest.Digest
		is     error
	}{
		{"blob with other bytes, same content", blobB, ocispec.Descriptor{Digest: descA.Digest, Size: int64(len(blobB))}, diffID, ErrDigest},
		{"blob of the wrong size", blobA, ocispec.Descriptor{Digest: descA.Digest, Size: descA.Size - 1}, diffID, ErrDigest},
		{"blob with trailing bytes", append(bytes.Clone(blobA), 0), ocispec.Descriptor{Digest: descA.Digest, Size: descA.Size}, diffID, archive.ErrInvalidLayer},
		{"content other than the config says", blobA, descA, other, ErrDigest},
		{"truncated blob", blobA[:len(blobA)/2], descA, diffID, archive.ErrInvalidLayer},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			before := snapshot(t, s)
			tx, err := s.Begin()
			if err != nil {
				t.Fatal(err)
			}
			_, err = tx.PutLayer(ctx, bytes.NewReader(tc.data), tc.desc, tc.diffID)
			tx.Close()
			if !errors.Is(err, tc.is) {
				t.Fatalf("got %v, want %v", err, tc.is)
			}
			if after := snapshot(t, s); after != before {
				t.Errorf("store changed:\n%s\nwant:\n%s", after, before)
			}
		})
	}

	s := newStore(t)
	tx, err := s.Begin()
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	l, err := tx.PutLayer(ctx, bytes.NewReader(blobA), descA, diffID)
	if err != nil {
		t.Fatal(err)
	}
	if l.Blob.Digest != descA.Digest || l.Info.DiffID != diffID || !s.HasLayer(descA.Digest, diffID) {
		t.Errorf("got %+v %+v, want blob %s layer %s present", l.Blob, l.Info, descA.Digest, diffID)
	}
	// The same content in another blob: the layer is shared, the blob kept.
	descB := ocispec.Descriptor{MediaType: archive.MediaTypeTarGzip, Digest: digest.FromBytes(blobB), Size: int64(len(blobB))}
	if _, err := tx.PutLayer(ctx, bytes.NewReader(blobB), descB, diffID); err != nil || !s.HasLayer(descB.Digest, diffID) {
		t.Errorf("second blob of the same layer: %v", err)
	}
}

// TestGCRemovesStaleBatchDirectories: the staging directory of an object
// batch whose writer died goes with the next collection.
func TestGCRemovesStaleBatchDirectories(t *testing.T) {
	s := newStore(t)
	dir := s.path("tmp", "obj-1-1")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "1"), []byte("x"), 0o444); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GC(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale batch directory still there: %v", err)
	}
}
