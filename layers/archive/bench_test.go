package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"sync"
	"testing"

	"github.com/strata-engine/strata/layers/index"
)

// benchLayer is a layer shaped like a distribution image: 10,000 small
// files (100 B to 16 KiB) in 500 directories, and four 4 MiB files.
var benchLayer = sync.OnceValue(func() []byte {
	rng := rand.New(rand.NewPCG(1, 2))
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	data := make([]byte, 4<<20)
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	write := func(h *tar.Header, body []byte) {
		if err := tw.WriteHeader(h); err != nil {
			panic(err)
		}
		if _, err := tw.Write(body); err != nil {
			panic(err)
		}
	}
	for d := 0; d < 500; d++ {
		dir := fmt.Sprintf("usr/share/pkg%03d/", d)
		write(&tar.Header{Typeflag: tar.TypeDir, Name: dir, Mode: 0o755, ModTime: epoch}, nil)
		for f := 0; f < 20; f++ {
			n := 100 + rng.IntN(16<<10)
			off := rng.IntN(len(data) - n)
			write(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("%sfile%02d.txt", dir, f), Mode: 0o644, Size: int64(n), ModTime: epoch}, data[off:off+n])
		}
	}
	for i := 0; i < 4; i++ {
		data[0] = byte(i) // four different contents
		write(&tar.Header{Typeflag: tar.TypeReg, Name: fmt.Sprintf("opt/big%d.bin", i), Mode: 0o644, Size: int64(len(data)), ModTime: epoch}, data)
	}
	if err := tw.Close(); err != nil {
		panic(err)
	}
	return buf.Bytes()
})

// hashSink hashes contents and keeps nothing: the cost of a real object
// store without its disk.
type hashSink struct{ buf []byte }

func (s *hashSink) PutObject(r io.Reader, size int64) (index.Digest, error) {
	if s.buf == nil {
		s.buf = make([]byte, 128<<10)
	}
	h := sha256.New()
	if _, err := io.CopyBuffer(h, r, s.buf); err != nil {
		return index.Digest{}, err
	}
	var d index.Digest
	h.Sum(d[:0])
	return d, nil
}

// discardSink drops contents unhashed, to show Unpack's own cost.
type discardSink struct{ n byte }

func (s *discardSink) PutObject(r io.Reader, size int64) (index.Digest, error) {
	_, err := io.Copy(io.Discard, r)
	s.n++
	return index.Digest{s.n, 1}, err
}

func benchUnpack(b *testing.B, sink Sink, compression Compression) {
	layer := benchLayer()
	blob := layer
	if compression != None {
		blob = compressed(b, compression, layer)
	}
	b.SetBytes(int64(len(layer)))
	b.ReportAllocs()
	for b.Loop() {
		r, _, err := Decompress(bytes.NewReader(blob))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Unpack(context.Background(), r, sink, Options{}); err != nil {
			b.Fatal(err)
		}
		r.Close()
	}
}

func BenchmarkUnpack(b *testing.B)        { benchUnpack(b, &hashSink{}, None) }
func BenchmarkUnpackDiscard(b *testing.B) { benchUnpack(b, &discardSink{}, None) }
func BenchmarkUnpackGzip(b *testing.B)    { benchUnpack(b, &hashSink{}, Gzip) }
func BenchmarkUnpackZstd(b *testing.B)    { benchUnpack(b, &hashSink{}, Zstd) }
func BenchmarkUnpackDirSink(b *testing.B) { benchUnpack(b, dirSink{dir: b.TempDir()}, None) }

func BenchmarkWrite(b *testing.B) {
	sink := newMemSink()
	res, err := Unpack(context.Background(), bytes.NewReader(benchLayer()), sink, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(benchLayer())))
	b.ReportAllocs()
	for b.Loop() {
		if err := Write(context.Background(), io.Discard, res.Index, sink); err != nil {
			b.Fatal(err)
		}
	}
}

// TestBenchLayer writes the benchmark layer to $STRATA_BENCH_TAR, to
// compare with tar -x on the same bytes.
func TestBenchLayer(t *testing.T) {
	path := os.Getenv("STRATA_BENCH_TAR")
	if path == "" {
		t.Skip("set STRATA_BENCH_TAR to write the benchmark layer there")
	}
	if err := os.WriteFile(path, benchLayer(), 0o644); err != nil {
		t.Fatal(err)
	}
}
