//go:build linux

package posixtest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// Entry is one entry of a layer. Whiteout and Opaque mean what they mean
// in an OCI layer; a Setup writes them in whatever form its lowers use.
type Entry struct {
	Path     string
	Mode     uint32 // type and permission bits; 0 means a regular file 0644
	Data     string // content of a regular file
	Size     int64  // when larger than Data: the file is sparse, Data at 0 and a hole up to Size
	Target   string // symlink target
	Link     string // a hard link to the earlier entry at this path
	Rdev     uint64 // device number of a device
	UID, GID int
	Xattrs   map[string]string
	Whiteout bool // hides Path in the layers below
	Opaque   bool // a directory that hides the layers below
}

// Layer is a list of entries, parents before children.
type Layer []Entry

// Time is the modification time of every entry a Setup writes.
var Time = time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)

// Dir, File, Symlink, Whiteout and Opaque make entries tersely.
func Dir(path string) Entry { return Entry{Path: path, Mode: syscall.S_IFDIR | 0o755} }
func File(path, data string) Entry {
	return Entry{Path: path, Mode: syscall.S_IFREG | 0o644, Data: data}
}
func Symlink(path, target string) Entry {
	return Entry{Path: path, Mode: syscall.S_IFLNK | 0o777, Target: target}
}
func Hardlink(path, to string) Entry { return Entry{Path: path, Link: to} }
func Whiteout(path string) Entry     { return Entry{Path: path, Whiteout: true} }
func OpaqueDir(path string) Entry {
	return Entry{Path: path, Mode: syscall.S_IFDIR | 0o755, Opaque: true}
}

// Type returns the file type bits of the entry.
func (e *Entry) Type() uint32 {
	if e.Mode == 0 {
		return syscall.S_IFREG
	}
	return e.Mode & syscall.S_IFMT
}

// Perm returns the permission bits of the entry.
func (e *Entry) Perm() uint32 {
	if e.Mode == 0 {
		return 0o644
	}
	return e.Mode & 0o7777
}

// WhiteoutStyle is how WriteDir writes whiteouts and opaque directories.
type WhiteoutStyle int

const (
	// OCI writes ".wh.NAME" files and ".wh..wh..opq".
	OCI WhiteoutStyle = iota
	// Overlay writes character devices 0:0 and trusted.overlay.opaque,
	// as kernel overlayfs reads them.
	Overlay
	// UserOverlay is Overlay with user.overlay.opaque, for overlayfs's
	// "userxattr" and unprivileged fuse-overlayfs.
	UserOverlay
	// None applies nothing: the layer must have no whiteouts.
	None
)

// WriteDir writes layer into dir, which exists, as a plain directory.
func WriteDir(dir string, layer Layer, style WhiteoutStyle) error {
	for _, e := range layer {
		p := filepath.Join(dir, e.Path)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := writeEntry(p, &e, style, dir); err != nil {
			return fmt.Errorf("write %s: %w", e.Path, err)
		}
	}
	return nil
}

func writeEntry(p string, e *Entry, style WhiteoutStyle, root string) error {
	switch {
	case e.Whiteout:
		switch style {
		case OCI:
			return os.WriteFile(filepath.Join(filepath.Dir(p), ".wh."+filepath.Base(p)), nil, 0o644)
		case Overlay, UserOverlay:
			return unix.Mknod(p, syscall.S_IFCHR, 0)
		}
		return fmt.Errorf("whiteout in a layer without whiteouts")
	case e.Link != "":
		return os.Link(filepath.Join(root, e.Link), p)
	}
	switch e.Type() {
	case syscall.S_IFDIR:
		if err := os.Mkdir(p, 0o755); err != nil && !os.IsExist(err) {
			return err
		}
		if e.Opaque {
			switch style {
			case OCI:
				if err := os.WriteFile(filepath.Join(p, ".wh..wh..opq"), nil, 0o644); err != nil {
					return err
				}
			case Overlay:
				if err := unix.Lsetxattr(p, "trusted.overlay.opaque", []byte("y"), 0); err != nil {
					return err
				}
			case UserOverlay:
				if err := unix.Lsetxattr(p, "user.overlay.opaque", []byte("y"), 0); err != nil {
					return err
				}
			}
		}
	case syscall.S_IFREG:
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = f.WriteString(e.Data)
		if err == nil && e.Size > int64(len(e.Data)) {
			err = f.Truncate(e.Size)
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case syscall.S_IFLNK:
		if err := os.Symlink(e.Target, p); err != nil {
			return err
		}
	default:
		if err := unix.Mknod(p, e.Type()|e.Perm(), int(e.Rdev)); err != nil {
			return err
		}
	}
	for k, v := range e.Xattrs {
		if err := unix.Lsetxattr(p, k, []byte(v), 0); err != nil {
			return err
		}
	}
	// In a user namespace an unmapped id cannot be given (EINVAL): the
	// entry keeps the writer's, and cases compare owners before and after.
	if err := os.Lchown(p, e.UID, e.GID); err != nil && !errors.Is(err, syscall.EINVAL) {
		return err
	}
	if e.Type() != syscall.S_IFLNK {
		if err := os.Chmod(p, os.FileMode(e.Perm())|modeBits(e.Perm())); err != nil {
			return err
		}
	}
	ts := []unix.Timespec{unix.NsecToTimespec(Time.UnixNano()), unix.NsecToTimespec(Time.UnixNano())}
	return unix.UtimesNanoAt(unix.AT_FDCWD, p, ts, unix.AT_SYMLINK_NOFOLLOW)
}

func modeBits(perm uint32) os.FileMode {
	var m os.FileMode
	if perm&syscall.S_ISUID != 0 {
		m |= os.ModeSetuid
	}
	if perm&syscall.S_ISGID != 0 {
		m |= os.ModeSetgid
	}
	if perm&syscall.S_ISVTX != 0 {
		m |= os.ModeSticky
	}
	return m
}

// Flatten applies layers (top first) to each other and returns the one
// layer a union of them shows, for references that have no layers.
func Flatten(layers []Layer) Layer {
	type item struct {
		e     Entry
		order int
	}
	tree := map[string]*item{}
	n := 0
	under := func(dir string) []string {
		var out []string
		for p := range tree {
			if strings.HasPrefix(p, dir+"/") {
				out = append(out, p)
			}
		}
		return out
	}
	for i := len(layers) - 1; i >= 0; i-- {
		for _, e := range layers[i] {
			p := filepath.Clean(e.Path)
			old := tree[p]
			if e.Whiteout {
				delete(tree, p)
				for _, q := range under(p) {
					delete(tree, q)
				}
				continue
			}
			isDir := e.Link == "" && e.Type() == syscall.S_IFDIR
			if old == nil || !isDir || old.e.Link != "" || old.e.Type() != syscall.S_IFDIR || e.Opaque {
				for _, q := range under(p) {
					delete(tree, q)
				}
			}
			ne := e
			ne.Opaque = false
			n++
			tree[p] = &item{ne, n}
		}
	}
	var out Layer
	paths := make([]string, 0, len(tree))
	for p := range tree {
		paths = append(paths, p)
	}
	// Parents before children; a hard link after its target.
	sort.Slice(paths, func(i, j int) bool {
		di, dj := strings.Count(paths[i], "/"), strings.Count(paths[j], "/")
		if di != dj {
			return di < dj
		}
		return tree[paths[i]].order < tree[paths[j]].order
	})
	var links Layer
	for _, p := range paths {
		e := tree[p].e
		e.Path = p
		if e.Link != "" {
			links = append(links, e)
			continue
		}
		out = append(out, e)
	}
	return append(out, links...)
}
