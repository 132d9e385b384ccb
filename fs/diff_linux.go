package fs

import (
	"archive/tar"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/layers/index"
)

// WriteDiff writes the changes an upper directory holds as an OCI layer
// tar to w: what `strata commit` turns into one new layer. It reads the
// upper's format (see the package doc): ".wh.NAME" files and overlayfs
// character-device whiteouts become OCI whiteouts; an opaque directory
// (".wh..wh..opq", the overlay opaque xattrs, or a directory beside its
// own whiteout) gets an OCI opaque marker; a metadata-only copy takes its
// content from objectsDir; owner, mode and device number overrides are
// applied; private xattrs are left out; hard links inside the upper stay
// hard links. The upper must not be mounted while this runs.
func WriteDiff(ctx context.Context, w io.Writer, upperDir, objectsDir string, opts DiffOptions) error {
	d := &differ{tw: tar.NewWriter(w), upper: upperDir, objects: objectsDir, links: map[[2]uint64]string{}, opts: opts}
	if err := d.dir(ctx, ""); err != nil {
		return fmt.Errorf("diff %s: %w", upperDir, err)
	}
	return d.tw.Close()
}

// DiffOptions are the choices of WriteDiff.
type DiffOptions struct {
	// UIDMap and GIDMap are the user namespace the upper was written in,
	// when it was not the caller's: an unprivileged container's root
	// writes files the host sees owned by the user who ran it. Owners on
	// disk are mapped back to the container's ids (unmapped ones become
	// 65534, as the kernel shows them); nil maps nothing.
	UIDMap, GIDMap []IDMap
	// Skip leaves out the entries (paths relative to the root, no leading
	// slash) it returns true for, and everything below them.
	Skip func(rel string) bool
}

// IDMap maps Size ids from HostID on to ContainerID on, as a line of
// /proc/PID/uid_map does.
type IDMap struct {
	ContainerID, HostID, Size uint32
}

func mapID(m []IDMap, host uint32) uint32 {
	if m == nil {
		return host
	}
	for _, r := range m {
		if host >= r.HostID && host-r.HostID < r.Size {
			return r.ContainerID + (host - r.HostID)
		}
	}
	return 65534
}

// ChangeKind is what happened to a path, as `docker diff` prints it.
type ChangeKind byte

const (
	Added    ChangeKind = 'A'
	Changed  ChangeKind = 'C'
	Deleted  ChangeKind = 'D'
	unmarked ChangeKind = 0
)

// Change is one line of `strata diff`.
type Change struct {
	Kind ChangeKind
	Path string // absolute, in the container
}

// Changes lists what the upper directory changed relative to the lower
// tree (the image's flattened index), sorted by path.
func Changes(ctx context.Context, upperDir string, lower *index.Index) ([]Change, error) {
	var out []Change
	err := walkUpper(ctx, upperDir, "", func(rel string, whiteout bool, _ os.FileInfo) error {
		kind := Added
		if _, ok := lower.Resolve(rel); ok {
			kind = Changed
		}
		if whiteout {
			if kind == Added {
				return nil // hides nothing of the image
			}
			kind = Deleted
		}
		out = append(out, Change{Kind: kind, Path: "/" + rel})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, err
}

// walkUpper calls fn for every name of the upper below rel: whiteouts once
// for the name they hide, everything else with its lstat.
func walkUpper(ctx context.Context, upper, rel string, fn func(rel string, whiteout bool, fi os.FileInfo) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ents, err := os.ReadDir(filepath.Join(upper, rel))
	if err != nil {
		return err
	}
	present := map[string]bool{}
	for _, e := range ents {
		present[e.Name()] = true
	}
	for _, e := range ents {
		name := e.Name()
		p := joinPath(rel, name)
		switch {
		case name == whOpaque:
			continue
		case strings.HasPrefix(name, whPrefix):
			if !present[name[len(whPrefix):]] {
				if err := fn(joinPath(rel, name[len(whPrefix):]), true, nil); err != nil {
					return err
				}
			}
			continue
		}
		fi, err := os.Lstat(filepath.Join(upper, p))
		if err != nil {
			return err
		}
		if isWhiteoutDev(fi) {
			if err := fn(p, true, nil); err != nil {
				return err
			}
			continue
		}
		if err := fn(p, false, fi); err == errSkipDir {
			continue
		} else if err != nil {
			return err
		}
		if fi.IsDir() {
			if err := walkUpper(ctx, upper, p, fn); err != nil {
				return err
			}
		}
	}
	return nil
}

// errSkipDir, from a walkUpper callback, skips a directory's contents.
var errSkipDir = errors.New("skip this directory")

// isWhiteoutDev reports an overlayfs whiteout: a character device 0:0.
func isWhiteoutDev(fi os.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && fi.Mode()&os.ModeCharDevice != 0 && st.Rdev == 0
}

type differ struct {
	tw      *tar.Writer
	upper   string
	objects string
	links   map[[2]uint64]string // (dev, ino) → first path, for hard links
	opts    DiffOptions
}

func (d *differ) dir(ctx context.Context, rel string) error {
	return walkUpper(ctx, d.upper, rel, func(p string, whiteout bool, fi os.FileInfo) error {
		if d.opts.Skip != nil && d.opts.Skip(p) {
			if fi != nil && fi.IsDir() {
				return errSkipDir
			}
			return nil
		}
		if whiteout {
			dir, name := splitPath(p)
			return d.tw.WriteHeader(&tar.Header{
				Typeflag: tar.TypeReg, Name: joinPath(dir, whPrefix+name), Mode: 0o644,
				ModTime: time.Unix(0, 0), Format: tar.FormatPAX,
			})
		}
		return d.entry(p, fi)
	})
}

func splitPath(p string) (dir, name string) {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[:i], p[i+1:]
	}
	return "", p
}

func (d *differ) entry(p string, fi os.FileInfo) error {
	abs := filepath.Join(d.upper, p)
	st := fi.Sys().(*syscall.Stat_t)
	hdr := &tar.Header{
		Name: p, Mode: int64(st.Mode & 0o7777),
		Uid: int(mapID(d.opts.UIDMap, st.Uid)), Gid: int(mapID(d.opts.GIDMap, st.Gid)),
		ModTime: time.Unix(st.Mtim.Sec, st.Mtim.Nsec), Format: tar.FormatPAX,
	}
	mode := st.Mode
	rdev := uint64(st.Rdev)
	meta, xattrs, err := readXattrs(abs)
	if err != nil {
		return err
	}
	if s := meta.stat; s != nil {
		hdr.Uid, hdr.Gid, hdr.Mode = int(s.uid), int(s.gid), int64(s.mode&0o7777)
		mode, rdev = s.mode, s.rdev
	}
	if len(xattrs) > 0 {
		hdr.PAXRecords = map[string]string{}
		for _, x := range xattrs {
			hdr.PAXRecords["SCHILY.xattr."+x.Name] = x.Value
		}
	}
	var content func() (io.ReadCloser, error)
	switch mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		hdr.Typeflag, hdr.Name = tar.TypeDir, p+"/"
	case syscall.S_IFLNK:
		target, err := os.Readlink(abs)
		if err != nil {
			return err
		}
		hdr.Typeflag, hdr.Linkname = tar.TypeSymlink, target
	case syscall.S_IFCHR, syscall.S_IFBLK:
		hdr.Typeflag = tar.TypeChar
		if mode&syscall.S_IFMT == syscall.S_IFBLK {
			hdr.Typeflag = tar.TypeBlock
		}
		hdr.Devmajor, hdr.Devminor = int64(unix.Major(rdev)), int64(unix.Minor(rdev))
	case syscall.S_IFIFO:
		hdr.Typeflag = tar.TypeFifo
	case syscall.S_IFSOCK:
		return nil // sockets have no place in a layer, as in tar
	case syscall.S_IFREG:
		hdr.Typeflag, hdr.Size = tar.TypeReg, st.Size
		if st.Nlink > 1 {
			key := [2]uint64{uint64(st.Dev), st.Ino}
			if first, ok := d.links[key]; ok {
				hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeLink, first, 0
				return d.tw.WriteHeader(hdr)
			}
			d.links[key] = p
		}
		content = func() (io.ReadCloser, error) { return os.Open(abs) }
		if meta.metacopy != "" {
			obj := filepath.Join(d.objects, meta.metacopy[:2], meta.metacopy)
			content = func() (io.ReadCloser, error) { return os.Open(obj) }
		}
	default:
		return fmt.Errorf("%s: unexpected file type %o", p, mode&syscall.S_IFMT)
	}
	if err := d.tw.WriteHeader(hdr); err != nil {
		return err
	}
	if content != nil && hdr.Size > 0 {
		f, err := content()
		if err != nil {
			return err
		}
		n, err := io.Copy(d.tw, io.LimitReader(f, hdr.Size))
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p, err)
		}
		if n != hdr.Size {
			return fmt.Errorf("%s: content is %d bytes, not %d", p, n, hdr.Size)
		}
	}
	if hdr.Typeflag == tar.TypeDir && d.opaque(p, abs) {
		return d.tw.WriteHeader(&tar.Header{
			Typeflag: tar.TypeReg, Name: joinPath(p, whOpaque), Mode: 0o644,
			ModTime: time.Unix(0, 0), Format: tar.FormatPAX,
		})
	}
	return nil
}

// opaque reports whether the upper directory hides the lowers' one.
func (d *differ) opaque(rel, abs string) bool {
	if _, err := os.Lstat(filepath.Join(abs, whOpaque)); err == nil {
		return true
	}
	dir, name := splitPath(rel)
	if _, err := os.Lstat(filepath.Join(d.upper, dir, whPrefix+name)); err == nil {
		return true
	}
	for _, x := range []string{"trusted.overlay.opaque", "user.overlay.opaque"} {
		buf := make([]byte, 8)
		if n, err := unix.Lgetxattr(abs, x, buf); err == nil && n == 1 && buf[0] == 'y' {
			return true
		}
	}
	return false
}

// readXattrs returns our private metadata and the xattrs that belong in a
// layer (all but ours and overlayfs's).
func readXattrs(abs string) (upperMeta, []index.Xattr, error) {
	var meta upperMeta
	names, err := xattrNames(func(b []byte) (int, error) { return unix.Llistxattr(abs, b) })
	if err != nil {
		if errors.Is(err, unix.ENOTSUP) {
			return meta, nil, nil
		}
		return meta, nil, err
	}
	var out []index.Xattr
	for _, name := range names {
		raw, err := xattrValue(func(b []byte) (int, error) { return unix.Lgetxattr(abs, name, b) })
		if err != nil {
			if errors.Is(err, unix.ENODATA) {
				continue
			}
			return meta, nil, err
		}
		v := string(raw)
		switch {
		case name == xattrMetacopy:
			if _, err := hex.DecodeString(v); err == nil && len(v) == 64 {
				meta.metacopy = v
			}
		case name == xattrStat:
			meta.stat, _ = parseStatOverride(v)
		case strings.HasPrefix(name, xattrPrefix), strings.HasPrefix(name, "trusted.overlay."),
			strings.HasPrefix(name, "user.overlay."):
		default:
			out = append(out, index.Xattr{Name: name, Value: v})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return meta, out, nil
}
