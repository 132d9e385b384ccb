package index

import (
	"errors"
	"fmt"
	"hash/crc32"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// sample is a small layer with one of everything, used by several tests.
func sample(t testing.TB) *Index {
	return build(t,
		add("./", Entry{Mode: TypeDir | 0o755, Mtime: 1}),
		add("usr/bin/sh", Entry{Mode: TypeReg | 0o755, Size: 10, Digest: Digest{1}, Xattrs: []Xattr{{"security.capability", "cap"}}}),
		hardlink("usr/bin/ash", "usr/bin/sh"),
		hardlink("usr/bin/sh2", "usr/bin/ash"),
		add("usr/lib/libc.so", symlink("libc.so.6")),
		add("etc", dir(0o755)),
		add("etc/passwd", Entry{Mode: TypeReg | 0o644, Size: 20, Digest: Digest{2}, Mtime: 1700000000, MtimeNs: 1}),
		add("dev/null", Entry{Mode: TypeChar | 0o666, Rdev: 1<<8 | 3}),
		add("dev/sda", Entry{Mode: TypeBlock | 0o660, Rdev: 8 << 8}),
		add("run/fifo", Entry{Mode: TypeFifo | 0o600}),
		whiteout("var/old"),
		opaque("var/cache"),
		add("var/cache/x", file(0o644, 0)),
		add("tmp", dir(0o1777)),
	)
}

func TestLayout(t *testing.T) {
	x := build(t,
		add("b/y", file(0o644, 1)),
		add("a/x", file(0o644, 2)),
		add("c", file(0o644, 3)),
		add("a/z/w", file(0o644, 4)),
		add("a/a", dir(0o755)),
	)
	want := []string{"", "a", "b", "c", "a/a", "a/x", "a/z", "b/y", "a/z/w"}
	var got []string
	err := x.Walk(func(i uint32, p string) error {
		if int(i) != len(got) {
			t.Errorf("Walk: got entry %d at step %d", i, len(got))
		}
		got = append(got, p)
		if p != x.Path(i) {
			t.Errorf("entry %d: Walk gives %q, Path %q", i, p, x.Path(i))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order: got %q, want %q", got, want)
	}
	children := []struct {
		path  string
		first uint32
		n     uint32
	}{
		{"", 1, 3},
		{"a", 4, 3},
		{"b", 7, 1},
		{"c", 0, 0},
		{"a/a", 0, 0},
		{"a/z", 8, 1},
	}
	for _, tt := range children {
		t.Run("children of "+tt.path, func(t *testing.T) {
			i, _ := x.Resolve(tt.path)
			first, n := x.Children(i)
			if n != tt.n || (n > 0 && first != tt.first) {
				t.Errorf("got %d+%d, want %d+%d", first, n, tt.first, tt.n)
			}
		})
	}
}

func TestLookup(t *testing.T) {
	x := sample(t)
	usr, _ := x.Resolve("usr")
	bin, _ := x.Resolve("usr/bin")
	sh, _ := x.Resolve("usr/bin/sh")
	tests := []struct {
		dir  uint32
		name string
		want uint32
		ok   bool
	}{
		{0, "usr", usr, true},
		{usr, "bin", bin, true},
		{bin, "sh", sh, true},
		{0, "nothere", 0, false},
		{0, "", 0, false},
		{0, "us", 0, false},
		{0, "usrx", 0, false},
		{0, "a", 0, false},   // before every name
		{0, "zzz", 0, false}, // after every name
		{sh, "x", 0, false},  // not a directory
		{bin, "..", 0, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%s", tt.dir, tt.name), func(t *testing.T) {
			got, ok := x.Lookup(tt.dir, tt.name)
			if got != tt.want || ok != tt.ok {
				t.Errorf("got %d %v, want %d %v", got, ok, tt.want, tt.ok)
			}
		})
	}
	// Every entry is found under its own name in its parent.
	for i := uint32(1); i < uint32(x.Len()); i++ {
		if got, ok := x.Lookup(x.Parent(i), x.Name(i)); !ok || got != i {
			t.Errorf("Lookup(%d, %q): got %d %v, want %d true", x.Parent(i), x.Name(i), got, ok, i)
		}
	}
}

func TestResolve(t *testing.T) {
	x := sample(t)
	tests := []struct {
		path string
		want string // Path of the result, or "-" for not found
	}{
		{"", ""},
		{"/", ""},
		{".", ""},
		{"./usr/bin/sh", "usr/bin/sh"},
		{"/usr//bin/./sh/", "usr/bin/sh"},
		{"usr/lib/libc.so", "usr/lib/libc.so"},
		{"usr/lib/libc.so/x", "-"}, // symlinks are not followed
		{"usr/../etc", "-"},
		{"usr/bin/nothere", "-"},
		{"usr/bin/sh/x", "-"},
		{"etc\x00", "-"},
		{"var/old", "var/old"}, // whiteouts are entries of a layer index
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			i, ok := x.Resolve(tt.path)
			got := "-"
			if ok {
				got = x.Path(i)
			}
			if got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestAccessors(t *testing.T) {
	x := sample(t)
	tests := []struct {
		path string
		want string
	}{
		{"usr/bin/sh", "file 755 #1 link=usr/bin/ash nlink=3"},
		{"usr/bin/ash", "file 755 #1 link=usr/bin/ash nlink=3"},
		{"usr/bin/sh2", "file 755 #1 link=usr/bin/ash nlink=3"},
		{"usr/lib/libc.so", "symlink libc.so.6"},
		{"dev/null", fmt.Sprintf("char %d", 1<<8|3)},
		{"dev/sda", fmt.Sprintf("block %d", 8<<8)},
		{"run/fifo", "fifo 600"},
		{"var/old", "whiteout"},
		{"var/cache", "dir 755 opaque implicit"},
		{"tmp", "dir 1777"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			i, ok := x.Resolve(tt.path)
			if !ok {
				t.Fatalf("%s is missing", tt.path)
			}
			if got := desc(x, i); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	etc, _ := x.Resolve("etc/passwd")
	if sec, ns := x.Mtime(etc); sec != 1700000000 || ns != 1 {
		t.Errorf("etc/passwd mtime: got %d.%09d, want 1700000000.000000001", sec, ns)
	}
	if d, ok := x.Digest(etc); !ok || d != (Digest{2}) {
		t.Errorf("etc/passwd digest: got %x %v, want %x true", d, ok, Digest{2})
	}
	empty, _ := x.Resolve("var/cache/x")
	if _, ok := x.Digest(empty); ok {
		t.Errorf("empty file: got a digest")
	}
	if _, ok := x.Digest(0); ok {
		t.Errorf("root: got a digest")
	}
	if x.NumDigests() != 2 || x.DigestAt(0) != (Digest{1}) && x.DigestAt(1) != (Digest{1}) {
		t.Errorf("digests: got %d", x.NumDigests())
	}
	if x.Linkname(etc) != "" || x.Rdev(etc) != 0 || x.Xattrs(etc) != nil {
		t.Errorf("etc/passwd has a target, device or xattrs")
	}
	stop := errors.New("stop")
	n := 0
	if err := x.Walk(func(uint32, string) error { n++; return stop }); err != stop || n != 1 {
		t.Errorf("Walk: got %v after %d calls, want stop after 1", err, n)
	}
}

func TestLoad(t *testing.T) {
	x := sample(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.index")
	if err := os.WriteFile(good, x.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	y, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(tree(y), tree(x)) {
		t.Errorf("loaded tree differs")
	}
	bad := filepath.Join(dir, "bad.index")
	if err := os.WriteFile(bad, x.Bytes()[:100], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); !errors.Is(err, ErrCorrupt) {
		t.Errorf("truncated file: got %v, want ErrCorrupt", err)
	}
	if _, err := Load(filepath.Join(dir, "missing")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: got %v, want ErrNotExist", err)
	}
}

// fixCRC recomputes the checksum of an edited encoding so that Decode gets
// past it to the structural checks.
func fixCRC(data []byte) {
	if len(data) >= headerSize {
		le.PutUint32(data[32:], crc32.Checksum(data[headerSize:], castagnoli))
	}
}

func TestDecodeCorrupt(t *testing.T) {
	x := sample(t)
	sh, _ := x.Resolve("usr/bin/sh")
	ash, _ := x.Resolve("usr/bin/ash")
	usr, _ := x.Resolve("usr")
	etc, _ := x.Resolve("etc")
	passwd, _ := x.Resolve("etc/passwd")
	libc, _ := x.Resolve("usr/lib/libc.so")
	old, _ := x.Resolve("var/old")
	cachex, _ := x.Resolve("var/cache/x")
	sh2, _ := x.Resolve("usr/bin/sh2")
	rec := func(i uint32) int { return headerSize + int(i)*recordSize }
	put32 := func(off int, v uint32) func([]byte) []byte {
		return func(d []byte) []byte { le.PutUint32(d[off:], v); return d }
	}
	put16 := func(off int, v uint16) func([]byte) []byte {
		return func(d []byte) []byte { le.PutUint16(d[off:], v); return d }
	}
	tests := []struct {
		name   string
		edit   func([]byte) []byte
		keep   bool  // do not fix the checksum
		want   error // ErrCorrupt unless set
		errstr string
	}{
		{name: "empty", edit: func(d []byte) []byte { return nil }, keep: true},
		{name: "short header", edit: func(d []byte) []byte { return d[:headerSize-1] }, keep: true},
		{name: "magic", edit: func(d []byte) []byte { d[0] = 'X'; return d }},
		{name: "version", edit: put32(8, 2), want: ErrVersion},
		{name: "flags", edit: put32(12, 1)},
		{name: "no entries", edit: put32(16, 0)},
		{name: "entry count", edit: put32(16, uint32(x.Len()+1))},
		{name: "huge entry count", edit: put32(16, 1<<32-1)},
		{name: "digest count", edit: put32(20, 1<<32-1)},
		{name: "xattr count", edit: put32(24, 7)},
		{name: "string bytes", edit: put32(28, 1)},
		{name: "trailing byte", edit: func(d []byte) []byte { return append(d, 0) }},
		{name: "missing byte", edit: func(d []byte) []byte { return d[:len(d)-1] }},
		{name: "checksum", edit: func(d []byte) []byte { d[len(d)-1] ^= 1; return d }, keep: true},
		{name: "root not a dir", edit: put32(rec(0)+offMode, TypeReg|0o755)},
		{name: "root with a name", edit: put16(rec(0)+offNameLen, 1)},
		{name: "root whiteout", edit: put16(rec(0)+offFlags, uint16(Whiteout))},
		{name: "unknown flag", edit: put16(rec(sh)+offFlags, 1<<3)},
		{name: "opaque file", edit: put16(rec(sh)+offFlags, uint16(Opaque))},
		{name: "implicit file", edit: put16(rec(sh)+offFlags, uint16(Implicit))},
		{name: "unknown type", edit: put32(rec(sh)+offMode, 0o070644)},
		{name: "parent after child", edit: put32(rec(usr)+offParent, usr+1)},
		{name: "parent is itself", edit: put32(rec(usr)+offParent, usr)},
		{name: "parent is a file", edit: put32(rec(ash)+offParent, sh)},
		{name: "parent is a whiteout", edit: put32(rec(cachex)+offParent, old)},
		{name: "wrong parent", edit: put32(rec(passwd)+offParent, usr)},
		{name: "name out of bounds", edit: put32(rec(sh)+offNameOff, 1<<31)},
		{name: "empty name", edit: put16(rec(sh)+offNameLen, 0)},
		{name: "name with slash", edit: func(d []byte) []byte {
			s := len(d) - int(le.Uint32(d[28:]))
			n := s + int(le.Uint32(d[rec(etc)+offNameOff:]))
			d[n+1] = '/'
			return d
		}},
		{name: "children unsorted", edit: func(d []byte) []byte {
			// Swap the names of the root's first two children.
			a, b := rec(1)+offNameOff, rec(2)+offNameOff
			va, vb := le.Uint64(d[a:]), le.Uint64(d[b:])
			le.PutUint64(d[a:], vb)
			le.PutUint64(d[b:], va)
			return d
		}},
		{name: "duplicate names", edit: func(d []byte) []byte {
			copy(d[rec(2)+offNameOff:rec(2)+offNameLen+2], d[rec(1)+offNameOff:rec(1)+offNameLen+2])
			return d
		}},
		{name: "children start", edit: put32(rec(0)+offA, 2)},
		{name: "children count", edit: put32(rec(0)+offB, uint32(x.Len()))},
		{name: "children count wraps", edit: put32(rec(0)+offB, 1<<32-1)},
		{name: "dir lost its children", edit: put32(rec(usr)+offB, 0)},
		{name: "negative size", edit: put32(rec(passwd)+offSize+4, 1<<31)},
		{name: "nanoseconds", edit: put32(rec(passwd)+offMtimeNs, 1e9)},
		{name: "digest number", edit: put32(rec(passwd)+offA, uint32(x.NumDigests()+1))},
		{name: "content without digest", edit: put32(rec(passwd)+offA, 0)},
		{name: "symlink target out of bounds", edit: put32(rec(libc)+offA, 1<<31)},
		{name: "symlink without target", edit: put32(rec(libc)+offB, 0)},
		{name: "symlink size", edit: put32(rec(libc)+offSize, 1)},
		{name: "xattrs out of bounds", edit: put16(rec(sh)+offXCount, 1<<16-1)},
		{name: "xattr start", edit: put32(rec(sh)+offXStart, 1<<31)},
		{name: "xattr key out of bounds", edit: func(d []byte) []byte {
			xs := len(d) - int(le.Uint32(d[28:])) - xattrSize
			le.PutUint32(d[xs:], 1<<31)
			return d
		}},
		{name: "xattr empty key", edit: func(d []byte) []byte {
			xs := len(d) - int(le.Uint32(d[28:])) - xattrSize
			le.PutUint32(d[xs+4:], 0)
			return d
		}},
		{name: "xattr value out of bounds", edit: func(d []byte) []byte {
			xs := len(d) - int(le.Uint32(d[28:])) - xattrSize
			le.PutUint32(d[xs+12:], 1<<31)
			return d
		}},
		{name: "link forward", edit: put32(rec(sh)+offLink, uint32(x.Len()-1))},
		{name: "link out of range", edit: put32(rec(sh)+offLink, 1<<31)},
		{name: "link to a non-leader", edit: put32(rec(sh2)+offLink, sh)},
		{name: "link on a dir", edit: put32(rec(etc)+offLink, etc)},
		{name: "link with other metadata", edit: put32(rec(sh)+offUID, 1)},
		{name: "link with other content", edit: func(d []byte) []byte {
			copy(d[rec(sh)+offA:rec(sh)+offA+4], d[rec(passwd)+offA:])
			return d
		}},
		{name: "zero digest", edit: func(d []byte) []byte {
			ds := headerSize + x.Len()*recordSize
			clear(d[ds : ds+digestSize])
			return d
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tt.edit(append([]byte(nil), x.Bytes()...))
			if !tt.keep {
				fixCRC(data)
			}
			want := tt.want
			if want == nil {
				want = ErrCorrupt
			}
			y, err := Decode(data)
			if !errors.Is(err, want) {
				t.Fatalf("got %v, want %v", err, want)
			}
			if y != nil {
				t.Errorf("got an index with the error")
			}
		})
	}
	// The edits above must start from an index that decodes.
	if _, err := Decode(append([]byte(nil), x.Bytes()...)); err != nil {
		t.Fatalf("unedited: %v", err)
	}
}

// TestDecodeEveryByte changes each byte of a real index in a few ways and
// fixes the checksum: Decode may accept the result, but must not panic, and
// what it accepts must keep the promises of the package doc.
func TestDecodeEveryByte(t *testing.T) {
	orig := sample(t).Bytes()
	for pos := range orig {
		for _, v := range []byte{0, 1, 0x7f, 0xff, orig[pos] + 1, orig[pos] - 1} {
			data := append([]byte(nil), orig...)
			data[pos] = v
			fixCRC(data)
			if x, err := Decode(data); err == nil {
				if err := checkInvariants(x); err != nil {
					t.Fatalf("byte %d = %#x: accepted an index that breaks the rules: %v", pos, v, err)
				}
			} else if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
				t.Fatalf("byte %d = %#x: got %v, want ErrCorrupt", pos, v, err)
			}
		}
	}
}
