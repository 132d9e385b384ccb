//go:build linux

package fs_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/strata-engine/strata/fs"
	"github.com/strata-engine/strata/layers/index"
)

// genImage builds layers (bottom first) of a generated image: files
// spread over nested directories, later layers changing, adding, and
// whiting out some of the earlier ones. Contents are a few shared objects.
func genImage(b testing.TB, objects string, nlayers, nfiles int) []*index.Index {
	b.Helper()
	rng := rand.New(rand.NewSource(1))
	var digests []index.Digest
	for i := 0; i < 8; i++ {
		d, err := writeObject(objects, &zeros{int64(4096 << i)}, int64(4096<<i))
		if err != nil {
			b.Fatal(err)
		}
		digests = append(digests, d)
	}
	var paths []string
	var out []*index.Index
	per := nfiles / nlayers
	for l := 0; l < nlayers; l++ {
		bl := index.NewBuilder()
		for i := 0; i < per; i++ {
			var p string
			if l > 0 && len(paths) > 0 && rng.Intn(10) == 0 {
				p = paths[rng.Intn(len(paths))] // change a file of a lower layer
				if _, ok := bl.Stat(p); ok {
					continue
				}
			} else {
				p = fmt.Sprintf("d%02d/s%03d/f%d-%d", rng.Intn(40), rng.Intn(50), l, i)
				paths = append(paths, p)
			}
			k := rng.Intn(len(digests))
			e := index.Entry{Mode: syscall.S_IFREG | 0o644, Size: int64(4096 << k), Digest: digests[k], Mtime: 1e9}
			if err := bl.Add(p, e); err != nil {
				b.Fatal(err)
			}
		}
		if l > 0 {
			for i := 0; i < per/100; i++ {
				p := paths[rng.Intn(len(paths))]
				if _, ok := bl.Stat(p); !ok {
					if err := bl.Whiteout(p); err != nil {
						b.Fatal(err)
					}
				}
			}
		}
		x, err := bl.Build()
		if err != nil {
			b.Fatal(err)
		}
		out = append(out, x)
	}
	return out
}

// BenchmarkMount measures mounting a flattened 40k-file, 6-layer image:
// decoding its index and the mount until it is live (the merge is done
// once, when the image is stored; BenchmarkMerge measures it).
func BenchmarkMount(b *testing.B) {
	needFUSE(b)
	objects := b.TempDir()
	flat, err := index.Merge(genImage(b, objects, 6, 40000)...)
	if err != nil {
		b.Fatal(err)
	}
	data := flat.Bytes()
	b.ReportMetric(float64(flat.Len()), "entries")
	base := b.TempDir()
	mnt, upper, work := filepath.Join(base, "mnt"), filepath.Join(base, "upper"), filepath.Join(base, "work")
	for _, d := range []string{mnt, upper, work} {
		os.Mkdir(d, 0o755)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		x, err := index.Decode(append([]byte(nil), data...))
		if err != nil {
			b.Fatal(err)
		}
		srv, err := fs.Mount(context.Background(), mnt, fs.Options{
			Lowers: []fs.Lower{fs.NewIndexLower(x, objects)}, UpperDir: upper, WorkDir: work,
		})
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := srv.Unmount(); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// BenchmarkDecode measures the part of mounting that reads the index.
func BenchmarkDecode(b *testing.B) {
	flat, err := index.Merge(genImage(b, b.TempDir(), 6, 40000)...)
	if err != nil {
		b.Fatal(err)
	}
	data := flat.Bytes()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := index.Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkMerge measures flattening the six layers of the image.
func BenchmarkMerge(b *testing.B) {
	layers := genImage(b, b.TempDir(), 6, 40000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := index.Merge(layers...); err != nil {
			b.Fatal(err)
		}
	}
}

// benchMount mounts the generated image with the kernel's caches on
// (ttl 0: defaults) or made useless (ttl 1ns: every access asks us).
func benchMount(b *testing.B, ttl time.Duration, passthrough bool) (*mounted, *index.Index) {
	needFUSE(b)
	objects := b.TempDir()
	flat, err := index.Merge(genImage(b, objects, 6, 40000)...)
	if err != nil {
		b.Fatal(err)
	}
	m := mountUnion(b, fs.Options{
		Lowers: []fs.Lower{fs.NewIndexLower(flat, objects)}, LowerTimeout: ttl, UpperTimeout: ttl, Passthrough: passthrough,
	})
	return m, flat
}

func filePaths(x *index.Index) []string {
	var out []string
	x.Walk(func(i uint32, p string) error {
		if !x.IsDir(i) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func BenchmarkStat(b *testing.B) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", 0}, {"uncached", time.Nanosecond}} {
		b.Run(c.name, func(b *testing.B) {
			m, x := benchMount(b, c.ttl, false)
			paths := filePaths(x)[:1000] // few enough to stay in the kernel's caches
			var st syscall.Stat_t
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if err := syscall.Lstat(filepath.Join(m.dir, paths[i%len(paths)]), &st); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkReaddir(b *testing.B) {
	for _, c := range []struct {
		name string
		ttl  time.Duration
	}{{"cached", 0}, {"uncached", time.Nanosecond}} {
		b.Run(c.name, func(b *testing.B) {
			m, _ := benchMount(b, c.ttl, false)
			dirs, _ := filepath.Glob(filepath.Join(m.dir, "d*", "s*"))
			n := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, err := os.Open(dirs[i%len(dirs)])
				if err != nil {
					b.Fatal(err)
				}
				names, err := f.Readdirnames(-1)
				f.Close()
				if err != nil {
					b.Fatal(err)
				}
				n += len(names)
			}
			b.ReportMetric(float64(n)/float64(b.N), "entries/op")
		})
	}
}

// BenchmarkRead reads a 512 KiB file whole: from a lower object (through
// the server, then the page cache) and from an upper file (passthrough
// when this process may).
func BenchmarkRead(b *testing.B) {
	for _, c := range []struct {
		name  string
		upper bool
	}{{"lower", false}, {"upper", true}} {
		b.Run(c.name, func(b *testing.B) {
			m, x := benchMount(b, 0, true)
			var p string
			for _, q := range filePaths(x) {
				if st, err := os.Stat(filepath.Join(m.dir, q)); err == nil && st.Size() == 512<<10 {
					p = filepath.Join(m.dir, q)
					break
				}
			}
			if c.upper {
				if err := os.Chmod(p, 0o600); err != nil { // copy-up, metadata only
					b.Fatal(err)
				}
				f, err := os.OpenFile(p, os.O_WRONLY, 0) // and its data
				if err != nil {
					b.Fatal(err)
				}
				f.Close()
			}
			buf := make([]byte, 1<<20)
			b.SetBytes(512 << 10)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f, err := os.Open(p)
				if err != nil {
					b.Fatal(err)
				}
				for {
					n, err := f.Read(buf)
					if n == 0 || err != nil {
						break
					}
				}
				f.Close()
			}
		})
	}
}
