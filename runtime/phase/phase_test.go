package phase

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestMarkToFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "trace")
	setting = path
	t.Cleanup(func() { setting = "" })
	if got := Env(); len(got) != 1 || got[0] != EnvVar+"="+path {
		t.Errorf("Env: got %q, want %s=%s", got, EnvVar, path)
	}
	Mark("phase %d", 1)
	Mark("phase two")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	line := regexp.MustCompile(`^strata-trace [0-9]+\.[0-9]{3} ms cpu [0-9]+\.[0-9] ms \S+\[[0-9]+\] phase (1|two)$`)
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines, want 2: %q", len(lines), b)
	}
	for _, l := range lines {
		if !line.MatchString(l) {
			t.Errorf("got %q, want it to match %s", l, line)
		}
	}
}
