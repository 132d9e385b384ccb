package build

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/strata-engine/strata/layers/index"
)

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name, dockerfile string
		line             int
		want             string
	}{
		{"unknown instruction", "FROM x\nFOO bar\n", 2, "unknown instruction: FOO"},
		{"bad JSON", "FROM x\nENTRYPOINT [\"a\", \n", 2, "invalid JSON array"},
		{"missing FROM", "RUN true\n", 1, "no FROM before this instruction"},
		{"only ARGs", "ARG A=1\n", 0, "no FROM instruction"},
		{"unterminated heredoc", "FROM x\nRUN <<EOF\ntrue\n", 2, "unterminated heredoc"},
		{"bad stage name", "FROM x AS 1bad\n", 1, "invalid name for build stage"},
		{"bad flag", "FROM x\nCOPY --bogus=1 a b\n", 2, "unknown flag: --bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := Parse([]byte(tt.dockerfile), "Dockerfile")
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			if !errors.Is(err, ErrDockerfile) {
				t.Errorf("got %v, want an ErrDockerfile", err)
			}
			var se *StepError
			if !errors.As(err, &se) || se.Line != tt.line {
				t.Errorf("got %v, want line %d", err, tt.line)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %q, want it to mention %q", err, tt.want)
			}
		})
	}
}

func TestParseAccepts(t *testing.T) {
	df := "ARG B=busybox\nFROM $B AS one\nRUN [ -f /etc/passwd ]\nRUN [\"true\"]\nFROM one\nCMD echo [\"not json\"]\n"
	stages, meta, err := Parse([]byte(df), "Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if len(stages) != 2 || len(meta) != 1 {
		t.Errorf("got %d stages and %d meta ARGs, want 2 and 1", len(stages), len(meta))
	}
}

// tree writes files (name → content; a trailing "/" makes a directory,
// "->target" a symlink) under a new temporary directory.
func tree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		switch {
		case strings.HasSuffix(name, "/"):
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
		case strings.HasPrefix(content, "->"):
			if err := os.Symlink(strings.TrimPrefix(content, "->"), p); err != nil {
				t.Fatal(err)
			}
		default:
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return dir
}

func TestContextSources(t *testing.T) {
	root := tree(t, map[string]string{
		"ctx/a.txt": "a", "ctx/b.txt": "b", "ctx/c.log": "c", "ctx/sub/d.txt": "d",
		"ctx/sub/keep.log": "k", "ctx/.dockerignore": "*.log\nsub/*.log\n!sub/keep.log\n",
		"ctx/in": "->a.txt", "ctx/out": "->../secret", "ctx/abs": "->/etc/passwd",
		"ctx/Dockerfile": "FROM x", "secret": "s",
	})
	c, err := openContext(filepath.Join(root, "ctx"), filepath.Join(root, "ctx", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		pattern string
		want    []string // rels, or nil for an error
		err     string
	}{
		{"a.txt", []string{"a.txt"}, ""},
		{"/a.txt", []string{"a.txt"}, ""},
		{"*.txt", []string{"a.txt", "b.txt"}, ""},
		{"*", nil, "forbidden path outside the build context"}, // matches out and abs
		{"[ab]*.txt", []string{"a.txt", "b.txt"}, ""},
		{"sub/*.log", []string{"sub/keep.log"}, ""},
		{"in", []string{"in"}, ""},
		{".", []string{"."}, ""},
		{"c.log", nil, "excluded by .dockerignore"},
		{"Dockerfile", []string{"Dockerfile"}, ""}, // copied unless ignored, as with Docker
		{"*.nothing", nil, "no source files were specified"},
		{"../secret", nil, "forbidden path outside the build context"},
		{"sub/../../secret", nil, "forbidden path outside the build context"},
		{"out", nil, "forbidden path outside the build context"},
		{"abs", nil, "forbidden path outside the build context"},
	}
	for _, tt := range tests {
		t.Run(tt.pattern, func(t *testing.T) {
			got, err := c.sources(tt.pattern)
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error about %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var rels []string
			for _, s := range got {
				rels = append(rels, s.rel)
			}
			if strings.Join(rels, ",") != strings.Join(tt.want, ",") {
				t.Errorf("got %v, want %v", rels, tt.want)
			}
		})
	}
}

func TestOpenContextIgnoreFile(t *testing.T) {
	root := tree(t, map[string]string{
		"ctx/.dockerignore": "a.txt\n", "ctx/a.txt": "a", "ctx/b.txt": "b",
		"df/app.Dockerfile": "FROM x", "df/app.Dockerfile.dockerignore": "b.txt\n",
	})
	c, err := openContext(filepath.Join(root, "ctx"), filepath.Join(root, "df", "app.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if c.excluded("a.txt") || !c.excluded("b.txt") {
		t.Errorf("got a.txt excluded %v, b.txt %v; want the Dockerfile's ignore file alone to apply", c.excluded("a.txt"), c.excluded("b.txt"))
	}
}

// imageIndex builds an index of an image holding paths (dirs end in
// "/", symlinks are "name->target").
func imageIndex(t *testing.T, paths ...string) *index.Index {
	t.Helper()
	b := index.NewBuilder()
	for _, p := range paths {
		e := index.Entry{Mode: 0o100644}
		name := p
		switch {
		case strings.HasSuffix(p, "/"):
			e.Mode = 0o040755
			name = strings.TrimSuffix(p, "/")
		case strings.Contains(p, "->"):
			name, e.Linkname, _ = strings.Cut(p, "->")
			e.Mode, e.Size = 0o120777, int64(len(e.Linkname))
		}
		if err := b.Add(name, e); err != nil {
			t.Fatal(err)
		}
	}
	x, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestResolveInImage(t *testing.T) {
	x := imageIndex(t, "usr/", "usr/bin/", "bin->usr/bin", "abs->/usr", "loop->loop", "up->../../usr")
	tests := map[string]string{
		"/bin/x":      "/usr/bin/x",
		"/abs/bin":    "/usr/bin",
		"/up/bin":     "/usr/bin",
		"/new/dir":    "/new/dir",
		"/usr/../bin": "/usr/bin",
		"/loop/x":     "/loop/x", // gives up after 40 links, stays inside
	}
	for in, want := range tests {
		if got := resolveInImage(x, in); !strings.HasSuffix(got, strings.TrimPrefix(want, "/")) || !strings.HasPrefix(got, "/") {
			t.Errorf("resolveInImage(%q) = %q, want %q", in, got, want)
		}
	}
	if got := resolveInImage(x, "/bin/x"); got != "/usr/bin/x" {
		t.Errorf("got %q, want /usr/bin/x", got)
	}
}

func TestPlanCopy(t *testing.T) {
	root := tree(t, map[string]string{"a.txt": "a", "b.txt": "bb", "dir/x": "x", "dir/sub/y": "y"})
	c, err := openContext(root, "")
	if err != nil {
		t.Fatal(err)
	}
	x := imageIndex(t, "etc/", "opt/", "bin->usr/bin", "usr/", "usr/bin/")
	tests := []struct {
		name string
		req  copyRequest
		want []string // names of regular files and dirs, in order
		err  string
	}{
		{"file to file", copyRequest{srcs: []string{"a.txt"}, dest: "/new/name"}, []string{"new/", "new/name"}, ""},
		{"file into existing dir", copyRequest{srcs: []string{"a.txt"}, dest: "/etc"}, []string{"etc/", "etc/a.txt"}, ""},
		{"file into new dir/", copyRequest{srcs: []string{"a.txt"}, dest: "/d", destDir: true}, []string{"d/", "d/a.txt"}, ""},
		{"through a link", copyRequest{srcs: []string{"a.txt"}, dest: "/bin", destDir: true}, []string{"usr/", "usr/bin/", "usr/bin/a.txt"}, ""},
		{"dir contents", copyRequest{srcs: []string{"dir"}, dest: "/opt"}, []string{"opt/", "opt/sub/", "opt/sub/y", "opt/x"}, ""},
		{"glob", copyRequest{srcs: []string{"*.txt"}, dest: "/g", destDir: true}, []string{"g/", "g/a.txt", "g/b.txt"}, ""},
		{"several need a dir", copyRequest{srcs: []string{"a.txt", "b.txt"}, dest: "/f"}, nil, "destination must be a directory"},
		{"inline", copyRequest{inline: []inlineFile{{name: "h", data: "hi\n"}}, dest: "/etc/h"}, []string{"etc/", "etc/h"}, ""},
		{"nothing", copyRequest{dest: "/x"}, nil, "no source files"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := planCopy(context.Background(), c, x, tt.req)
			if tt.want == nil {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error about %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, it := range p.items {
				n := it.name
				if it.typ == tar.TypeDir {
					n += "/"
				}
				got = append(got, n)
			}
			if strings.Join(got, " ") != strings.Join(tt.want, " ") {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

// TestPlanDigest checks that the cache key's share of the sources follows
// their content and modes, not their mtimes.
func TestPlanDigest(t *testing.T) {
	root := tree(t, map[string]string{"a.txt": "a"})
	c, _ := openContext(root, "")
	sum := func() string {
		p, err := planCopy(context.Background(), c, nil, copyRequest{srcs: []string{"a.txt"}, dest: "/a"})
		if err != nil {
			t.Fatal(err)
		}
		return p.sum
	}
	first := sum()
	if err := os.Chtimes(filepath.Join(root, "a.txt"), timeZero, timeZero); err != nil {
		t.Fatal(err)
	}
	if got := sum(); got != first {
		t.Errorf("an mtime changed the digest: got %s, want %s", got, first)
	}
	os.Chmod(filepath.Join(root, "a.txt"), 0o600)
	if got := sum(); got == first {
		t.Errorf("a mode change left the digest at %s", got)
	}
	os.WriteFile(filepath.Join(root, "a.txt"), []byte("b"), 0o600)
	second := sum()
	os.Chmod(filepath.Join(root, "a.txt"), 0o644)
	if got := sum(); got == second || got == first {
		t.Errorf("a content change left the digest at %s", got)
	}
}

func TestWriteTarArchive(t *testing.T) {
	root := tree(t, map[string]string{})
	arch := filepath.Join(root, "a.tar")
	f, _ := os.Create(arch)
	tw := tar.NewWriter(f)
	for _, h := range []*tar.Header{
		{Name: "../../escape", Typeflag: tar.TypeReg, Mode: 0o644},
		{Name: "d/", Typeflag: tar.TypeDir, Mode: 0o755},
		{Name: "d/l", Typeflag: tar.TypeLink, Linkname: "../../../escape"},
	} {
		tw.WriteHeader(h)
	}
	tw.Close()
	f.Close()
	if !isArchive(arch) {
		t.Fatal("a tar is not taken for an archive")
	}
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeTar(context.Background(), pw, []copyItem{{name: "dst", typ: archiveItem, host: arch}}))
	}()
	tr := tar.NewReader(pr)
	var got []string
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, h.Name+">"+h.Linkname)
	}
	sort.Strings(got)
	want := "dst/d/>,dst/d/l>dst/escape,dst/escape>"
	if strings.Join(got, ",") != want {
		t.Errorf("got %v, want %s: entries scoped to the destination", got, want)
	}
}

func TestParseChown(t *testing.T) {
	x := imageIndex(t, "etc/")
	for _, tt := range []struct {
		spec     string
		uid, gid int
	}{{"10", 10, 10}, {"10:20", 10, 20}, {"0:0", 0, 0}} {
		o, err := parseChown(tt.spec, x, nil)
		if err != nil || o.uid != tt.uid || o.gid != tt.gid {
			t.Errorf("parseChown(%q) = %+v, %v; want %d:%d", tt.spec, o, err, tt.uid, tt.gid)
		}
	}
	if _, err := parseChown("alice", x, nil); err == nil || !strings.Contains(err.Error(), "can't find user alice") {
		t.Errorf("got %v, want a missing user error", err)
	}
	if _, err := parseChmod("888"); err == nil {
		t.Error("chmod 888 accepted")
	}
}

var timeZero = time.Unix(0, 0)
