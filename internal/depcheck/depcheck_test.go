// Package depcheck holds the test that enforces the import rules of the
// design (docs/architecture.md): which packages may import which.
package depcheck

import (
	"os/exec"
	"strings"
	"testing"
)

const module = "github.com/strata-engine/strata"

// imports lists every package of the module with its direct imports
// (test files included, so tests obey the rules too).
func imports(t *testing.T) map[string][]string {
	t.Helper()
	out, err := exec.Command("go", "list", "-e", "-f", `{{.ImportPath}} {{join .Imports " "}} {{join .TestImports " "}} {{join .XTestImports " "}}`, module+"/...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	m := map[string][]string{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		m[f[0]] = f[1:]
	}
	return m
}

func under(pkg, dir string) bool {
	p := module + "/" + dir
	return pkg == p || strings.HasPrefix(pkg, p+"/")
}

func TestImportRules(t *testing.T) {
	rules := []struct {
		name    string
		applies func(pkg string) bool
		banned  func(imp string) bool
	}{
		{"layers/index imports nothing of the project",
			func(p string) bool { return under(p, "layers/index") },
			func(i string) bool { return strings.HasPrefix(i, module+"/") }},
		{"fs imports only layers/index of the project",
			func(p string) bool { return under(p, "fs") },
			func(i string) bool {
				return strings.HasPrefix(i, module+"/") && !under(i, "layers/index") && !under(i, "fs")
			}},
		{"layers imports neither fs, runtime, build nor cli",
			func(p string) bool { return under(p, "layers") },
			func(i string) bool {
				return under(i, "fs") || under(i, "runtime") || under(i, "build") || under(i, "cli")
			}},
		{"dedup reads the store and imports nothing that runs or mounts",
			func(p string) bool { return under(p, "dedup") },
			func(i string) bool {
				return under(i, "fs") || under(i, "runtime") || under(i, "build") || under(i, "cli")
			}},
		{"fsbench and runbench run strata as a command: they import neither fs, runtime nor cli",
			func(p string) bool { return under(p, "fsbench") || under(p, "runbench") },
			func(i string) bool { return under(i, "fs") || under(i, "runtime") || under(i, "cli") }},
		{"internal/flock is a leaf: it imports nothing of the project",
			func(p string) bool { return under(p, "internal/flock") },
			func(i string) bool { return strings.HasPrefix(i, module+"/") }},
		{"chart is a leaf: it imports nothing of the project",
			func(p string) bool { return under(p, "chart") },
			func(i string) bool { return strings.HasPrefix(i, module+"/") }},
		{"layers imports no registry code",
			func(p string) bool { return under(p, "layers") },
			func(i string) bool {
				return under(i, "registry") || strings.HasPrefix(i, "github.com/google/go-containerregistry")
			}},
		{"registry imports neither fs, runtime, build nor cli",
			func(p string) bool { return under(p, "registry") },
			func(i string) bool {
				return under(i, "fs") || under(i, "runtime") || under(i, "build") || under(i, "cli")
			}},
		{"only cli imports cobra",
			func(p string) bool { return !under(p, "cli") },
			func(i string) bool { return strings.HasPrefix(i, "github.com/spf13/cobra") }},
		{"go-fuse stays under fs",
			func(p string) bool { return !under(p, "fs") },
			func(i string) bool { return strings.HasPrefix(i, "github.com/hanwen/go-fuse") }},
		{"nothing imports cli but the main package",
			func(p string) bool { return !under(p, "cli") && !under(p, "cmd") },
			func(i string) bool { return under(i, "cli") }},
	}
	all := imports(t)
	if len(all) < 3 {
		t.Fatalf("go list found %d packages, want the whole module", len(all))
	}
	for _, r := range rules {
		t.Run(r.name, func(t *testing.T) {
			for pkg, imps := range all {
				if !r.applies(pkg) {
					continue
				}
				for _, imp := range imps {
					if r.banned(imp) {
						t.Errorf("%s imports %s", pkg, imp)
					}
				}
			}
		})
	}
}

// TestRuntimeBinaryDeps keeps strata-runtime small: a container start runs
// it twice (monitor, init), and every package linked in adds start-up
// time (package init, page faults). It links the runtime, the filesystem
// and the layer index, never the store, the registry, the builder, the
// CLI or their heavy dependencies.
func TestRuntimeBinaryDeps(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", module+"/cmd/strata-runtime").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	deps := strings.Fields(string(out))
	if len(deps) < 10 {
		t.Fatalf("go list -deps found %d packages", len(deps))
	}
	for _, d := range deps {
		banned := d == module+"/layers" || under(d, "layers/reference") || under(d, "layers/archive") ||
			under(d, "layers/tarball") || under(d, "registry") || under(d, "build") || under(d, "cli") ||
			under(d, "dedup") || under(d, "fsbench") || under(d, "runbench") || under(d, "chart")
		for _, p := range []string{"github.com/distribution/", "github.com/spf13/", "github.com/google/go-containerregistry",
			"github.com/moby/buildkit", "github.com/klauspost/", "google.golang.org/protobuf", "net/http"} {
			banned = banned || strings.HasPrefix(d, p)
		}
		if banned {
			t.Errorf("strata-runtime links %s", d)
		}
	}
}
