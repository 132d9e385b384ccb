package cli

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/fs"
)

// strata mount and umount are not Docker's: podman's image mount and the
// mount(8) pair. They show an image's merged tree read-only through the
// same filesystem a container's root uses.

func (a *app) newMountCommand() *cobra.Command {
	var foreground bool
	var upper, work string
	c := &cobra.Command{
		Use:   "mount [OPTIONS] IMAGE MOUNTPOINT",
		Short: "Mount an image's filesystem at MOUNTPOINT (read-only without --upper)",
		Args:  exactArgs(2),
		RunE: func(c *cobra.Command, args []string) error {
			mnt, err := filepath.Abs(args[1])
			if err != nil {
				return err
			}
			s, err := a.store()
			if err != nil {
				return err
			}
			img, err := s.ResolveImage(c.Context(), args[0])
			if err != nil {
				return err
			}
			x, err := s.ImageIndex(c.Context(), img)
			if err != nil {
				return err
			}
			opts := fs.Options{
				Lowers: []fs.Lower{fs.NewIndexLower(x, s.ObjectsDir())},
				FsName: "strata:" + img.ShortID(),
			}
			if (upper == "") != (work == "") {
				return &usageError{"--upper and --work go together"}
			}
			if upper != "" {
				// Writable, as a container's root: changes go to upper,
				// and passthrough is used where the server may.
				if opts.UpperDir, err = filepath.Abs(upper); err != nil {
					return err
				}
				if opts.WorkDir, err = filepath.Abs(work); err != nil {
					return err
				}
				opts.Passthrough = true
			}
			if code := serveMount(a.err, foreground, func() (mountServer, error) {
				return fs.Mount(context.Background(), mnt, opts)
			}); code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
	c.Flags().BoolVarP(&foreground, "foreground", "f", false, "Serve in the foreground until unmounted")
	c.Flags().StringVar(&upper, "upper", "", "Make the mount writable, with changes in this directory")
	c.Flags().StringVar(&work, "work", "", "Scratch directory for --upper, on the same filesystem")
	return c
}

func (a *app) newUmountCommand() *cobra.Command {
	return &cobra.Command{
		Use:     "umount MOUNTPOINT",
		Aliases: []string{"unmount"},
		Short:   "Unmount a filesystem mounted by strata mount or strata-fs",
		Args:    exactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			mnt, err := filepath.Abs(args[0])
			if err != nil {
				return err
			}
			// As root (also of a user namespace) umount(2) works; anybody
			// else goes through the setuid fusermount3, as FUSE wants.
			if err := unix.Unmount(mnt, 0); err == nil {
				return nil
			} else if err != unix.EPERM {
				return &os.PathError{Op: "umount", Path: mnt, Err: err}
			}
			if out, err := exec.Command("fusermount3", "-u", mnt).CombinedOutput(); err != nil {
				return fmt.Errorf("fusermount3 -u %s: %v: %s", mnt, err, out)
			}
			return nil
		},
	}
}
