package fs

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestImports enforces the design's import rule: of this project, fs
// imports only the layer index format (and its own subpackages).
func TestImports(t *testing.T) {
	const module = "github.com/strata-engine/strata/"
	allowed := func(p string) bool {
		switch {
		case !strings.Contains(strings.SplitN(p, "/", 2)[0], "."):
			return true // standard library
		case p == module+"layers/index", p == module+"fs", strings.HasPrefix(p, module+"fs/"):
			return true
		case strings.HasPrefix(p, module):
			return false
		}
		return strings.HasPrefix(p, "github.com/hanwen/go-fuse/v2/") || strings.HasPrefix(p, "golang.org/x/sys/")
	}
	err := filepath.WalkDir(".", func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			if !allowed(p) {
				t.Errorf("%s imports %s", path, p)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
