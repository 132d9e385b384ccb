package build

import (
	"archive/tar"
	"bufio"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	goruntime "runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/strata-engine/strata/layers/archive"
	"github.com/strata-engine/strata/layers/index"
)

// copyItem is one entry of a COPY/ADD layer.
type copyItem struct {
	name  string // in the image: cleaned, relative to the root
	typ   byte   // tar.TypeDir, TypeReg, TypeSymlink; archiveItem for a tar to extract
	host  string // regular files and archives: where the content is
	mode  int64  // permission and set-id bits
	uid   int
	gid   int
	mtime time.Time
	size  int64
	link  string
	data  []byte // inline content (heredocs)
}

// archiveItem marks a local tar that ADD extracts into name.
const archiveItem = 'A'

// copyPlan is everything a COPY/ADD writes, in tar order, and the digest
// of it (metadata and content): the cache key's share of the sources.
type copyPlan struct {
	items []copyItem
	sum   string // hex sha256
	kind  string // "file", "dir" or "multi", for the history line
}

// copyRequest is a COPY or ADD after expansion.
type copyRequest struct {
	add     bool
	srcs    []string // patterns, relative to the context or the --from root
	inline  []inlineFile
	dest    string // absolute, after WORKDIR
	destDir bool   // dest ends with a slash
	chown   *owner
	chmod   *int64
}

type inlineFile struct {
	name string
	data string
}

type owner struct{ uid, gid int }

// errNoSource is returned for a COPY without sources.
var errNoSource = errors.New("no source files were specified")

// planCopy lists what copying req.srcs from ctx to req.dest adds on top of
// the image whose flattened index is x (nil for scratch).
func planCopy(ctx context.Context, bc sourceTree, x *index.Index, req copyRequest) (*copyPlan, error) {
	var found []source
	for _, pat := range req.srcs {
		if req.add && (strings.HasPrefix(pat, "http://") || strings.HasPrefix(pat, "https://") || strings.HasPrefix(pat, "git@")) {
			return nil, fmt.Errorf("ADD from a URL (%s) is not supported: download it into the context and ADD or COPY it", pat)
		}
		srcs, err := bc.sources(pat)
		if err != nil {
			return nil, err
		}
		found = append(found, srcs...)
	}
	n := len(found) + len(req.inline)
	if n == 0 {
		return nil, errNoSource
	}
	destDir := req.destDir
	if n > 1 && !destDir {
		return nil, fmt.Errorf("when using COPY with more than one source file, the destination must be a directory and end with a /")
	}
	dest := resolveInImage(x, req.dest)
	if !destDir && isDirInImage(x, dest) {
		destDir = true
	}
	p := &copyPlan{kind: "file"}
	if n > 1 {
		p.kind = "multi"
	}
	w := &planner{x: x, chown: req.chown, chmod: req.chmod, seen: map[string]int{}, now: time.Now()}
	for _, s := range found {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		switch {
		case s.mode.IsDir():
			if n == 1 {
				p.kind = "dir"
			}
			w.parents(dest)
			err := bc.walk(s, func(rel string, e srcEntry) error {
				return w.entry(e, path.Join(dest, rel))
			})
			if err != nil {
				return nil, err
			}
		case req.add && s.mode.IsRegular() && isArchive(s.host):
			w.parents(dest)
			w.add(copyItem{name: dest, typ: archiveItem, host: s.host, size: s.size})
		default:
			target := dest
			if destDir {
				target = path.Join(dest, path.Base("/"+s.rel))
			}
			w.parents(path.Dir(target))
			if err := w.entry(s.srcEntry, target); err != nil {
				return nil, err
			}
		}
	}
	for _, f := range req.inline {
		target := dest
		if destDir {
			target = path.Join(dest, f.name)
		}
		w.parents(path.Dir(target))
		mode := int64(0o644)
		if req.chmod != nil {
			mode = *req.chmod
		}
		uid, gid := w.owner()
		w.add(copyItem{name: target, typ: tar.TypeReg, mode: mode, uid: uid, gid: gid, mtime: w.now, size: int64(len(f.data)), data: []byte(f.data)})
	}
	p.items = w.items
	sum, err := hashPlan(p.items)
	if err != nil {
		return nil, err
	}
	p.sum = sum
	return p, nil
}

// sourceTree is where COPY sources come from: the context, or another
// stage's or image's root (--from).
type sourceTree interface {
	sources(pattern string) ([]source, error)
	walk(s source, fn func(rel string, e srcEntry) error) error
}

type planner struct {
	x     *index.Index
	chown *owner
	chmod *int64
	items []copyItem
	seen  map[string]int // name → position in items
	now   time.Time
}

func (w *planner) owner() (int, int) {
	if w.chown != nil {
		return w.chown.uid, w.chown.gid
	}
	return 0, 0
}

func (w *planner) add(it copyItem) {
	it.name = strings.TrimPrefix(path.Clean("/"+it.name), "/")
	if it.name == "" {
		if it.typ != archiveItem {
			return // the root itself is never an entry
		}
	}
	if i, ok := w.seen[it.name]; ok && it.typ != archiveItem {
		w.items[i] = it // a later source of the same name wins
		return
	}
	w.seen[it.name] = len(w.items)
	w.items = append(w.items, it)
}

// parents adds the directories leading to dir (and dir itself when self):
// those the image has, with the image's metadata so the layer changes
// nothing about them, and new ones as Docker makes them (0755, root, or
// the --chown owner).
func (w *planner) parents(dir string) {
	dir = strings.TrimPrefix(path.Clean("/"+dir), "/")
	if dir == "" {
		return
	}
	parts := strings.Split(dir, "/")
	for i := range parts {
		p := strings.Join(parts[:i+1], "/")
		if _, ok := w.seen[p]; ok {
			continue
		}
		if w.x != nil {
			if e, ok := w.x.Resolve(p); ok && w.x.IsDir(e) {
				ent := w.x.Entry(e)
				w.add(copyItem{name: p, typ: tar.TypeDir, mode: int64(ent.Mode & 0o7777), uid: int(ent.UID), gid: int(ent.GID), mtime: time.Unix(ent.Mtime, int64(ent.MtimeNs))})
				continue
			}
		}
		uid, gid := w.owner()
		w.add(copyItem{name: p, typ: tar.TypeDir, mode: 0o755, uid: uid, gid: gid, mtime: w.now})
	}
}

// entry adds one file, link or directory of a source tree as target.
func (w *planner) entry(e srcEntry, target string) error {
	if strings.HasPrefix(path.Base(target), ".wh.") {
		return fmt.Errorf("cannot copy %s: names starting with .wh. are reserved for layer whiteouts", target)
	}
	uid, gid := w.owner()
	mode := int64(e.mode.Perm())
	if e.mode&fs.ModeSetuid != 0 {
		mode |= 0o4000
	}
	if e.mode&fs.ModeSetgid != 0 {
		mode |= 0o2000
	}
	if e.mode&fs.ModeSticky != 0 {
		mode |= 0o1000
	}
	if w.chmod != nil && e.mode&fs.ModeSymlink == 0 {
		mode = *w.chmod
	}
	it := copyItem{name: target, host: e.host, mode: mode, uid: uid, gid: gid, mtime: e.mtime}
	switch {
	case e.mode.IsRegular():
		it.typ, it.size = tar.TypeReg, e.size
	case e.mode.IsDir():
		it.typ = tar.TypeDir
	case e.mode&fs.ModeSymlink != 0:
		it.typ, it.link = tar.TypeSymlink, e.link
	default:
		return nil // sockets, fifos and devices are not copied
	}
	w.add(it)
	return nil
}

// isArchive reports whether ADD extracts the local file p: a tar,
// possibly gzip, bzip2 or zstd compressed, as Docker detects it (by
// content, not by name).
func isArchive(p string) bool {
	f, err := os.Open(p)
	if err != nil {
		return false
	}
	defer f.Close()
	r, err := openArchive(f)
	if err != nil {
		return false
	}
	_, err = tar.NewReader(r).Next()
	return err == nil
}

func openArchive(f io.Reader) (io.Reader, error) {
	br := bufio.NewReader(f)
	if magic, err := br.Peek(3); err == nil && string(magic) == "BZh" {
		return bzip2.NewReader(br), nil
	}
	rc, _, err := archive.Decompress(br)
	if err != nil {
		return nil, err
	}
	return rc, nil
}

// hashPlan digests the plan: names, types, modes, owners, link targets
// and file contents (mtimes are left out, as Docker's cache does). The
// contents are hashed on all CPUs.
func hashPlan(items []copyItem) (string, error) {
	sums := make([][]byte, len(items))
	errs := make([]error, len(items))
	next := make(chan int)
	var wg sync.WaitGroup
	for range max(1, goruntime.NumCPU()) * 2 {
		wg.Go(func() {
			buf := make([]byte, 64<<10)
			fh := sha256.New()
			for i := range next {
				fh.Reset()
				if errs[i] = hashFile(fh, items[i].host, buf); errs[i] == nil {
					sums[i] = fh.Sum(nil)
				}
			}
		})
	}
	for i, it := range items {
		if it.data == nil && (it.typ == tar.TypeReg || it.typ == archiveItem) {
			next <- i
		}
	}
	close(next)
	wg.Wait()
	h := sha256.New()
	for i, it := range items {
		if errs[i] != nil {
			return "", errs[i]
		}
		fmt.Fprintf(h, "%s\x00%c\x00%o\x00%d:%d\x00%s\x00", it.name, it.typ, it.mode, it.uid, it.gid, it.link)
		if it.data != nil {
			h.Write(it.data)
		} else {
			h.Write(sums[i])
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashFile(h hash.Hash, p string, buf []byte) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.CopyBuffer(h, onlyReader{f}, buf)
	return err
}

// onlyReader hides WriterTo/ReaderFrom so that io.CopyBuffer uses the
// buffer it is given rather than allocating one per file.
type onlyReader struct{ io.Reader }

// writeTar writes the plan as a layer tar.
func writeTar(ctx context.Context, w io.Writer, items []copyItem) error {
	tw := tar.NewWriter(w)
	for _, it := range items {
		if err := ctx.Err(); err != nil {
			return err
		}
		if it.typ == archiveItem {
			if err := extractArchive(tw, it.host, it.name); err != nil {
				return err
			}
			continue
		}
		hdr := &tar.Header{
			Name: it.name, Typeflag: it.typ, Mode: it.mode, Uid: it.uid, Gid: it.gid,
			ModTime: it.mtime, Linkname: it.link, Format: tar.FormatPAX,
		}
		if it.typ == tar.TypeDir {
			hdr.Name += "/"
		}
		if it.typ == tar.TypeReg {
			hdr.Size = it.size
			if it.data != nil {
				hdr.Size = int64(len(it.data))
			}
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if it.typ != tar.TypeReg {
			continue
		}
		if it.data != nil {
			if _, err := tw.Write(it.data); err != nil {
				return err
			}
			continue
		}
		if err := copyFile(tw, it.host, it.size); err != nil {
			return err
		}
	}
	return tw.Close()
}

func copyFile(w io.Writer, p string, size int64) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	n, err := io.Copy(w, io.LimitReader(f, size))
	if err == nil && n != size {
		err = fmt.Errorf("%s changed size while it was copied", p)
	}
	return err
}

// extractArchive rewrites the entries of the tar at p below dest. Names
// are scoped to dest (a "../" cannot leave it) and whiteout names refused.
func extractArchive(tw *tar.Writer, p, dest string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	r, err := openArchive(f)
	if err != nil {
		return err
	}
	tr := tar.NewReader(r)
	scoped := func(name string) string {
		return strings.TrimPrefix(path.Join(dest, path.Clean("/"+name)), "/")
	}
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("ADD %s: %w", filepath.Base(p), err)
		}
		name := scoped(hdr.Name)
		if name == "" || name == strings.TrimPrefix(dest, "/") && hdr.Typeflag == tar.TypeDir {
			continue
		}
		if strings.HasPrefix(path.Base(name), ".wh.") {
			return fmt.Errorf("ADD %s: entry %s: names starting with .wh. are reserved for layer whiteouts", filepath.Base(p), hdr.Name)
		}
		out := &tar.Header{
			Name: name, Typeflag: hdr.Typeflag, Mode: hdr.Mode, Uid: hdr.Uid, Gid: hdr.Gid,
			ModTime: hdr.ModTime, Linkname: hdr.Linkname, Size: hdr.Size,
			Devmajor: hdr.Devmajor, Devminor: hdr.Devminor, Format: tar.FormatPAX,
		}
		switch hdr.Typeflag {
		case tar.TypeDir:
			out.Name += "/"
		case tar.TypeLink:
			out.Linkname = scoped(hdr.Linkname)
		case tar.TypeReg, tar.TypeSymlink, tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
		case tar.TypeXGlobalHeader:
			continue
		default:
			return fmt.Errorf("ADD %s: entry %s: unsupported type %q", filepath.Base(p), hdr.Name, hdr.Typeflag)
		}
		if err := tw.WriteHeader(out); err != nil {
			return err
		}
		if hdr.Typeflag == tar.TypeReg {
			if _, err := io.Copy(tw, tr); err != nil {
				return err
			}
		}
	}
}

// resolveInImage resolves the directories of p (absolute) through the
// image's symbolic links, scoped to its root, so that COPY into /bin on a
// merged-/usr image writes /usr/bin. The last component is resolved too
// when it is a link to a directory.
func resolveInImage(x *index.Index, p string) string {
	p = path.Clean("/" + p)
	if x == nil {
		return p
	}
	parts := strings.Split(strings.TrimPrefix(p, "/"), "/")
	cur := "/"
	for hops := 0; len(parts) > 0 && hops < 40; {
		part := parts[0]
		parts = parts[1:]
		if part == "" || part == "." {
			continue
		}
		next := path.Join(cur, part)
		e, ok := x.Resolve(strings.TrimPrefix(next, "/"))
		if !ok || x.Mode(e)&index.TypeMask != 0o120000 {
			cur = next
			continue
		}
		hops++
		target := x.Linkname(e)
		if !path.IsAbs(target) {
			target = path.Join(cur, target)
		}
		rest := strings.Split(strings.TrimPrefix(path.Clean("/"+target), "/"), "/")
		parts = append(rest, parts...)
		cur = "/"
	}
	for _, part := range parts {
		cur = path.Join(cur, part)
	}
	return cur
}

func isDirInImage(x *index.Index, p string) bool {
	if x == nil {
		return p == "/"
	}
	rel := strings.TrimPrefix(path.Clean(p), "/")
	if rel == "" {
		return true
	}
	e, ok := x.Resolve(rel)
	return ok && x.IsDir(e)
}

// parseChmod reads --chmod: octal permission bits.
func parseChmod(s string) (*int64, error) {
	if s == "" {
		return nil, nil
	}
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o7777 {
		return nil, fmt.Errorf("invalid chmod parameter: %q (want octal bits such as 755)", s)
	}
	m := int64(v)
	return &m, nil
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
