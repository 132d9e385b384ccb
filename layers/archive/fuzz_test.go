package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/strata-engine/strata/layers/index"
)

var update = flag.Bool("update", false, "rewrite the generated seed corpus under testdata/fuzz")

// unpackSeeds are small layers that reach every path of Unpack; the
// FuzzUnpack corpus is generated from them.
func unpackSeeds(t testing.TB) map[string][]byte {
	pax := reg("p/f", "pax")
	pax.hdr.ModTime = time.Unix(1700000000, 42)
	pax.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.a": "1", "SCHILY.xattr.user.b": "\x00\xff"}
	pax.hdr.Format = tar.FormatPAX
	gnu := reg("g/"+string(bytes.Repeat([]byte("n"), 120)), "gnu")
	gnu.hdr.Format = tar.FormatGNU
	global := ent{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "x"}}}
	return map[string][]byte{
		"empty":     trailer,
		"simple":    tarOf(t, dirEnt("./", 0o755), dirEnt("d/", 0o700), reg("d/f", "hello"), symEnt("d/l", "f"), reg("e", "")),
		"links":     tarOf(t, reg("a", "x"), linkEnt("b", "a"), devEnt("c", tar.TypeChar, 1, 3), devEnt("k", tar.TypeBlock, 8, 1), ent{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "p"}}),
		"whiteouts": tarOf(t, reg(".wh.a", ""), reg("d/.wh..wh..opq", ""), reg("d/x", "1"), reg("e/.wh.f", ""), reg(".wh.g", ""), dirEnt("g/", 0o755)),
		"pax":       tarOf(t, global, pax),
		"gnu":       tarOf(t, gnu),
		"bad":       tarOf(t, reg("../x", "x")),
	}
}

// TestFuzzUnpackCorpus keeps testdata/fuzz/FuzzUnpack in step with
// unpackSeeds: go test -run FuzzUnpackCorpus -update rewrites it.
func TestFuzzUnpackCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzUnpack")
	for name, data := range unpackSeeds(t) {
		t.Run(name, func(t *testing.T) {
			want := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", data)
			path := filepath.Join(dir, name)
			if *update {
				if err := os.MkdirAll(dir, 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, want, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			got, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to generate it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s is stale: run go test -run FuzzUnpackCorpus -update", path)
			}
		})
	}
}

// FuzzUnpack feeds arbitrary streams to Unpack. Reading from memory and
// storing in memory cannot fail, so every error must be the layer's; every
// index it returns must decode, refer only to stored objects, and survive a
// trip through Write unchanged.
func FuzzUnpack(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzUnpack(t, data)
		// Most mutations of a header break its checksum; mending it
		// lets the fuzzer reach what the header's fields do.
		if fixed := fixChecksums(data); !bytes.Equal(fixed, data) {
			fuzzUnpack(t, fixed)
		}
	})
}

// fixChecksums recomputes the checksum of every block that looks like a
// ustar header.
func fixChecksums(data []byte) []byte {
	data = bytes.Clone(data)
	for off := 0; off+512 <= len(data); off += 512 {
		b := data[off : off+512]
		if string(b[257:262]) == "ustar" {
			setChecksum(b)
		}
	}
	return data
}

func fuzzUnpack(t *testing.T, data []byte) {
	ctx := context.Background()
	sink := newMemSink()
	opts := Options{MaxFileSize: 1 << 20, MaxEntries: 10000}
	res, err := Unpack(ctx, bytes.NewReader(data), sink, opts)
	if err != nil {
		if !errors.Is(err, ErrInvalidLayer) {
			t.Fatalf("got %v, want ErrInvalidLayer", err)
		}
		return
	}
	if want := digest.FromBytes(data); res.DiffID != want {
		t.Fatalf("DiffID: got %s, want %s", res.DiffID, want)
	}
	if _, err := index.Decode(bytes.Clone(res.Index.Bytes())); err != nil {
		t.Fatalf("the index does not decode: %v", err)
	}
	for k := 0; k < res.Index.NumDigests(); k++ {
		if _, ok := sink.objs[res.Index.DigestAt(k)]; !ok {
			t.Fatalf("digest %x is not in the sink", res.Index.DigestAt(k))
		}
	}
	var buf bytes.Buffer
	if err := Write(ctx, &buf, res.Index, sink); err != nil {
		t.Fatalf("Write: %v", err)
	}
	again, err := Unpack(ctx, &buf, sink, opts)
	if err != nil {
		t.Fatalf("Unpack(Write(x)): %v", err)
	}
	if !bytes.Equal(again.Index.Bytes(), res.Index.Bytes()) {
		t.Fatalf("Unpack(Write(x)) differs from x:%s", diffMaps(describe(t, again.Index, sink), describe(t, res.Index, sink)))
	}
}
