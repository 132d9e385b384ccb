package index

import (
	"fmt"
	"testing"
)

// big40k builds an index shaped like a large distribution image: 40,000
// entries, 1,000 directories three levels deep with 39 names each, a mix
// of files, symlinks and hard links, some with xattrs.
func big40k(tb testing.TB) (*Index, []string) {
	tb.Helper()
	b := NewBuilder()
	var paths []string
	for d := 0; b.Len() < 40000; d++ {
		dir := fmt.Sprintf("usr/share/pkg%03d/sub%04d", d%100, d)
		for f := 0; f < 39 && b.Len() < 40000; f++ {
			p := fmt.Sprintf("%s/file-%02d.dat", dir, f)
			var err error
			switch {
			case f%13 == 12:
				err = b.Add(p, Entry{Mode: TypeLink | 0o777, Linkname: "file-00.dat"})
			case f%17 == 16:
				err = b.Hardlink(p, dir+"/file-01.dat")
			default:
				e := Entry{Mode: TypeReg | 0o644, Size: int64(f + 1), Mtime: 1700000000 + int64(d), MtimeNs: uint32(f)}
				e.Digest[0], e.Digest[1], e.Digest[2] = byte(d), byte(d>>8), byte(f+1)
				if f%10 == 0 {
					e.Xattrs = []Xattr{{"security.selinux", "system_u:object_r:usr_t:s0"}}
				}
				err = b.Add(p, e)
			}
			if err != nil {
				tb.Fatal(err)
			}
			paths = append(paths, p)
		}
	}
	x, err := b.Build()
	if err != nil {
		tb.Fatal(err)
	}
	return x, paths
}

func TestDecode40k(t *testing.T) {
	x, paths := big40k(t)
	y, err := Decode(append([]byte(nil), x.Bytes()...))
	if err != nil {
		t.Fatal(err)
	}
	if y.Len() != 40000 {
		t.Errorf("got %d entries, want 40000", y.Len())
	}
	for _, p := range paths {
		if _, ok := y.Resolve(p); !ok {
			t.Fatalf("Resolve(%q) found nothing", p)
		}
	}
	if err := checkInvariants(y); err != nil {
		t.Fatal(err)
	}
}

func BenchmarkDecode40k(b *testing.B) {
	x, _ := big40k(b)
	data := x.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkBuild40k(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		big40k(b)
	}
}

// BenchmarkLookup resolves paths of a 40k-entry index one component at a
// time, as the filesystem does on LOOKUP.
func BenchmarkLookup(b *testing.B) {
	x, paths := big40k(b)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := x.Resolve(paths[i%len(paths)]); !ok {
			b.Fatal("not found")
		}
		i += 7919 // a prime, to wander over the tree
	}
}

func BenchmarkLookupName(b *testing.B) {
	x, paths := big40k(b)
	dir, _ := x.Resolve(paths[0][:len(paths[0])-len("/file-00.dat")])
	names := make([]string, 39)
	for f := range names {
		names[f] = fmt.Sprintf("file-%02d.dat", f)
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if _, ok := x.Lookup(dir, names[i%len(names)]); !ok {
			b.Fatal("not found")
		}
		i++
	}
}
