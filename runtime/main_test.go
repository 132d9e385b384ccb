package runtime

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// busyboxTar is the generated busybox image tarball.
var busyboxTar []byte

// busyboxRoot is a busybox root filesystem extracted once for the whole
// test binary, used in place as a plain-directory root. Containers do not
// write to it unless a test says so (those copy it first).
var busyboxRoot string

func TestMain(m *testing.M) {
	// Monitors, container inits and exec stages are this test binary,
	// re-executed.
	if MaybeRunInit() {
		return
	}
	code := func() int {
		dir, err := os.MkdirTemp("", "strata-runtime-test")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer os.RemoveAll(dir)
		// Readable by the unprivileged user of TestRootless.
		os.Chmod(dir, 0o755)
		if os.Geteuid() == 0 {
			busyboxRoot = filepath.Join(dir, "busybox")
			if err := makeBusybox(busyboxRoot); err != nil {
				fmt.Fprintln(os.Stderr, "busybox rootfs:", err)
				busyboxRoot = ""
			}
		}
		return m.Run()
	}()
	os.Exit(code)
}

// makeBusybox writes the busybox image with testdata/busybox and extracts
// it into dir.
func makeBusybox(dir string) error {
	out, err := exec.Command("go", "run", "../testdata/busybox", "-o", "-").Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%v: %s", err, ee.Stderr)
		}
		return err
	}
	busyboxTar = out
	if err := extract(bytes.NewReader(out), dir); err != nil {
		return err
	}
	// The files the runtime binds over, so that containers never need
	// to create them in the shared root.
	for _, f := range []string{"etc/hosts", "etc/resolv.conf"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			return err
		}
	}
	// A non-executable file for the 126 case.
	return os.WriteFile(filepath.Join(dir, "etc/noexec"), []byte("#!/bin/sh\n"), 0o644)
}

// extract unpacks a trusted tar (our own generator's) into dir.
func extract(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		p := filepath.Join(dir, filepath.Clean("/"+h.Name))
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(p, os.FileMode(h.Mode)&os.ModePerm); err != nil {
				return err
			}
			os.Chmod(p, os.FileMode(h.Mode)&os.ModePerm|modeBits(h.Mode))
		case tar.TypeReg:
			os.MkdirAll(filepath.Dir(p), 0o755)
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(h.Mode)&os.ModePerm)
			if err != nil {
				return err
			}
			_, err = io.Copy(f, tr)
			f.Close()
			if err != nil {
				return err
			}
		case tar.TypeSymlink:
			os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.Symlink(h.Linkname, p); err != nil {
				return err
			}
		}
	}
}

func modeBits(m int64) os.FileMode {
	if m&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

// needRoot skips tests that make namespaces and mounts as real root.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root: creates namespaces and mounts")
	}
	if busyboxRoot == "" {
		t.Skip("no busybox rootfs (install Debian's busybox-static)")
	}
}

// newRuntime returns a runtime on a fresh store that removes every
// container it made when the test ends.
func newRuntime(t *testing.T) *Runtime {
	t.Helper()
	r := New(t.TempDir(), nil)
	t.Cleanup(func() {
		ctx := context.Background()
		cs, _ := r.List(ctx, true)
		for _, c := range cs {
			if err := r.Remove(ctx, c.Config.ID, true); err != nil {
				t.Errorf("cleanup: remove %s: %v", c.Config.ID, err)
			}
		}
	})
	return r
}

// runOpts describes a test container.
type runOpts struct {
	CreateOptions
	stdin string
}

// run creates a busybox container with cmd, runs it attached and returns
// its output and exit code.
func run(t *testing.T, r *Runtime, o CreateOptions, stdin string) (string, int, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if o.RootfsDir == "" {
		o.RootfsDir = busyboxRoot
	}
	c, err := r.Create(ctx, o)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	var out bytes.Buffer
	opts := AttachOptions{Stdout: &out, Stderr: &out}
	if stdin != "" {
		opts.Stdin = strings.NewReader(stdin)
		opts.CloseStdin = true
	}
	code, _, err := r.Run(ctx, c.Config.ID, opts)
	return out.String(), code, err
}
