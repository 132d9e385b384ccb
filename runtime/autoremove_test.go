package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/runtime/spec"
)

// TestRunAutoRemove runs --rm containers on a directory root and on the
// union (which init gets as a detached mount): all output arrives through
// the attachment made before the start, and the monitor leaves nothing.
func TestRunAutoRemove(t *testing.T) {
	needRoot(t)
	tests := []struct {
		name  string
		image bool
	}{
		{"directory root", false},
		{"union root", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.image {
				if _, err := os.Stat("/dev/fuse"); err != nil {
					t.Skip("needs /dev/fuse")
				}
			}
			root := t.TempDir()
			st, err := layers.Open(root)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			o := CreateOptions{RootfsDir: busyboxRoot, AutoRemove: true,
				Cmd: []string{"/bin/sh", "-c", "seq 1 3000; echo done >&2; exit 4"}}
			if tt.image {
				if _, err := st.Import(ctx, bytes.NewReader(busyboxTar), layers.ImportOptions{Refs: []string{"busybox:rm"},
					Config: ocispec.ImageConfig{Cmd: []string{"sh"}}}); err != nil {
					t.Fatal(err)
				}
				o.RootfsDir, o.Image = "", "busybox:rm"
			}
			r := New(root, st)
			c, err := r.Create(ctx, o)
			if err != nil {
				t.Fatal(err)
			}
			var stdout, stderr bytes.Buffer
			code, _, err := r.Run(ctx, c.Config.ID, AttachOptions{Stdout: &stdout, Stderr: &stderr})
			if err != nil || code != 4 {
				t.Fatalf("run: got %d %v, want 4", code, err)
			}
			var want strings.Builder
			for i := 1; i <= 3000; i++ {
				fmt.Fprintf(&want, "%d\n", i)
			}
			if stdout.String() != want.String() || stderr.String() != "done\n" {
				t.Errorf("output: got %d bytes of stdout and %q, want %d bytes and %q", stdout.Len(), stderr.String(), want.Len(), "done\n")
			}
			dir := r.dir(c.Config.ID)
			if err := spec.WaitMonitor(dir); err != nil {
				t.Fatal(err)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				ents, _ := os.ReadDir(dir)
				t.Errorf("container directory left behind (%v): %v", err, ents)
			}
			if holds, _ := st.Holds(); len(holds) != 0 {
				t.Errorf("holds left: %v", holds)
			}
		})
	}
}

// TestLostState: a --rm container's state.json is written without fsync,
// so a crash may leave it empty; it then reads as exited, while any other
// container's damaged state is an error.
func TestLostState(t *testing.T) {
	tests := []struct {
		name       string
		autoRemove bool
		wantErr    bool
	}{
		{"--rm", true, false},
		{"kept", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := New(t.TempDir(), nil)
			ctx := context.Background()
			c, err := r.Create(ctx, CreateOptions{RootfsDir: t.TempDir(), AutoRemove: tt.autoRemove, Cmd: []string{"true"}})
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(r.dir(c.Config.ID), spec.StateFile), nil, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := r.Inspect(ctx, c.Config.ID)
			if tt.wantErr {
				if err == nil {
					t.Fatalf("inspect: got state %+v, want an error", got.State)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.State.Status != spec.Exited || got.State.ExitCode != 137 {
				t.Errorf("state: got %s %d, want exited 137", got.State.Status, got.State.ExitCode)
			}
		})
	}
}
