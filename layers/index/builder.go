package index

import (
	"fmt"
	"sort"
	"strings"
)

// A Builder collects a tree in any order (as a tar stream delivers it) and
// encodes it. Parents that are not added before their children are created
// as Implicit directories. The zero Builder is not usable; call NewBuilder.
type Builder struct {
	root *node
	n    int // nodes in the tree, root included
}

type node struct {
	e        Entry
	children map[string]*node
	group    *group // hard-link group, nil when alone
}

// group is one hard-link group: the nodes that share an inode.
type group struct{ id int }

// NewBuilder returns a Builder holding an implicit root directory (0755,
// owned by 0:0) that an Add of "/" or "." replaces.
func NewBuilder() *Builder {
	return &Builder{root: newDir(), n: 1}
}

func newDir() *node {
	return &node{e: Entry{Mode: TypeDir | 0o755, Flags: Implicit}, children: map[string]*node{}}
}

// Len returns the number of entries added so far, root included.
func (b *Builder) Len() int { return b.n }

// parentOf walks to the directory holding the last component of parts,
// creating implicit directories on the way. A non-directory in the way is an
// error: a tar that uses a symlink (or file) as a path component is refused
// rather than followed.
func (b *Builder) parentOf(parts []string) (*node, error) {
	dir := b.root
	for i, c := range parts[:len(parts)-1] {
		next, ok := dir.children[c]
		if !ok {
			next = newDir()
			dir.children[c] = next
			b.n++
		} else if !next.e.IsDir() || next.e.Flags&Whiteout != 0 {
			return nil, fmt.Errorf("%w: %s is not a directory", ErrConflict, strings.Join(parts[:i+1], "/"))
		}
		dir = next
	}
	return dir, nil
}

// Add puts e at path. Adding a directory where a directory already is
// updates its metadata and keeps its children (tars may name a directory
// twice); any other duplicate is an ErrConflict. e.Name and e.Parent are
// ignored; the rest is taken as it is, so the caller chooses Mode's type bits.
func (b *Builder) Add(path string, e Entry) error {
	parts, err := SplitPath(path)
	if err != nil {
		return fmt.Errorf("%w: %q", err, path)
	}
	if err := checkEntry(&e); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if len(parts) == 0 {
		if !e.IsDir() {
			return fmt.Errorf("%w: the root must be a directory", ErrConflict)
		}
		b.root.e = mergeDir(b.root.e, e)
		return nil
	}
	dir, err := b.parentOf(parts)
	if err != nil {
		return err
	}
	name := parts[len(parts)-1]
	if old, ok := dir.children[name]; ok {
		if old.e.IsDir() && old.e.Flags&Whiteout == 0 && e.IsDir() && e.Flags&Whiteout == 0 {
			old.e = mergeDir(old.e, e)
			return nil
		}
		return fmt.Errorf("%w: %s appears twice", ErrConflict, path)
	}
	n := &node{e: e}
	if e.IsDir() {
		n.children = map[string]*node{}
	}
	dir.children[name] = n
	b.n++
	return nil
}

// mergeDir gives an existing directory the metadata of a new entry for it,
// keeping an opaque marker that arrived first.
func mergeDir(old, e Entry) Entry {
	opaque := (e.Flags | old.Flags) & Opaque
	if e.Flags&Implicit != 0 && old.Flags&Implicit == 0 {
		e = old
	}
	e.Flags |= opaque
	return e
}

func checkEntry(e *Entry) error {
	if e.Flags&^(Whiteout|Opaque|Implicit) != 0 {
		return fmt.Errorf("%w: unknown flags %#x", ErrConflict, uint16(e.Flags))
	}
	if e.Flags&Whiteout != 0 {
		e.Mode, e.Size, e.Rdev, e.Digest, e.Linkname, e.Xattrs = TypeChar, 0, 0, Digest{}, "", nil
		e.Flags = Whiteout
		return nil
	}
	switch e.Type() {
	case TypeReg:
		if e.Size < 0 {
			return fmt.Errorf("%w: negative size", ErrConflict)
		}
		if e.Size > 0 && e.Digest.IsZero() {
			return fmt.Errorf("%w: file with content but no digest", ErrConflict)
		}
	case TypeLink:
		if e.Linkname == "" || strings.IndexByte(e.Linkname, 0) >= 0 {
			return fmt.Errorf("%w: bad symlink target", ErrConflict)
		}
		e.Size = int64(len(e.Linkname))
		// Linux ignores a symlink's permission bits and always shows 0777;
		// the index holds what the filesystem will show.
		e.Mode = TypeLink | 0o777
	case TypeDir, TypeChar, TypeBlock, TypeFifo, TypeSock:
	default:
		return fmt.Errorf("%w: unknown file type %o", ErrConflict, e.Mode&TypeMask)
	}
	if e.Flags&(Opaque|Implicit) != 0 && !e.IsDir() {
		return fmt.Errorf("%w: only directories are opaque or implicit", ErrConflict)
	}
	for _, x := range e.Xattrs {
		if x.Name == "" || strings.IndexByte(x.Name, 0) >= 0 {
			return fmt.Errorf("%w: bad xattr name %q", ErrConflict, x.Name)
		}
	}
	return nil
}

// Whiteout records that path hides whatever lower layers have there.
func (b *Builder) Whiteout(path string) error {
	return b.Add(path, Entry{Flags: Whiteout})
}

// SetOpaque marks the directory at path opaque, creating it implicitly when
// the layer has not named it (yet).
func (b *Builder) SetOpaque(path string) error {
	parts, err := SplitPath(path)
	if err != nil {
		return fmt.Errorf("%w: %q", err, path)
	}
	n := b.root
	if len(parts) > 0 {
		dir, err := b.parentOf(parts)
		if err != nil {
			return err
		}
		name := parts[len(parts)-1]
		n = dir.children[name]
		if n == nil {
			n = newDir()
			dir.children[name] = n
			b.n++
		}
	}
	if !n.e.IsDir() || n.e.Flags&Whiteout != 0 {
		return fmt.Errorf("%w: opaque marker in %s, which is not a directory", ErrConflict, path)
	}
	n.e.Flags |= Opaque
	return nil
}

// Hardlink adds path as another name of the non-directory at target, which
// must already be in the tree (tar hard links point backwards).
func (b *Builder) Hardlink(path, target string) error {
	t, err := b.find(target)
	if err != nil {
		return fmt.Errorf("hard link %s to %s: %w", path, target, err)
	}
	if t.e.IsDir() || t.e.Flags&Whiteout != 0 {
		return fmt.Errorf("%w: hard link %s to %s, which is not a file", ErrConflict, path, target)
	}
	if err := b.Add(path, t.e); err != nil {
		return err
	}
	n, _ := b.find(path)
	if t.group == nil {
		t.group = &group{}
	}
	n.group = t.group
	return nil
}

func (b *Builder) find(path string) (*node, error) {
	parts, err := SplitPath(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %q", err, path)
	}
	n := b.root
	for _, c := range parts {
		next := n.children[c]
		if next == nil {
			return nil, fmt.Errorf("%w: %s is not in the layer", ErrConflict, path)
		}
		n = next
	}
	return n, nil
}

// Stat returns the entry at path, if the tree has one.
func (b *Builder) Stat(path string) (Entry, bool) {
	n, err := b.find(path)
	if err != nil {
		return Entry{}, false
	}
	return n.e, true
}

// remove deletes the node at parts and everything under it.
func (b *Builder) remove(parts []string) {
	dir := b.root
	for _, c := range parts[:len(parts)-1] {
		dir = dir.children[c]
		if dir == nil || dir.children == nil {
			return
		}
	}
	if n := dir.children[parts[len(parts)-1]]; n != nil {
		b.n -= count(n)
		delete(dir.children, parts[len(parts)-1])
	}
}

func count(n *node) int {
	c := 1
	for _, ch := range n.children {
		c += count(ch)
	}
	return c
}

// Build numbers the tree breadth-first, resolves hard-link groups and
// encodes it. The Builder can be used again afterwards.
func (b *Builder) Build() (*Index, error) {
	type item struct {
		n      *node
		parent uint32
		name   string
	}
	order := make([]item, 0, b.n)
	order = append(order, item{n: b.root})
	for i := 0; i < len(order); i++ {
		n := order[i].n
		if len(n.children) == 0 {
			continue
		}
		names := make([]string, 0, len(n.children))
		for name := range n.children {
			names = append(names, name)
		}
		sort.Strings(names)
		for _, name := range names {
			order = append(order, item{n: n.children[name], parent: uint32(i), name: name})
		}
	}
	ents := make([]Entry, len(order))
	leader := map[*group]uint32{}
	members := map[*group]uint32{}
	for i, it := range order {
		e := it.n.e
		e.Name, e.Parent, e.Link, e.Nlink = it.name, it.parent, NoLink, 1
		if g := it.n.group; g != nil {
			if l, ok := leader[g]; ok {
				e.Link = l
			} else {
				leader[g] = uint32(i)
				e.Link = uint32(i)
			}
			members[g]++
		}
		ents[i] = e
	}
	for i, it := range order {
		e := &ents[i]
		if g := it.n.group; g != nil {
			if members[g] == 1 {
				e.Link = NoLink
				continue
			}
			e.Nlink = members[g]
			if l := e.Link; l != uint32(i) {
				// Members share the leader's inode and so its metadata.
				name, parent, link := e.Name, e.Parent, e.Link
				*e = ents[l]
				e.Name, e.Parent, e.Link = name, parent, link
			}
		}
		if e.IsDir() && e.Flags&Whiteout == 0 {
			e.Nlink = 2
		}
	}
	for i := 1; i < len(ents); i++ {
		if ents[i].IsDir() && ents[i].Flags&Whiteout == 0 {
			ents[ents[i].Parent].Nlink++
		}
	}
	return encode(ents)
}
