package cli

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// TestUnprivilegedBuild builds an image as an ordinary user (nobody): RUN
// in a rootless container on FUSE, its upper layer mapped back to the
// container's owners, COPY straight into a layer, the cache on a rebuild.
func TestUnprivilegedBuild(t *testing.T) {
	dir := nobodyDir(t)
	ctx := filepath.Join(dir, "ctx")
	os.Mkdir(ctx, 0o755)
	os.WriteFile(filepath.Join(ctx, "Dockerfile"), []byte("FROM busybox\nRUN echo ran > /ran\nCOPY f.txt /f.txt\nCMD [\"cat\", \"/ran\", \"/f.txt\"]\n"), 0o644)
	os.WriteFile(filepath.Join(ctx, "f.txt"), []byte("copied\n"), 0o644)

	script := `set -e
cd "$D"
export STRATA_ROOT="$D/home/store" HOME="$D/home"
./strata import busybox.tar busybox >/dev/null
./strata build -q -t built ctx >/dev/null
./strata run --rm --network none built
./strata run --rm --network none built stat -c %u:%g /ran
./strata build ctx | grep -c 'Using cache'
./strata ps -a -q | wc -l
`
	cmd := exec.Command("su", "-s", "/bin/sh", "nobody", "-c", script)
	cmd.Env = append(os.Environ(), "D="+dir)
	out, err := cmd.CombinedOutput()
	want := "ran\ncopied\n0:0\n3\n0\n"
	if err != nil || string(out) != want {
		t.Fatalf("as nobody: %v\ngot:\n%s\nwant:\n%s", err, out, want)
	}
}
