package index

import (
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// op is one step of building a layer in a test: exactly one of its forms
// is meant, chosen by kind.
type op struct {
	kind   string // "add", "whiteout", "opaque", "link"
	path   string
	e      Entry
	target string // "link": the existing name
}

func add(path string, e Entry) op     { return op{kind: "add", path: path, e: e} }
func whiteout(path string) op         { return op{kind: "whiteout", path: path} }
func opaque(path string) op           { return op{kind: "opaque", path: path} }
func hardlink(path, target string) op { return op{kind: "link", path: path, target: target} }

func (o op) apply(b *Builder) error {
	switch o.kind {
	case "add":
		return b.Add(o.path, o.e)
	case "whiteout":
		return b.Whiteout(o.path)
	case "opaque":
		return b.SetOpaque(o.path)
	case "link":
		return b.Hardlink(o.path, o.target)
	}
	panic("unknown op " + o.kind)
}

// Entries with distinguishable metadata. A file's content is named by one
// byte, which is the first byte of its (fake) digest.
func dir(perm uint32) Entry { return Entry{Mode: TypeDir | perm} }
func file(perm uint32, content byte) Entry {
	e := Entry{Mode: TypeReg | perm}
	if content != 0 {
		e.Size, e.Digest = int64(content), Digest{content}
	}
	return e
}
func symlink(target string) Entry { return Entry{Mode: TypeLink | 0o777, Linkname: target} }

// build applies ops to a new Builder and builds it, failing the test on
// any error.
func build(t testing.TB, ops ...op) *Index {
	t.Helper()
	b := NewBuilder()
	for _, o := range ops {
		if err := o.apply(b); err != nil {
			t.Fatalf("%s %s: %v", o.kind, o.path, err)
		}
	}
	x, err := b.Build()
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return x
}

// desc describes entry i in a short, comparable form: its type, permission
// bits, what it holds and its markers.
func desc(x *Index, i uint32) string {
	e := x.Entry(i)
	var s string
	switch {
	case e.Flags&Whiteout != 0:
		return "whiteout"
	case e.Type() == TypeDir:
		s = fmt.Sprintf("dir %o", e.Mode&0o7777)
	case e.Type() == TypeReg:
		s = fmt.Sprintf("file %o #%d", e.Mode&0o7777, e.Digest[0])
	case e.Type() == TypeLink:
		s = "symlink " + e.Linkname
	case e.Type() == TypeChar:
		s = fmt.Sprintf("char %d", e.Rdev)
	case e.Type() == TypeBlock:
		s = fmt.Sprintf("block %d", e.Rdev)
	case e.Type() == TypeFifo:
		s = fmt.Sprintf("fifo %o", e.Mode&0o7777)
	case e.Type() == TypeSock:
		s = fmt.Sprintf("sock %o", e.Mode&0o7777)
	}
	if e.Flags&Opaque != 0 {
		s += " opaque"
	}
	if e.Flags&Implicit != 0 {
		s += " implicit"
	}
	if e.Link != NoLink {
		s += fmt.Sprintf(" link=%s nlink=%d", x.Path(e.Link), e.Nlink)
	}
	return s
}

// tree describes every entry of x but the root by its path.
func tree(x *Index) map[string]string {
	m := map[string]string{}
	x.Walk(func(i uint32, p string) error {
		if i > 0 {
			m[p] = desc(x, i)
		}
		return nil
	})
	return m
}

func diffTrees(got, want map[string]string) string {
	var keys []string
	for k := range got {
		keys = append(keys, k)
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			fmt.Fprintf(&b, "\n  %s: missing, want %q", k, w)
		case !wok:
			fmt.Fprintf(&b, "\n  %s: got %q, want nothing", k, g)
		case g != w:
			fmt.Fprintf(&b, "\n  %s: got %q, want %q", k, g, w)
		}
	}
	return b.String()
}

func TestBuilderRoundTrip(t *testing.T) {
	xattrs := []Xattr{{"security.capability", "\x01\x00\x00\x02"}, {"user.empty", ""}}
	tests := []struct {
		name string
		path string
		e    Entry
	}{
		{"dir", "d", Entry{Mode: TypeDir | 0o1777, UID: 1, GID: 2, Mtime: 1700000000, MtimeNs: 123456789}},
		{"file", "f", Entry{Mode: TypeReg | 0o4755, UID: 1000, GID: 1000, Size: 5, Digest: Digest{1, 2, 3}, Mtime: -5, MtimeNs: 999999999}},
		{"empty file", "empty", Entry{Mode: TypeReg | 0o600}},
		{"symlink", "l", Entry{Mode: TypeLink | 0o777, Linkname: "../x/y z", Mtime: 1}},
		{"char device", "c", Entry{Mode: TypeChar | 0o666, Rdev: 0x0000_0123_4567_89ab}},
		{"block device", "b", Entry{Mode: TypeBlock | 0o660, Rdev: 8<<8 | 1}},
		{"fifo", "p", Entry{Mode: TypeFifo | 0o644}},
		{"socket", "s", Entry{Mode: TypeSock | 0o755}},
		{"xattrs", "x", Entry{Mode: TypeReg | 0o644, Xattrs: xattrs}},
		{"deep", "a/b/c/d", Entry{Mode: TypeReg | 0o400, UID: 1<<32 - 1, GID: 1<<32 - 2}},
		{"big file", "big", Entry{Mode: TypeReg | 0o644, Size: 1 << 40, Digest: Digest{9}}},
		{"long name", strings.Repeat("n", 4096), Entry{Mode: TypeReg | 0o644}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := build(t, add(tt.path, tt.e))
			i, ok := x.Resolve(tt.path)
			if !ok {
				t.Fatalf("Resolve(%q) found nothing", tt.path)
			}
			got := x.Entry(i)
			want := tt.e
			parts, _ := SplitPath(tt.path)
			want.Name = parts[len(parts)-1]
			want.Parent = x.Parent(i)
			want.Link = NoLink
			want.Nlink = 1
			if want.IsDir() {
				want.Nlink = 2
			}
			if want.Type() == TypeLink {
				want.Size = int64(len(want.Linkname))
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got %+v, want %+v", got, want)
			}
			// Decoding the encoding again gives the same index.
			y, err := Decode(append([]byte(nil), x.Bytes()...))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if g := y.Entry(i); !reflect.DeepEqual(g, got) {
				t.Errorf("after Decode: got %+v, want %+v", g, got)
			}
		})
	}
}

func TestBuilderImplicitParents(t *testing.T) {
	x := build(t, add("a/b/f", file(0o644, 1)))
	want := map[string]string{
		"a":     "dir 755 implicit",
		"a/b":   "dir 755 implicit",
		"a/b/f": "file 644 #1",
	}
	if d := diffTrees(tree(x), want); d != "" {
		t.Errorf("tree:%s", d)
	}
	// Naming the parent afterwards makes it explicit and keeps its child.
	x = build(t, add("a/b/f", file(0o644, 1)), add("a", Entry{Mode: TypeDir | 0o700, UID: 7}))
	want["a"] = "dir 700"
	if d := diffTrees(tree(x), want); d != "" {
		t.Errorf("tree after naming a:%s", d)
	}
	if i, _ := x.Resolve("a"); x.Entry(i).UID != 7 {
		t.Errorf("a: got uid %d, want 7", x.Entry(i).UID)
	}
}

func TestBuilderDirTwice(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
		want map[string]string
	}{
		{
			name: "second entry updates metadata and keeps children",
			ops:  []op{add("d", dir(0o755)), add("d/f", file(0o644, 1)), add("d", dir(0o700))},
			want: map[string]string{"d": "dir 700", "d/f": "file 644 #1"},
		},
		{
			name: "implicit entry does not override explicit metadata",
			ops:  []op{add("d", dir(0o700)), add("d", Entry{Mode: TypeDir | 0o755, Flags: Implicit})},
			want: map[string]string{"d": "dir 700"},
		},
		{
			name: "implicit opaque entry over an explicit one keeps both",
			ops:  []op{add("d", dir(0o700)), add("d", Entry{Mode: TypeDir | 0o755, Flags: Implicit | Opaque})},
			want: map[string]string{"d": "dir 700 opaque"},
		},
		{
			name: "root named twice",
			ops:  []op{add(".", dir(0o700)), add("./", dir(0o750)), add("f", file(0o644, 0))},
			want: map[string]string{"f": "file 644 #0"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := build(t, tt.ops...)
			if d := diffTrees(tree(x), tt.want); d != "" {
				t.Errorf("tree:%s", d)
			}
		})
	}
}

func TestBuilderRoot(t *testing.T) {
	b := NewBuilder()
	x, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if got, want := x.Entry(0), (Entry{Mode: TypeDir | 0o755, Flags: Implicit, Nlink: 2}); !reflect.DeepEqual(got, want) {
		t.Errorf("implicit root: got %+v, want %+v", got, want)
	}
	for _, p := range []string{"./", ".", "/", ""} {
		t.Run(fmt.Sprintf("%q", p), func(t *testing.T) {
			x := build(t, add(p, Entry{Mode: TypeDir | 0o700, UID: 3, Mtime: 9}))
			want := Entry{Mode: TypeDir | 0o700, UID: 3, Mtime: 9, Nlink: 2}
			if got := x.Entry(0); !reflect.DeepEqual(got, want) {
				t.Errorf("root: got %+v, want %+v", got, want)
			}
			if x.Len() != 1 {
				t.Errorf("got %d entries, want 1", x.Len())
			}
		})
	}
}

func TestBuilderErrors(t *testing.T) {
	tests := []struct {
		name string
		ops  []op // the last one must fail
		want error
	}{
		{"file twice", []op{add("f", file(0o644, 1)), add("f", file(0o644, 1))}, ErrConflict},
		{"dir over file", []op{add("f", file(0o644, 1)), add("f", dir(0o755))}, ErrConflict},
		{"file over dir", []op{add("d", dir(0o755)), add("d", file(0o644, 1))}, ErrConflict},
		{"file over implicit dir", []op{add("d/f", file(0o644, 1)), add("d", file(0o644, 1))}, ErrConflict},
		{"symlink twice", []op{add("l", symlink("a")), add("l", symlink("b"))}, ErrConflict},
		{"whiteout twice", []op{whiteout("w"), whiteout("w")}, ErrConflict},
		{"file over whiteout", []op{whiteout("w"), add("w", file(0o644, 1))}, ErrConflict},
		{"dir over whiteout", []op{whiteout("w"), add("w", dir(0o755))}, ErrConflict},
		{"whiteout over file", []op{add("f", file(0o644, 1)), whiteout("f")}, ErrConflict},
		{"file as a path component", []op{add("f", file(0o644, 1)), add("f/x", file(0o644, 1))}, ErrConflict},
		{"symlink as a path component", []op{add("l", symlink("d")), add("l/x", file(0o644, 1))}, ErrConflict},
		{"whiteout as a path component", []op{whiteout("w"), add("w/x", file(0o644, 1))}, ErrConflict},
		{"device as a path component", []op{add("c", Entry{Mode: TypeChar}), add("c/x/y", dir(0o755))}, ErrConflict},
		{"whiteout under a file", []op{add("f", file(0o644, 1)), whiteout("f/x")}, ErrConflict},
		{"opaque file", []op{add("f", file(0o644, 1)), opaque("f")}, ErrConflict},
		{"opaque whiteout", []op{whiteout("w"), opaque("w")}, ErrConflict},
		{"opaque under a symlink", []op{add("l", symlink("d")), opaque("l/d")}, ErrConflict},
		{"dotdot", []op{add("a/../b", file(0o644, 1))}, ErrBadName},
		{"leading dotdot", []op{add("../b", file(0o644, 1))}, ErrBadName},
		{"only dotdot", []op{add("..", dir(0o755))}, ErrBadName},
		{"whiteout dotdot", []op{whiteout("a/..")}, ErrBadName},
		{"opaque dotdot", []op{opaque("../a")}, ErrBadName},
		{"NUL in name", []op{add("a\x00b", file(0o644, 1))}, ErrBadName},
		{"NUL in dir name", []op{add("a\x00/b", file(0o644, 1))}, ErrBadName},
		{"name too long", []op{add(strings.Repeat("n", 4097), file(0o644, 1))}, ErrBadName},
		{"root as a file", []op{add("./", file(0o644, 1))}, ErrConflict},
		{"root whiteout", []op{whiteout(".")}, ErrConflict},
		{"negative size", []op{add("f", Entry{Mode: TypeReg, Size: -1})}, ErrConflict},
		{"content without digest", []op{add("f", Entry{Mode: TypeReg, Size: 1})}, ErrConflict},
		{"empty symlink", []op{add("l", Entry{Mode: TypeLink})}, ErrConflict},
		{"NUL in symlink", []op{add("l", symlink("a\x00"))}, ErrConflict},
		{"no file type", []op{add("f", Entry{Mode: 0o644})}, ErrConflict},
		{"bad file type", []op{add("f", Entry{Mode: 0o070000})}, ErrConflict},
		{"opaque flag on a file", []op{add("f", Entry{Mode: TypeReg, Flags: Opaque})}, ErrConflict},
		{"implicit flag on a file", []op{add("f", Entry{Mode: TypeReg, Flags: Implicit})}, ErrConflict},
		{"unknown flag", []op{add("d", Entry{Mode: TypeDir, Flags: 1 << 7})}, ErrConflict},
		{"empty xattr name", []op{add("f", Entry{Mode: TypeReg, Xattrs: []Xattr{{"", "v"}}})}, ErrConflict},
		{"NUL in xattr name", []op{add("f", Entry{Mode: TypeReg, Xattrs: []Xattr{{"user.\x00", "v"}}})}, ErrConflict},
		{"hard link to nothing", []op{hardlink("a", "b")}, ErrConflict},
		{"hard link to a dir", []op{add("d", dir(0o755)), hardlink("a", "d")}, ErrConflict},
		{"hard link to an implicit dir", []op{add("d/f", file(0o644, 1)), hardlink("a", "d")}, ErrConflict},
		{"hard link to the root", []op{hardlink("a", ".")}, ErrConflict},
		{"hard link to a whiteout", []op{whiteout("w"), hardlink("a", "w")}, ErrConflict},
		{"hard link to itself", []op{add("f", file(0o644, 1)), hardlink("f", "f")}, ErrConflict},
		{"hard link over a file", []op{add("f", file(0o644, 1)), add("g", file(0o644, 2)), hardlink("g", "f")}, ErrConflict},
		{"hard link through a file", []op{add("f", file(0o644, 1)), hardlink("a", "f/x")}, ErrConflict},
		{"hard link with dotdot", []op{add("f", file(0o644, 1)), hardlink("a", "x/../f")}, ErrBadName},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := NewBuilder()
			for _, o := range tt.ops[:len(tt.ops)-1] {
				if err := o.apply(b); err != nil {
					t.Fatalf("%s %s: %v", o.kind, o.path, err)
				}
			}
			last := tt.ops[len(tt.ops)-1]
			before := b.Len()
			err := last.apply(b)
			if !errors.Is(err, tt.want) {
				t.Fatalf("%s %q: got error %v, want %v", last.kind, last.path, err, tt.want)
			}
			// A refused entry leaves the tree as it was.
			if b.Len() != before {
				t.Errorf("Len: got %d after the error, want %d", b.Len(), before)
			}
			if _, err := b.Build(); err != nil {
				t.Errorf("Build after the error: %v", err)
			}
		})
	}
}

func TestBuilderWhiteoutsAndOpaque(t *testing.T) {
	tests := []struct {
		name string
		ops  []op
		want map[string]string
	}{
		{
			name: "whiteout",
			ops:  []op{whiteout("a/w")},
			want: map[string]string{"a": "dir 755 implicit", "a/w": "whiteout"},
		},
		{
			name: "whiteout keeps no metadata",
			ops:  []op{add("w", Entry{Mode: TypeReg | 0o644, Size: 3, Digest: Digest{3}, Flags: Whiteout, Xattrs: []Xattr{{"a", "b"}}})},
			want: map[string]string{"w": "whiteout"},
		},
		{
			name: "opaque before the dir's entry",
			ops:  []op{opaque("d"), add("d", dir(0o700)), add("d/f", file(0o644, 1))},
			want: map[string]string{"d": "dir 700 opaque", "d/f": "file 644 #1"},
		},
		{
			name: "opaque after the dir's entry",
			ops:  []op{add("d", dir(0o700)), add("d/f", file(0o644, 1)), opaque("d")},
			want: map[string]string{"d": "dir 700 opaque", "d/f": "file 644 #1"},
		},
		{
			name: "opaque only",
			ops:  []op{opaque("d/e")},
			want: map[string]string{"d": "dir 755 implicit", "d/e": "dir 755 opaque implicit"},
		},
		{
			name: "opaque twice",
			ops:  []op{opaque("d"), opaque("d")},
			want: map[string]string{"d": "dir 755 opaque implicit"},
		},
		{
			name: "opaque root",
			ops:  []op{opaque("."), add("f", file(0o644, 1))},
			want: map[string]string{"f": "file 644 #1"},
		},
		{
			name: "whiteout beside an opaque dir's children",
			ops:  []op{opaque("d"), whiteout("d/x"), add("d/y", file(0o600, 2))},
			want: map[string]string{"d": "dir 755 opaque implicit", "d/x": "whiteout", "d/y": "file 600 #2"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := build(t, tt.ops...)
			if d := diffTrees(tree(x), tt.want); d != "" {
				t.Errorf("tree:%s", d)
			}
		})
	}
	if x := build(t, opaque(".")); x.Flags(0) != Opaque|Implicit {
		t.Errorf("root flags: got %b, want %b", x.Flags(0), Opaque|Implicit)
	}
	if x := build(t, opaque("."), add(".", dir(0o700))); x.Flags(0) != Opaque {
		t.Errorf("root flags after naming it: got %b, want %b", x.Flags(0), Opaque)
	}
}

func TestBuilderHardlinks(t *testing.T) {
	f := Entry{Mode: TypeReg | 0o640, UID: 5, GID: 6, Size: 7, Digest: Digest{7}, Mtime: 100, MtimeNs: 5, Xattrs: []Xattr{{"user.a", "1"}}}
	tests := []struct {
		name   string
		ops    []op
		groups [][]string // each group, leader first
		alone  []string   // names that must not be in a group
	}{
		{
			name:   "pair",
			ops:    []op{add("a", f), hardlink("b", "a")},
			groups: [][]string{{"a", "b"}},
		},
		{
			name: "leader is the smallest entry, not the first in the stream",
			// BFS numbers: b=1, z=2, z/a=3, z/c=4.
			ops:    []op{add("z/a", f), hardlink("b", "z/a"), hardlink("z/c", "b")},
			groups: [][]string{{"b", "z/a", "z/c"}},
		},
		{
			name:   "link to a link",
			ops:    []op{add("a", f), hardlink("b", "a"), hardlink("c", "b"), hardlink("d/e", "c")},
			groups: [][]string{{"a", "b", "c", "d/e"}},
		},
		{
			name:   "two groups",
			ops:    []op{add("a", f), add("b", file(0o600, 2)), hardlink("c", "a"), hardlink("d", "b"), add("e", f)},
			groups: [][]string{{"a", "c"}, {"b", "d"}},
			alone:  []string{"e"},
		},
		{
			name:   "symlink",
			ops:    []op{add("l", symlink("t")), hardlink("m", "l")},
			groups: [][]string{{"l", "m"}},
		},
		{
			name:   "device",
			ops:    []op{add("c", Entry{Mode: TypeChar | 0o600, Rdev: 5}), hardlink("d", "c")},
			groups: [][]string{{"c", "d"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			x := build(t, tt.ops...)
			for _, g := range tt.groups {
				leader, ok := x.Resolve(g[0])
				if !ok {
					t.Fatalf("%s is missing", g[0])
				}
				want := x.Entry(leader)
				for _, p := range g {
					i, ok := x.Resolve(p)
					if !ok {
						t.Fatalf("%s is missing", p)
					}
					if i < leader {
						t.Errorf("%s: entry %d is before the leader %s (%d)", p, i, g[0], leader)
					}
					e := x.Entry(i)
					if e.Link != leader {
						t.Errorf("%s: got Link %d, want %d", p, e.Link, leader)
					}
					if e.Nlink != uint32(len(g)) {
						t.Errorf("%s: got Nlink %d, want %d", p, e.Nlink, len(g))
					}
					// Members share everything but their name and place.
					e.Name, e.Parent = want.Name, want.Parent
					if !reflect.DeepEqual(e, want) {
						t.Errorf("%s: got %+v, want the leader's %+v", p, e, want)
					}
				}
			}
			for _, p := range tt.alone {
				i, _ := x.Resolve(p)
				if l, n := x.Link(i), x.Nlink(i); l != NoLink || n != 1 {
					t.Errorf("%s: got Link %d Nlink %d, want %d 1", p, l, n, NoLink)
				}
			}
		})
	}
	// The member takes the metadata of the name it links to.
	x := build(t, add("a", f), hardlink("b", "a"))
	if i, _ := x.Resolve("b"); x.Entry(i).UID != 5 || x.Size(i) != 7 {
		t.Errorf("b: got uid %d size %d, want 5 7", x.Entry(i).UID, x.Size(i))
	}
}

func TestBuilderDirNlink(t *testing.T) {
	x := build(t,
		add("a/b/c", dir(0o755)),
		add("a/f", file(0o644, 1)),
		add("d", dir(0o755)),
		whiteout("w"),
		opaque("o"),
		add("l", symlink("a")),
	)
	tests := []struct {
		path string
		want uint32
	}{
		{"", 5}, // a, d, o
		{"a", 3},
		{"a/b", 3},
		{"a/b/c", 2},
		{"d", 2},
		{"o", 2},
		{"a/f", 1},
		{"l", 1},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			i, ok := x.Resolve(tt.path)
			if !ok {
				t.Fatalf("%q is missing", tt.path)
			}
			if got := x.Nlink(i); got != tt.want {
				t.Errorf("Nlink: got %d, want %d", got, tt.want)
			}
		})
	}
}

func TestBuilderStat(t *testing.T) {
	b := NewBuilder()
	if err := b.Add("a/f", file(0o644, 1)); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		path string
		ok   bool
		mode uint32
	}{
		{"a/f", true, TypeReg | 0o644},
		{"./a/", true, TypeDir | 0o755},
		{"", true, TypeDir | 0o755},
		{"a/g", false, 0},
		{"a/f/x", false, 0},
		{"../a", false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			e, ok := b.Stat(tt.path)
			if ok != tt.ok || e.Mode != tt.mode {
				t.Errorf("got %v %o, want %v %o", ok, e.Mode, tt.ok, tt.mode)
			}
		})
	}
}

func TestBuilderReuse(t *testing.T) {
	b := NewBuilder()
	if err := b.Add("a", file(0o644, 1)); err != nil {
		t.Fatal(err)
	}
	x1, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	x2, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if string(x1.Bytes()) != string(x2.Bytes()) {
		t.Errorf("two builds of the same tree differ")
	}
	if err := b.Add("b", file(0o644, 2)); err != nil {
		t.Fatal(err)
	}
	x3, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	if x1.Len() != 2 || x3.Len() != 3 {
		t.Errorf("got %d and %d entries, want 2 and 3", x1.Len(), x3.Len())
	}
}
