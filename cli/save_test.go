package cli

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A terminal cannot be tested from a script (testscript gives commands a
// pty only as stdin), so the refusal to write an archive to one is tested
// here, with a pseudo-terminal as stdout.
func TestSaveRefusesTerminal(t *testing.T) {
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	defer ptmx.Close()
	if !isTerminal(ptmx) {
		t.Skip("/dev/ptmx is not a terminal here")
	}
	var stderr strings.Builder
	a := &app{
		in:     strings.NewReader(""),
		out:    ptmx,
		err:    &stderr,
		getenv: func(k string) string { return map[string]string{"STRATA_ROOT": filepath.Join(t.TempDir(), "root")}[k] },
	}
	if got := a.run(context.Background(), []string{"save", "busybox"}); got != 1 {
		t.Errorf("got exit status %d, want 1", got)
	}
	want := "Error: cowardly refusing to save to a terminal. Use the -o flag or redirect\n"
	if got := stderr.String(); got != want {
		t.Errorf("got stderr %q, want %q", got, want)
	}
}
