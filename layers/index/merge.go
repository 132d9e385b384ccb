package index

// Merge flattens layer indexes, given bottom layer first, into one index of
// the tree a union mount of them shows: a whiteout removes the name below
// it, an opaque directory hides everything lower layers had inside it, a
// non-directory replaces whatever was at its name, and a directory over a
// directory merges with it (taking the upper metadata unless the upper one
// is implicit). Hard links stay grouped with the names of their own layer
// that survive. The result has no whiteouts and no flags.
//
// Lookups in the result cost the same however many layers there were, which
// is why the filesystem mounts a flattened index rather than a stack.
func Merge(layers ...*Index) (*Index, error) {
	b := NewBuilder()
	b.root.e.Flags = 0
	for _, x := range layers {
		nodes := make([]*node, x.Len())
		nodes[0] = b.root
		if fl := x.Flags(0); fl&Opaque != 0 {
			b.clear(b.root)
		}
		if x.Flags(0)&Implicit == 0 {
			b.root.e = plain(x.Entry(0))
		}
		groups := map[uint32]*group{}
		for i := uint32(1); i < uint32(x.Len()); i++ {
			dir := nodes[x.Parent(i)]
			name := x.Name(i)
			fl := x.Flags(i)
			old := dir.children[name]
			if fl&Whiteout != 0 {
				if old != nil {
					b.n -= count(old)
					delete(dir.children, name)
				}
				continue
			}
			if x.IsDir(i) && old != nil && old.e.IsDir() {
				if fl&Opaque != 0 {
					b.clear(old)
				}
				if fl&Implicit == 0 {
					old.e = plain(x.Entry(i))
				}
				nodes[i] = old
				continue
			}
			n := &node{e: plain(x.Entry(i))}
			if x.IsDir(i) {
				n.children = map[string]*node{}
			} else if l := x.Link(i); l != NoLink {
				if groups[l] == nil {
					groups[l] = &group{}
				}
				n.group = groups[l]
			}
			if old != nil {
				b.n -= count(old)
			}
			dir.children[name] = n
			b.n++
			nodes[i] = n
		}
	}
	return b.Build()
}

// plain drops what is particular to one layer: its flags and its numbering.
func plain(e Entry) Entry {
	e.Flags, e.Link, e.Nlink, e.Name, e.Parent = 0, NoLink, 0, "", 0
	return e
}

func (b *Builder) clear(dir *node) {
	for name, ch := range dir.children {
		b.n -= count(ch)
		delete(dir.children, name)
	}
}
