package runtime

import (
	"path/filepath"

	"github.com/strata-engine/strata/runtime/spec"
)

// UpperDir returns the writable layer of container id: what commit and
// each RUN step of a build turn into a layer once the container has
// exited (the union is unmounted then, as fs.WriteDiff requires).
func (r *Runtime) UpperDir(id string) string {
	return filepath.Join(r.root, "containers", id, spec.UpperDir)
}
