package spec

import (
	"runtime/debug"
	"sync"
)

// Build identifies the build of the running binary: the commit it was
// built from (with "+dirty" for uncommitted changes), or "" when the Go
// toolchain recorded none (go test, builds outside a checkout). The CLI
// passes its own to the monitor, which refuses to run for another build:
// strata and strata-runtime are installed together and must not drift.
func Build() string { return buildOnce() }

var buildOnce = sync.OnceValue(func() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				dirty = "+dirty"
			}
		}
	}
	if rev == "" {
		return ""
	}
	return rev + dirty
})
