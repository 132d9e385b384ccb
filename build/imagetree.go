package build

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"time"

	"github.com/strata-engine/strata/layers/index"
)

// imageTree is the root of an image (another stage's result, or an image
// named by COPY --from) as a COPY source: metadata from its flattened
// index, contents straight from the object store, nothing mounted.
type imageTree struct {
	x      *index.Index // nil: scratch
	object func(index.Digest) string
}

func (t *imageTree) entry(i uint32) srcEntry {
	e := t.x.Entry(i)
	m := fs.FileMode(e.Mode & 0o777)
	switch e.Mode & index.TypeMask {
	case 0o040000:
		m |= fs.ModeDir
	case 0o120000:
		m |= fs.ModeSymlink
	case 0o100000:
	default:
		m |= fs.ModeDevice // not copied
	}
	if e.Mode&0o4000 != 0 {
		m |= fs.ModeSetuid
	}
	if e.Mode&0o2000 != 0 {
		m |= fs.ModeSetgid
	}
	if e.Mode&0o1000 != 0 {
		m |= fs.ModeSticky
	}
	se := srcEntry{mode: m, size: e.Size, mtime: time.Unix(e.Mtime, int64(e.MtimeNs)), link: e.Linkname}
	if m.IsRegular() {
		if d, ok := t.x.Digest(i); ok {
			se.host = t.object(d)
		} else {
			se.host, se.size = os.DevNull, 0 // empty files have no object
		}
	}
	return se
}

func (t *imageTree) sources(pattern string) ([]source, error) {
	rel := strings.TrimPrefix(path.Clean("/"+pattern), "/")
	if t.x == nil {
		return nil, fmt.Errorf("file not found: %s: the source is an empty image", pattern)
	}
	var names []string
	if hasMeta(rel) {
		err := t.x.Walk(func(i uint32, p string) error {
			p = strings.TrimPrefix(p, "/")
			if ok, _ := pathMatch(rel, p); ok {
				names = append(names, p)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("no source files were specified: %s", pattern)
		}
	} else {
		names = []string{rel}
	}
	var out []source
	for _, n := range names {
		p := strings.TrimPrefix(resolveInImage(t.x, "/"+n), "/")
		i, ok := uint32(0), true
		if p != "" {
			i, ok = t.x.Resolve(p)
		}
		if !ok {
			return nil, fmt.Errorf("file not found: stat /%s: file does not exist", n)
		}
		if n == "" {
			n = "."
		}
		out = append(out, source{rel: n, srcEntry: t.entry(i), imageEntry: i})
	}
	return out, nil
}

// pathMatch matches a slash-separated pattern against a path component by
// component, as COPY globs do.
func pathMatch(pattern, p string) (bool, error) {
	pp, ps := strings.Split(pattern, "/"), strings.Split(p, "/")
	if len(pp) != len(ps) {
		return false, nil
	}
	for i := range pp {
		if ok, err := path.Match(pp[i], ps[i]); !ok || err != nil {
			return false, err
		}
	}
	return true, nil
}

func (t *imageTree) walk(s source, fn func(rel string, e srcEntry) error) error {
	var rec func(dir uint32, prefix string) error
	rec = func(dir uint32, prefix string) error {
		first, n := t.x.Children(dir)
		for i := first; i < first+n; i++ {
			rel := path.Join(prefix, t.x.Name(i))
			e := t.entry(i)
			if err := fn(rel, e); err != nil {
				return err
			}
			if e.mode.IsDir() {
				if err := rec(i, rel); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return rec(s.imageEntry, "")
}
