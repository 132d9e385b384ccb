package fs

import (
	"context"
	"sort"
	"strings"
	"sync"
	"syscall"

	fusefs "github.com/hanwen/go-fuse/v2/fs"
	"github.com/hanwen/go-fuse/v2/fuse"
)

// dirHandle is an open directory: a snapshot of the merged listing, taken
// at the first read and again after a rewind, sorted by name so that every
// reader sees the same order.
type dirHandle struct {
	d *node

	mu      sync.Mutex
	loaded  bool
	names   []string
	entries map[string]*found
	pos     int
	last    *found // entry of the last name handed out, for READDIRPLUS
	lastNm  string
}

var (
	_ fusefs.NodeOpendirHandler = (*node)(nil)
	_ fusefs.FileReaddirenter   = (*dirHandle)(nil)
	_ fusefs.FileLookuper       = (*dirHandle)(nil)
	_ fusefs.FileSeekdirer      = (*dirHandle)(nil)
	_ fusefs.FileFsyncdirer     = (*dirHandle)(nil)
)

// OpendirHandle makes the handle each READDIR request is served through
// (see noOpendir: the kernel itself opens no directory). The flags matter
// only to a server mounted without noOpendir.
func (d *node) OpendirHandle(ctx context.Context, flags uint32) (fusefs.FileHandle, uint32, syscall.Errno) {
	var fl uint32
	if s := d.snapshot(); !s.upper {
		// A directory only the lowers have cannot change without the
		// kernel seeing it: any change creates its upper first, through
		// an operation that drops the cached listing.
		fl = fuse.FOPEN_CACHE_DIR | fuse.FOPEN_KEEP_CACHE
	}
	return &dirHandle{d: d}, fl, 0
}

// merged reads directory d of every layer and merges them.
func (u *union) merged(d *node) ([]string, map[string]*found, syscall.Errno) {
	s := d.snapshot()
	dir, errno := d.relPath()
	if errno != 0 && !s.orphan {
		return nil, nil, errno
	}
	return u.mergedAt(dir, &s)
}

// mergedAt lists the directory at dir whose layers are s.
func (u *union) mergedAt(dir string, s *state) ([]string, map[string]*found, syscall.Errno) {
	u.listings.Add(1)
	entries := map[string]*found{}
	if s.orphan {
		return nil, entries, 0
	}
	get := func(name string) *found {
		f := entries[name]
		if f == nil {
			f = &found{}
			entries[name] = f
		}
		return f
	}
	if s.upper {
		names, err := readDirNames(u.upperFd, relPath(dir))
		if err != nil {
			return nil, nil, errnoOf(err)
		}
		var whiteouts []string
		for _, name := range names {
			switch {
			case name == whOpaque:
				continue
			case strings.HasPrefix(name, whPrefix):
				whiteouts = append(whiteouts, name[len(whPrefix):])
				continue
			}
			f := get(name)
			wh, errno := u.statUpper(joinPath(dir, name), f)
			if errno == syscall.ENOENT {
				delete(entries, name)
				continue
			}
			if errno != 0 {
				return nil, nil, errno
			}
			if wh || !f.ua.isDir() {
				f.done = true
			}
		}
		for _, name := range whiteouts {
			f := get(name)
			if f.upper && f.ua.isDir() {
				f.opaque = true // see resolve: an upper directory beside its whiteout hides the lowers
			}
			f.done = true
		}
	}
	if !s.opaque {
		for _, lr := range s.lowers {
			err := u.layers[lr.layer].list(lr.ref, func(name string, e lentry) {
				if strings.HasPrefix(name, whPrefix) {
					return
				}
				get(name).addLower(u.layers, lr.layer, e)
			})
			if err != nil {
				return nil, nil, errnoOf(err)
			}
		}
	}
	names := make([]string, 0, len(entries))
	for name, f := range entries {
		if f.visible() {
			names = append(names, name)
		} else {
			delete(entries, name)
		}
	}
	sort.Strings(names)
	return names, entries, 0
}

func (h *dirHandle) load() syscall.Errno {
	if h.loaded {
		return 0
	}
	names, entries, errno := h.d.u.merged(h.d)
	if errno != 0 {
		return errno
	}
	h.names, h.entries, h.pos, h.loaded = names, entries, 0, true
	return 0
}

// Readdirent hands out ".", ".." and then the merged names; an entry's
// offset is its position plus one.
func (h *dirHandle) Readdirent(ctx context.Context) (*fuse.DirEntry, syscall.Errno) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if errno := h.load(); errno != 0 {
		return nil, errno
	}
	h.last = nil
	i := h.pos
	switch {
	case i == 0:
		h.pos++
		return &fuse.DirEntry{Name: ".", Mode: syscall.S_IFDIR, Ino: h.d.StableAttr().Ino, Off: 1}, 0
	case i == 1:
		h.pos++
		ino := h.d.StableAttr().Ino
		if _, p := h.d.Parent(); p != nil {
			ino = p.StableAttr().Ino
		}
		return &fuse.DirEntry{Name: "..", Mode: syscall.S_IFDIR, Ino: ino, Off: 2}, 0
	case i-2 >= len(h.names):
		return nil, 0
	}
	name := h.names[i-2]
	f := h.entries[name]
	h.pos++
	h.last, h.lastNm = f, name
	a := f.attr()
	return &fuse.DirEntry{Name: name, Mode: a.mode & syscall.S_IFMT, Ino: a.ino, Off: uint64(h.pos)}, 0
}

// Lookup answers READDIRPLUS from the listing: what the merge learnt about
// the name is all a lookup would learn, but for the opaque marker of an
// upper directory that lowers may merge into.
func (h *dirHandle) Lookup(ctx context.Context, name string, out *fuse.EntryOut) (*fusefs.Inode, syscall.Errno) {
	h.mu.Lock()
	f := h.last
	if h.lastNm != name {
		f = nil
	}
	h.mu.Unlock()
	if f == nil {
		return h.d.Lookup(ctx, name, out)
	}
	if f.upper && f.ua.isDir() && len(f.lowers) > 0 && !f.opaque {
		dir, errno := h.d.relPath()
		if errno != 0 {
			return nil, errno
		}
		rel := joinPath(dir, name)
		if dirIsOpaque(h.d.u.upperFd, rel, h.d.u.abs(rel)) {
			g := *f
			g.opaque, g.lowers = true, nil
			f = &g
		}
	}
	return h.d.child(ctx, f, out), 0
}

func (h *dirHandle) Seekdir(ctx context.Context, off uint64) syscall.Errno {
	h.mu.Lock()
	defer h.mu.Unlock()
	if off == 0 {
		h.loaded = false // a rewind sees changes made since the open
		return h.load()
	}
	if errno := h.load(); errno != 0 {
		return errno
	}
	if off > uint64(len(h.names)+2) {
		return syscall.EINVAL
	}
	h.pos = int(off)
	return 0
}

func (h *dirHandle) Fsyncdir(ctx context.Context, flags uint32) syscall.Errno {
	s := h.d.snapshot()
	if !s.upper || h.d.u.readOnly() {
		return 0
	}
	dir, errno := h.d.relPath()
	if errno != 0 {
		return errno
	}
	fd, err := openBeneath(h.d.u.upperFd, relPath(dir), syscall.O_RDONLY|syscall.O_DIRECTORY)
	if err != nil {
		return errnoOf(err)
	}
	defer syscall.Close(fd)
	return errnoOf(syscall.Fsync(fd))
}
