package cli

import (
	"archive/tar"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-engine/strata/registry/registrytest"
)

// TestPullProgressBars: on a terminal, pull shows a bar per layer (mpb)
// and ends with Docker's summary lines.
func TestPullProgressBars(t *testing.T) {
	reg := registrytest.Start(t, registrytest.Options{})
	src := filepath.Join(t.TempDir(), "src")
	rootfs := filepath.Join(t.TempDir(), "rootfs.tar")
	f, err := os.Create(rootfs)
	if err != nil {
		t.Fatal(err)
	}
	tw := tar.NewWriter(f)
	body := strings.Repeat("strata ", 300<<10)
	tw.WriteHeader(&tar.Header{Name: "big", Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg})
	tw.Write([]byte(body))
	tw.Close()
	f.Close()
	ref := reg.Host + "/tty/img:1"
	runStrata(t, src, "import", rootfs, ref)
	runStrata(t, src, "push", ref)

	s := startPTY(t, filepath.Join(t.TempDir(), "dst"), "pull", ref)
	s.expect("1: Pulling from tty/img")
	s.expect("Pull complete")
	s.expect("] ") // the bar's end, then its byte counters
	s.expect("Status: Downloaded newer image for " + ref)
	if code := s.wait(); code != 0 {
		t.Fatalf("pull on a terminal: exit status %d", code)
	}
}
