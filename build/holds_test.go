package build

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/opencontainers/go-digest"

	"github.com/strata-engine/strata/layers"
)

func TestReleaseStaleHolds(t *testing.T) {
	s, err := layers.Open(filepath.Join(t.TempDir(), "store"))
	if err != nil {
		t.Fatal(err)
	}
	id := digest.FromString("image")
	live := buildHolderPrefix + strconv.Itoa(os.Getpid()) + "-abc-1"
	// Pid 2^22+1 is above the kernel's pid_max limit: never a process.
	dead := buildHolderPrefix + "4194305-abc-1"
	for _, h := range []string{live, dead, "0123456789ab", layers.CacheHolderPrefix + "k"} {
		if err := s.Hold(h, id); err != nil {
			t.Fatal(err)
		}
	}
	releaseStaleHolds(s)
	holds, err := s.Holds()
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := holds[dead]; ok {
		t.Errorf("the hold of a dead build is still there: %v", holds)
	}
	for _, h := range []string{live, "0123456789ab", layers.CacheHolderPrefix + "k"} {
		if _, ok := holds[h]; !ok {
			t.Errorf("hold %s was released, want it kept: %v", h, holds)
		}
	}
}
