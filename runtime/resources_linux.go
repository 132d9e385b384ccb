package runtime

import (
	"errors"
	"fmt"

	"github.com/strata-engine/strata/runtime/cgroups"
	"github.com/strata-engine/strata/runtime/sandbox"
	"github.com/strata-engine/strata/runtime/spec"
)

// ErrLimits: resource limits that cannot be enforced here.
var ErrLimits = errors.New("resource limits unavailable")

// checkResources refuses limits that could not be enforced: unknown
// ulimits, and cgroup limits where this process can make no cgroup (an
// unprivileged user without delegation), so that no container runs
// unlimited after asking for limits.
func checkResources(r *spec.Resources) error {
	if r == nil {
		return nil
	}
	for _, u := range r.Ulimits {
		if !sandbox.KnownUlimit(u.Name) {
			return fmt.Errorf("invalid ulimit type: %s", u.Name)
		}
		if u.Hard >= 0 && (u.Soft < 0 || u.Soft > u.Hard) {
			return fmt.Errorf("ulimit soft limit must be less than or equal to hard limit: %d > %d", u.Soft, u.Hard)
		}
	}
	if r.NeedsCgroup() {
		if err := cgroups.Available(); err != nil {
			return fmt.Errorf("%w: %w", ErrLimits, err)
		}
	}
	return nil
}
