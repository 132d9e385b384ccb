package build

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/moby/patternmatcher"
	"github.com/moby/patternmatcher/ignorefile"
)

// ErrOutsideContext is wrapped by the errors of COPY and ADD sources that
// name, or lead through a symbolic link to, something outside the context.
var ErrOutsideContext = errors.New("forbidden path outside the build context")

// buildContext is a local build context, read in place: nothing is tarred
// or copied before an instruction needs it.
type buildContext struct {
	dir    string // absolute, symlinks resolved
	ignore *patternmatcher.PatternMatcher
}

// openContext opens the context dir with the ignore rules Docker applies:
// <Dockerfile>.dockerignore beside the Dockerfile when there is one, else
// .dockerignore at the context root. dockerfile is the Dockerfile's path
// ("" when it came from stdin).
func openContext(dir, dockerfile string) (*buildContext, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	abs, err = filepath.EvalSymlinks(abs)
	if err != nil {
		return nil, fmt.Errorf("unable to prepare context: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("unable to prepare context: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("unable to prepare context: context must be a directory: %s", dir)
	}
	// The Dockerfile and the ignore file are copied like any other file
	// unless the ignore rules leave them out, as with Docker.
	c := &buildContext{dir: abs}
	ignorePath := filepath.Join(abs, ".dockerignore")
	if dockerfile != "" {
		if p := dockerfile + ".dockerignore"; fileExists(p) {
			ignorePath = p
		}
	}
	patterns, err := readIgnore(ignorePath)
	if err != nil {
		return nil, err
	}
	if c.ignore, err = patternmatcher.New(patterns); err != nil {
		return nil, fmt.Errorf("%s: %w", ignorePath, err)
	}
	return c, nil
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}

func readIgnore(p string) ([]string, error) {
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	patterns, err := ignorefile.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", p, err)
	}
	return patterns, nil
}

// excluded reports whether the context path rel (slash separated, relative
// to the root) is left out by the ignore rules.
func (c *buildContext) excluded(rel string) bool {
	if rel == "." || rel == "" {
		return false
	}
	m, err := c.ignore.MatchesOrParentMatches(rel)
	return err == nil && m
}

// source is one COPY/ADD source: a file, link or directory of the
// context, or of another stage's or image's root (--from).
type source struct {
	rel string // relative to the tree's root, slash separated; "." the root
	srcEntry
	imageEntry uint32 // in an imageTree: the entry number
}

// srcEntry is what a COPY needs of one file of a source tree.
type srcEntry struct {
	mode  fs.FileMode
	size  int64
	mtime time.Time
	link  string // symbolic links: the target
	host  string // regular files: where the content is read from
}

func entryOf(host string, info fs.FileInfo) (srcEntry, error) {
	e := srcEntry{mode: info.Mode(), size: info.Size(), mtime: info.ModTime(), host: host}
	if info.Mode()&fs.ModeSymlink != 0 {
		l, err := os.Readlink(host)
		if err != nil {
			return e, err
		}
		e.link = l
	}
	return e, nil
}

// sources finds what a COPY/ADD source pattern names: a path or a glob
// (filepath.Match syntax per component), relative to the context root
// whatever its leading slash. A path that leaves the context, or leads
// out of it through a symbolic link, is refused.
func (c *buildContext) sources(pattern string) ([]source, error) {
	clean := path.Clean("/" + filepath.ToSlash(pattern))
	if strings.HasPrefix(path.Clean(filepath.ToSlash(pattern)), "../") || path.Clean(filepath.ToSlash(pattern)) == ".." {
		return nil, fmt.Errorf("%w: %s", ErrOutsideContext, pattern)
	}
	rel := strings.TrimPrefix(clean, "/")
	if rel == "" {
		rel = "."
	}
	var names []string
	if hasMeta(rel) {
		var err error
		names, err = c.glob(rel)
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
		host, err := c.resolve(n)
		if err != nil {
			return nil, err
		}
		info, err := os.Stat(host)
		if err != nil || c.excluded(n) {
			return nil, fmt.Errorf("file not found in build context or excluded by .dockerignore: stat %s: file does not exist", n)
		}
		e, err := entryOf(host, info)
		if err != nil {
			return nil, err
		}
		out = append(out, source{rel: n, srcEntry: e})
	}
	return out, nil
}

func hasMeta(p string) bool { return strings.ContainsAny(p, `*?[\`) }

// glob matches rel component by component against the context, skipping
// what the ignore rules leave out. Matches are sorted.
func (c *buildContext) glob(rel string) ([]string, error) {
	parts := strings.Split(rel, "/")
	cur := []string{"."}
	for _, part := range parts {
		var next []string
		for _, dir := range cur {
			if !hasMeta(part) {
				p := path.Join(dir, part)
				if _, err := os.Lstat(filepath.Join(c.dir, p)); err == nil {
					next = append(next, p)
				}
				continue
			}
			host, err := c.resolve(dir)
			if err != nil {
				return nil, err
			}
			ents, err := os.ReadDir(host)
			if err != nil {
				continue
			}
			for _, e := range ents {
				ok, err := path.Match(part, e.Name())
				if err != nil {
					return nil, fmt.Errorf("bad source pattern %q: %w", rel, err)
				}
				if ok {
					next = append(next, path.Join(dir, e.Name()))
				}
			}
		}
		cur = next
	}
	var out []string
	for _, p := range cur {
		if !c.excluded(p) {
			out = append(out, p)
		}
	}
	sort.Strings(out)
	return out, nil
}

// walk calls fn for everything below directory source s, in lexical
// order, leaving out what the ignore rules exclude. Symbolic links inside
// it are passed on as links, never followed.
func (c *buildContext) walk(s source, fn func(rel string, e srcEntry) error) error {
	return filepath.WalkDir(s.host, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == s.host {
			return nil
		}
		r, err := filepath.Rel(s.host, p)
		if err != nil {
			return err
		}
		r = filepath.ToSlash(r)
		if c.excluded(path.Join(s.rel, r)) {
			if d.IsDir() && !c.ignore.Exclusions() {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		e, err := entryOf(p, info)
		if err != nil {
			return err
		}
		return fn(r, e)
	})
}

// resolve returns the host path of context path rel, following symbolic
// links (as Docker does for a COPY source) but refusing any that lead out
// of the context.
func (c *buildContext) resolve(rel string) (string, error) {
	host := filepath.Join(c.dir, filepath.FromSlash(rel))
	r, err := filepath.EvalSymlinks(host)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return host, nil // reported by the caller's stat
		}
		return "", err
	}
	if r != c.dir && !strings.HasPrefix(r, c.dir+string(filepath.Separator)) {
		return "", fmt.Errorf("%w: %s (a symbolic link leads to %s)", ErrOutsideContext, rel, r)
	}
	return r, nil
}
