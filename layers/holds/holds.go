// Package holds takes the store's lock files and releases holds (the files
// under holds/ that keep an image from rmi and gc while a container or a
// build cache entry uses it). It lives apart from package layers so that
// strata-runtime, the small binary that runs container monitors, can drop
// a --rm container's hold without linking the whole store and its
// dependencies, whose start-up cost every container would pay.
package holds

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/strata-engine/strata/internal/flock"
	"golang.org/x/sys/unix"
)

// Dir is the directory of the store root that holds the holds.
const Dir = "holds"

// IndexLock is the lock file that serialises index.json and holds/.
const IndexLock = "index.lock"

// Lock takes an flock on the lock file name of the store at root (made if
// missing); how is unix.LOCK_SH or unix.LOCK_EX. The returned function
// releases it; so does the death of the process.
func Lock(root, name string, how int) (unlock func(), err error) {
	unlock, err = flock.Lock(filepath.Join(root, name), how, 0o644)
	if err != nil {
		return nil, fmt.Errorf("lock %s: %w", name, err)
	}
	return unlock, nil
}

// Valid reports whether h can name a hold: a single path element.
func Valid(h string) bool {
	return h != "" && h != "." && h != ".." && !strings.ContainsAny(h, "/\x00")
}

// Release removes holder's hold from the store at root, if it has one.
func Release(root, holder string) error {
	if !Valid(holder) {
		return fmt.Errorf("release: invalid holder %q", holder)
	}
	unlock, err := Lock(root, IndexLock, unix.LOCK_EX)
	if err != nil {
		return err
	}
	defer unlock()
	if err := os.Remove(filepath.Join(root, Dir, holder)); err != nil && !os.IsNotExist(err) {
		return err
	}
	return nil
}
