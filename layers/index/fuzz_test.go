package index

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the generated seed corpus under testdata/fuzz")

// checkInvariants verifies, through the exported accessors only, the
// promises the package doc makes about a decoded index.
func checkInvariants(x *Index) error {
	n := uint32(x.Len())
	if n == 0 {
		return fmt.Errorf("no entries")
	}
	if x.Name(0) != "" || x.Parent(0) != 0 || !x.IsDir(0) || x.Flags(0)&Whiteout != 0 {
		return fmt.Errorf("entry 0 is not a root directory")
	}
	covered := uint32(1)
	for i := uint32(0); i < n; i++ {
		e := x.Entry(i) // must not panic
		if e.Flags&^(Whiteout|Opaque|Implicit) != 0 {
			return fmt.Errorf("entry %d: unknown flags %b", i, e.Flags)
		}
		if e.Flags&(Opaque|Implicit) != 0 && !e.IsDir() {
			return fmt.Errorf("entry %d: opaque or implicit non-directory", i)
		}
		if e.Size < 0 || e.MtimeNs >= 1e9 {
			return fmt.Errorf("entry %d: size %d, nanoseconds %d", i, e.Size, e.MtimeNs)
		}
		for _, xa := range e.Xattrs {
			if xa.Name == "" {
				return fmt.Errorf("entry %d: empty xattr name", i)
			}
		}
		switch e.Type() {
		case TypeLink:
			if e.Linkname == "" || int64(len(e.Linkname)) != e.Size {
				return fmt.Errorf("entry %d: symlink target %q, size %d", i, e.Linkname, e.Size)
			}
		case TypeReg:
			if e.Size > 0 && e.Digest.IsZero() {
				return fmt.Errorf("entry %d: content without digest", i)
			}
		}
		if e.Link != NoLink {
			l := e.Link
			if l > i || x.Link(l) != l || e.IsDir() {
				return fmt.Errorf("entry %d: bad leader %d", i, l)
			}
			lead := x.Entry(l)
			if lead.Mode != e.Mode || lead.UID != e.UID || lead.GID != e.GID || lead.Digest != e.Digest {
				return fmt.Errorf("entry %d: metadata differs from its leader %d", i, l)
			}
		}
		if first, cnt := x.Children(i); cnt > 0 {
			if first != covered || uint64(first)+uint64(cnt) > uint64(n) {
				return fmt.Errorf("entry %d: children %d+%d, want them to start at %d", i, first, cnt, covered)
			}
			covered += cnt
			for c := first; c < first+cnt; c++ {
				if x.Parent(c) != i {
					return fmt.Errorf("entry %d: child %d has parent %d", i, c, x.Parent(c))
				}
				if c > first && x.Name(c-1) >= x.Name(c) {
					return fmt.Errorf("entry %d: children %d and %d are not sorted", i, c-1, c)
				}
			}
		}
		if i == 0 {
			continue
		}
		p := x.Parent(i)
		if p >= i || !x.IsDir(p) || x.Flags(p)&Whiteout != 0 {
			return fmt.Errorf("entry %d: bad parent %d", i, p)
		}
		if !ValidName(x.Name(i)) {
			return fmt.Errorf("entry %d: bad name %q", i, x.Name(i))
		}
		if j, ok := x.Lookup(p, x.Name(i)); !ok || j != i {
			return fmt.Errorf("entry %d: Lookup(%d, %q) gives %d %v", i, p, x.Name(i), j, ok)
		}
		if j, ok := x.Resolve(x.Path(i)); !ok || j != i {
			return fmt.Errorf("entry %d: Resolve(%q) gives %d %v", i, x.Path(i), j, ok)
		}
	}
	if covered != n {
		return fmt.Errorf("children cover %d of %d entries", covered, n)
	}
	for k := 0; k < x.NumDigests(); k++ {
		x.DigestAt(k)
	}
	return x.Walk(func(i uint32, p string) error {
		if p != x.Path(i) {
			return fmt.Errorf("entry %d: Walk gives %q, Path %q", i, p, x.Path(i))
		}
		return nil
	})
}

// seeds are the indexes the FuzzDecode corpus is generated from.
func seeds(t testing.TB) map[string]*Index {
	big := NewBuilder()
	for i := 0; i < 40; i++ {
		p := fmt.Sprintf("d%d/s%d/f%d", i%3, i%5, i)
		if err := big.Add(p, Entry{Mode: TypeReg | 0o644, Size: int64(i), Digest: Digest{byte(i % 7)}, Mtime: int64(i)}); err != nil && i%7 != 0 {
			t.Fatal(err)
		}
	}
	bigx, err := big.Build()
	if err != nil {
		t.Fatal(err)
	}
	lower := build(t, add("a/f", file(0o644, 1)), hardlink("a/g", "a/f"), add("b/c", dir(0o700)))
	upper := build(t, whiteout("a/g"), opaque("b"), add("b/n", symlink("x")))
	merged, err := Merge(lower, upper)
	if err != nil {
		t.Fatal(err)
	}
	return map[string]*Index{
		"empty":  build(t),
		"root":   build(t, add(".", dir(0o700))),
		"sample": sample(t),
		"big":    bigx,
		"lower":  lower,
		"upper":  upper,
		"merged": merged,
	}
}

// TestFuzzDecodeCorpus keeps testdata/fuzz/FuzzDecode in step with the
// indexes this package builds: go test -run FuzzDecodeCorpus -update
// rewrites it after a change of the encoding.
func TestFuzzDecodeCorpus(t *testing.T) {
	dir := filepath.Join("testdata", "fuzz", "FuzzDecode")
	for name, x := range seeds(t) {
		t.Run(name, func(t *testing.T) {
			want := fmt.Appendf(nil, "go test fuzz v1\n[]byte(%q)\n", x.Bytes())
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
				t.Errorf("%s is stale: run go test -run FuzzDecodeCorpus -update", path)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	f.Add([]byte(magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		// Once as given, which mostly tests the header and checksum, and
		// once with the checksum made right, which reaches the tables.
		for _, fix := range []bool{false, true} {
			d := data
			if fix {
				d = append([]byte(nil), data...)
				fixCRC(d)
			}
			x, err := Decode(d)
			if err != nil {
				if !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrVersion) {
					t.Fatalf("got %v, want ErrCorrupt or ErrVersion", err)
				}
				continue
			}
			if err := checkInvariants(x); err != nil {
				t.Fatalf("accepted an index that breaks the rules: %v", err)
			}
		}
	})
}

// The merge model: a plain map from path to node, changed layer by layer
// with the rules of overlayfs. It shares no code with Builder or Merge.

type mnode struct {
	typ      uint32 // TypeDir, TypeReg, TypeLink; 0 for a whiteout
	perm     uint32
	tag      byte // what a file or symlink holds
	implicit bool
	opaque   bool
	group    int // hard-link group; 0 for none
}

type mtree map[string]*mnode

func newMtree() mtree { return mtree{"": {typ: TypeDir, perm: 0o755, implicit: true}} }

// ancestors returns the directories above p: "a/b/c" gives "a", "a/b".
func ancestors(p string) []string {
	var out []string
	for i := 0; i < len(p); i++ {
		if p[i] == '/' {
			out = append(out, p[:i])
		}
	}
	return out
}

// parentPath returns the directory holding p: "a/b" gives "a", "a" gives "".
func parentPath(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i]
	}
	return ""
}

func under(p, dir string) bool { return dir == "" || strings.HasPrefix(p, dir+"/") }

// parentsOK reports whether no ancestor of p is other than a directory.
func (m mtree) parentsOK(p string) bool {
	for _, a := range ancestors(p) {
		if n := m[a]; n != nil && n.typ != TypeDir {
			return false
		}
	}
	return true
}

func (m mtree) makeParents(p string) {
	for _, a := range ancestors(p) {
		if m[a] == nil {
			m[a] = &mnode{typ: TypeDir, perm: 0o755, implicit: true}
		}
	}
}

// add is the layer rule: a directory named again is updated, anything else
// named twice is refused.
func (m mtree) add(p string, n mnode) bool {
	if p == "" {
		if n.typ != TypeDir {
			return false
		}
		m[""].perm, m[""].implicit = n.perm, false
		return true
	}
	if !m.parentsOK(p) {
		return false
	}
	if old := m[p]; old != nil {
		if old.typ == TypeDir && n.typ == TypeDir {
			old.perm, old.implicit = n.perm, false
			return true
		}
		return false
	}
	m.makeParents(p)
	m[p] = &n
	return true
}

func (m mtree) setOpaque(p string) bool {
	if !m.parentsOK(p) {
		return false
	}
	if old := m[p]; old != nil {
		if old.typ != TypeDir {
			return false
		}
		old.opaque = true
		return true
	}
	m.makeParents(p)
	m[p] = &mnode{typ: TypeDir, perm: 0o755, implicit: true, opaque: true}
	return true
}

func (m mtree) hardlink(p, target string, newGroup func() int) bool {
	t := m[target]
	if t == nil || t.typ == TypeDir || t.typ == 0 {
		return false
	}
	n := *t
	if n.group == 0 {
		n.group = newGroup()
	}
	if !m.add(p, n) {
		return false
	}
	t.group = n.group
	return true
}

func (m mtree) removeTree(p string) {
	for q := range m {
		if q == p || (p != "" && under(q, p)) {
			delete(m, q)
		}
	}
}

// byDepth lists the paths of m parents first.
func (m mtree) byDepth() []string {
	var ps []string
	for p := range m {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool {
		di, dj := strings.Count(ps[i], "/"), strings.Count(ps[j], "/")
		if ps[i] == "" || ps[j] == "" {
			return ps[i] == "" && ps[j] != ""
		}
		if di != dj {
			return di < dj
		}
		return ps[i] < ps[j]
	})
	return ps
}

// mergeModel applies the layers, bottom first, the way overlayfs shows
// them. Hard-link groups are renumbered so that groups of different
// layers stay apart.
func mergeModel(layers []mtree) mtree {
	out := newMtree()
	out[""].implicit = false
	for li, l := range layers {
		for _, p := range l.byDepth() {
			n := l[p]
			cur := out[p]
			switch {
			case p == "":
				if n.opaque {
					for q := range out {
						if q != "" {
							delete(out, q)
						}
					}
				}
				if !n.implicit {
					cur.perm = n.perm
				}
			case n.typ == 0:
				out.removeTree(p)
			case n.typ == TypeDir && cur != nil && cur.typ == TypeDir:
				if n.opaque {
					for q := range out {
						if under(q, p) {
							delete(out, q)
						}
					}
				}
				if !n.implicit {
					cur.perm = n.perm
				}
			default:
				out.removeTree(p)
				c := *n
				c.implicit, c.opaque = false, false
				if c.group != 0 {
					c.group += (li + 1) * 1000
				}
				out[p] = &c
			}
		}
	}
	return out
}

// compareModel checks that x holds exactly the tree of m: the same names,
// types, permissions and contents, the same hard-link groups with the
// right link counts, and directory link counts of 2 plus subdirectories.
func compareModel(x *Index, m mtree) error {
	seen := map[string]bool{}
	groups := map[int][]string{}
	for p, n := range m {
		if n.group != 0 {
			groups[n.group] = append(groups[n.group], p)
		}
	}
	err := x.Walk(func(i uint32, p string) error {
		n := m[p]
		if n == nil {
			return fmt.Errorf("%q: in the index, not in the model", p)
		}
		seen[p] = true
		e := x.Entry(i)
		want := mdesc(n)
		if got := edesc(&e); got != want {
			return fmt.Errorf("%q: got %s, want %s", p, got, want)
		}
		switch {
		case n.typ == TypeDir:
			subdirs := 0
			for q, c := range m {
				if q != "" && c.typ == TypeDir && parentPath(q) == p {
					subdirs++
				}
			}
			if e.Nlink != uint32(2+subdirs) {
				return fmt.Errorf("%q: got nlink %d, want %d", p, e.Nlink, 2+subdirs)
			}
		case n.typ != 0 && len(groups[n.group]) > 1:
			g := groups[n.group]
			if e.Nlink != uint32(len(g)) || e.Link == NoLink {
				return fmt.Errorf("%q: got link %d nlink %d, want a group of %d", p, e.Link, e.Nlink, len(g))
			}
			for _, q := range g {
				j, _ := x.Resolve(q)
				if x.Link(j) != e.Link {
					return fmt.Errorf("%q and %q: got leaders %d and %d, want one group", p, q, e.Link, x.Link(j))
				}
			}
		case n.typ != 0:
			if e.Nlink != 1 || e.Link != NoLink {
				return fmt.Errorf("%q: got link %d nlink %d, want no group", p, e.Link, e.Nlink)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	for p := range m {
		if !seen[p] {
			return fmt.Errorf("%q: in the model, not in the index", p)
		}
	}
	return nil
}

func mdesc(n *mnode) string {
	return fmt.Sprintf("type=%o perm=%o tag=%d implicit=%v opaque=%v whiteout=%v",
		n.typ, n.perm, n.tag, n.implicit, n.opaque, n.typ == 0)
}

func edesc(e *Entry) string {
	typ, perm, tag := e.Type(), e.Mode&0o7777, byte(0)
	switch {
	case e.Flags&Whiteout != 0:
		typ, perm = 0, 0
	case typ == TypeReg:
		tag = e.Digest[0]
	case typ == TypeLink:
		tag = e.Linkname[1] - '0'
	}
	return fmt.Sprintf("type=%o perm=%o tag=%d implicit=%v opaque=%v whiteout=%v",
		typ, perm, tag, e.Flags&Implicit != 0, e.Flags&Opaque != 0, e.Flags&Whiteout != 0)
}

// fuzzPaths are the names fuzzed layers are made of; few, so that layers
// collide often.
var fuzzPaths = []string{"", "a", "b", "a/a", "a/b", "b/a", "a/a/a", "a/b/a"}

// fuzzLayers turns bytes into 1-4 layers of operations, applies each to a
// Builder and to the model, and checks that both accept the same ones.
func fuzzLayers(t *testing.T, data []byte) ([]*Index, []mtree) {
	next := func() byte {
		if len(data) == 0 {
			return 0
		}
		b := data[0]
		data = data[1:]
		return b
	}
	var xs []*Index
	var ms []mtree
	groups := 0
	newGroup := func() int { groups++; return groups }
	nlayers := 1 + int(next()%4)
	for l := 0; l < nlayers; l++ {
		b, m := NewBuilder(), newMtree()
		nops := int(next() % 16)
		for k := 0; k < nops; k++ {
			c, arg := next(), next()
			p := fuzzPaths[int(c/6)%len(fuzzPaths)]
			var err error
			var ok bool
			var what string
			switch c % 6 {
			case 0:
				what = "add file"
				e := Entry{Mode: TypeReg | 0o600 | uint32(arg&7)}
				if arg != 0 {
					e.Size, e.Digest = 1, Digest{arg}
				}
				err = b.Add(p, e)
				ok = m.add(p, mnode{typ: TypeReg, perm: e.Mode & 0o7777, tag: arg})
			case 1:
				what = "add dir"
				perm := 0o700 | uint32(arg&7)
				err = b.Add(p, Entry{Mode: TypeDir | perm})
				ok = m.add(p, mnode{typ: TypeDir, perm: perm})
			case 2:
				what = "add symlink"
				err = b.Add(p, Entry{Mode: TypeLink | 0o777, Linkname: fmt.Sprintf("t%d", arg%4)})
				ok = m.add(p, mnode{typ: TypeLink, perm: 0o777, tag: arg % 4})
			case 3:
				what = "whiteout"
				err = b.Whiteout(p)
				ok = m.add(p, mnode{})
			case 4:
				what = "opaque"
				err = b.SetOpaque(p)
				ok = m.setOpaque(p)
			case 5:
				target := fuzzPaths[int(arg)%len(fuzzPaths)]
				what = "hard link to " + target
				err = b.Hardlink(p, target)
				ok = m.hardlink(p, target, newGroup)
			}
			if (err == nil) != ok {
				t.Fatalf("layer %d: %s %q: Builder says %v, model says ok=%v", l, what, p, err, ok)
			}
		}
		x, err := b.Build()
		if err != nil {
			t.Fatalf("layer %d: Build: %v", l, err)
		}
		if err := checkInvariants(x); err != nil {
			t.Fatalf("layer %d: %v", l, err)
		}
		if err := compareModel(x, m); err != nil {
			t.Fatalf("layer %d: %v", l, err)
		}
		xs, ms = append(xs, x), append(ms, m)
	}
	return xs, ms
}

func FuzzMerge(f *testing.F) {
	f.Add([]byte{})
	// A file and a hard link to it; then a whiteout of the link.
	f.Add([]byte{1, 2, 6, 1, 11, 6, 3, 15, 0})
	// Opaque dir over a dir with children, with a child of its own.
	f.Add([]byte{1, 2, 19, 1, 18, 2, 2, 2, 10, 0, 18, 3})
	// Dir replaced by a file, then a file replaced by a dir.
	f.Add([]byte{2, 2, 7, 1, 18, 4, 1, 6, 9, 1, 13, 5})
	f.Fuzz(func(t *testing.T, data []byte) {
		xs, ms := fuzzLayers(t, data)
		got, err := Merge(xs...)
		if err != nil {
			t.Fatalf("Merge: %v", err)
		}
		if err := checkInvariants(got); err != nil {
			t.Fatalf("Merge: %v", err)
		}
		if err := compareModel(got, mergeModel(ms)); err != nil {
			t.Fatalf("Merge: %v", err)
		}
		if got.Flags(0) != 0 {
			t.Fatalf("Merge: root flags %b, want none", got.Flags(0))
		}
		// Flattening the lower layers first changes nothing.
		if len(xs) > 1 {
			lower, err := Merge(xs[:len(xs)-1]...)
			if err != nil {
				t.Fatal(err)
			}
			again, err := Merge(lower, xs[len(xs)-1])
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again.Bytes(), got.Bytes()) {
				t.Fatalf("Merge of the flattened lower layers differs")
			}
		}
	})
}
