package build

import (
	"errors"
	"strconv"
	"strings"
	"syscall"

	"github.com/strata-engine/strata/layers"
)

// buildHolderPrefix starts the holds a running build keeps on its base
// images: "build-<pid>-<random>-<step>".
const buildHolderPrefix = "build-"

// releaseStaleHolds releases the holds of builds whose process is gone
// (killed before it could release them), so that their base images can be
// removed again. A live process keeps its holds.
func releaseStaleHolds(s *layers.Store) {
	holds, err := s.Holds()
	if err != nil {
		return
	}
	for h := range holds {
		rest, ok := strings.CutPrefix(h, buildHolderPrefix)
		if !ok {
			continue
		}
		pidText, _, _ := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidText)
		if err != nil || pid <= 0 {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			s.Release(h)
		}
	}
}
