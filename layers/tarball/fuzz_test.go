package tarball

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the fuzz seeds under testdata/fuzz/FuzzRead")

// seedArchives are the fuzz seeds: one archive of each form, with
// uncompressed layers only, so that they are the same bytes on every run.
func seedArchives(t testing.TB) map[string][]byte {
	img := testImage(t, []testLayer{newLayer(t, "base", false), newLayer(t, "top", false)}, "busybox:latest")
	return map[string][]byte{
		"docker-archive": writeArchive(t, []WriteImage{img}, DockerArchive),
		"oci-archive":    writeArchive(t, []WriteImage{img}, OCIArchive),
		"legacy-archive": mktar(t, newLegacy(t, "", false).members),
	}
}

// corpusFile is a seed in the format of go test's fuzzing corpus.
func corpusFile(b []byte) []byte {
	return []byte("go test fuzz v1\n[]byte(" + strconv.Quote(string(b)) + ")\n")
}

// TestFuzzSeeds keeps testdata/fuzz/FuzzRead in step with seedArchives;
// run with -update after changing what Write produces.
func TestFuzzSeeds(t *testing.T) {
	for name, b := range seedArchives(t) {
		p := filepath.Join("testdata", "fuzz", "FuzzRead", name)
		want := corpusFile(b)
		if *update {
			if err := os.WriteFile(p, want, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		got, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("%v (run go test -run TestFuzzSeeds -update)", err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s is out of date (run go test -run TestFuzzSeeds -update)", p)
		}
	}
}

// FuzzRead checks that Read never panics, that its errors wrap one of the
// package's sentinels, and that what it accepts is consistent.
func FuzzRead(f *testing.F) {
	for _, b := range seedArchives(f) {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ar, err := readBytes(b)
		if err != nil {
			if !errors.Is(err, ErrInvalidArchive) && !errors.Is(err, ErrDigestMismatch) {
				t.Fatalf("error %q wraps neither ErrInvalidArchive nor ErrDigestMismatch", err)
			}
			return
		}
		for i, img := range ar.Images {
			if img.ConfigDigest.Algorithm().FromBytes(img.Config) != img.ConfigDigest {
				t.Fatalf("image %d: config does not hash to %s", i, img.ConfigDigest)
			}
			if img.Manifest != nil && img.ManifestDigest.Algorithm().FromBytes(img.Manifest) != img.ManifestDigest {
				t.Fatalf("image %d: manifest does not hash to %s", i, img.ManifestDigest)
			}
			for j, l := range img.Layers {
				rc, err := l.Open()
				if err != nil {
					t.Fatalf("image %d layer %d: %v", i, j, err)
				}
				n, err := io.Copy(io.Discard, rc)
				rc.Close()
				if err != nil || n != l.Size {
					t.Fatalf("image %d layer %d: read %d bytes, %v; want %d", i, j, n, err, l.Size)
				}
			}
		}
	})
}
