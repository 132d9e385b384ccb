package cli

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	iofs "io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	securejoin "github.com/cyphar/filepath-securejoin"
	"github.com/spf13/cobra"
	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/fs"
	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/runtime"
	"github.com/strata-engine/strata/runtime/spec"
)

type cpOptions struct {
	followLink bool
	archive    bool
	quiet      bool
}

func (a *app) newCpCommand() *cobra.Command {
	var o cpOptions
	c := &cobra.Command{
		Use:   "cp [OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n\tstrata cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
		Short: "Copy files/folders between a container and the local filesystem",
		Long: `Copy files/folders between a container and the local filesystem

Use '-' as the source to read a tar archive from stdin
and extract it to a directory destination in a container.
Use '-' as the destination to stream a tar archive of a
container source to stdout.`,
		Args: exactArgs(2),
		Annotations: map[string]string{
			annotAliases: "strata container cp, strata cp",
		},
		RunE: func(c *cobra.Command, args []string) error {
			if args[0] == "" {
				return errors.New("source can not be empty")
			}
			if args[1] == "" {
				return errors.New("destination can not be empty")
			}
			srcCtr, srcPath := splitCpArg(args[0])
			dstCtr, dstPath := splitCpArg(args[1])
			switch {
			case srcCtr != "" && dstCtr != "":
				return errors.New("copying between containers is not supported")
			case srcCtr != "":
				return a.copyFromContainer(c.Context(), o, srcCtr, srcPath, dstPath)
			case dstCtr != "":
				return a.copyToContainer(c.Context(), o, srcPath, dstCtr, dstPath)
			}
			return errors.New("must specify at least one container source")
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.followLink, "follow-link", "L", false, "Always follow symlinks in SRC_PATH")
	f.BoolVarP(&o.archive, "archive", "a", false, "Archive mode (copy all uid/gid information)")
	f.BoolVarP(&o.quiet, "quiet", "q", false, "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached")
	return c
}

// splitCpArg splits CONTAINER:PATH. As in Docker, a local path that
// contains ":" is written as an absolute or ./ path.
func splitCpArg(arg string) (ctr, p string) {
	if strings.HasPrefix(arg, "/") {
		return "", arg
	}
	ctr, p, ok := strings.Cut(arg, ":")
	if !ok || strings.HasPrefix(ctr, ".") {
		return "", arg
	}
	return ctr, p
}

// containerRoot returns a host path where the container's root
// filesystem can be read and written, and the function that releases it.
// A running container's is its init's /proc/PID/root (bind mounts
// included, as Docker's cp sees them); a stopped one's union is mounted
// here, in a temporary directory, for the copy's duration.
func (a *app) containerRoot(ctx context.Context, s *layers.Store, ctr *runtime.Container) (string, func(), error) {
	cfg := ctr.Config
	if ctr.State.Status == runtime.Running && ctr.State.Pid > 0 {
		return fmt.Sprintf("/proc/%d/root", ctr.State.Pid), func() {}, nil
	}
	if cfg.RootfsDir != "" {
		return cfg.RootfsDir, func() {}, nil
	}
	img, err := s.ResolveImage(ctx, cfg.ImageID)
	if err != nil {
		return "", nil, err
	}
	x, err := s.ImageIndex(ctx, img)
	if err != nil {
		return "", nil, err
	}
	mnt, err := os.MkdirTemp("", "strata-cp-")
	if err != nil {
		return "", nil, err
	}
	dir := a.containerDir(cfg.ID)
	// Ours alone (a 0700 directory, no allow_other), and trusted: an
	// unprivileged caller must still give the files the container's
	// owners, which the kernel's own checks would refuse it.
	private := false
	srv, err := fs.Mount(ctx, mnt, fs.Options{
		Lowers:      []fs.Lower{fs.NewIndexLower(x, s.ObjectsDir())},
		UpperDir:    filepath.Join(dir, spec.UpperDir),
		WorkDir:     filepath.Join(dir, spec.WorkDir),
		FsName:      "strata:" + shortID(cfg.ID),
		AllowOther:  &private,
		TrustCaller: true,
	})
	if err != nil {
		os.Remove(mnt)
		return "", nil, fmt.Errorf("mount the root of %s: %w", shortID(cfg.ID), err)
	}
	return mnt, func() {
		if err := srv.Unmount(); err != nil {
			a.log.Warn("unmount", "path", mnt, "err", err)
			unix.Unmount(mnt, unix.MNT_DETACH)
		}
		os.Remove(mnt)
	}, nil
}

// inRoot resolves p, a path inside root, to a host path: symbolic links
// are followed as the container would follow them, and never lead out of
// root. The last component is followed only with followLast.
func inRoot(root, p string, followLast bool) (string, error) {
	clean := path.Clean("/" + p)
	if followLast || clean == "/" {
		return securejoin.SecureJoin(root, clean)
	}
	dir, base := path.Split(clean)
	d, err := securejoin.SecureJoin(root, dir)
	if err != nil {
		return "", err
	}
	return filepath.Join(d, base), nil
}

// copyTarget is where a copy goes, per docker cp's rules: the directory
// to extract into, and the name the source's top entry takes there ("" to
// keep it; contents of a directory "SRC/." have no top entry).
type copyTarget struct {
	dir, rename string
}

// target applies docker cp's rules. src names the source (for its base
// name and a trailing "/."), srcIsDir says what it is; dst is the
// destination as typed, dstHost where it is on this host.
func target(src string, srcIsDir bool, dst, dstHost string) (copyTarget, error) {
	contents := srcIsDir && (strings.HasSuffix(src, "/.") || src == "." || path.Clean("/"+src) == "/")
	fi, err := os.Stat(dstHost)
	switch {
	case err == nil && fi.IsDir():
		if contents {
			return copyTarget{dir: dstHost, rename: "."}, nil
		}
		return copyTarget{dir: dstHost}, nil
	case err == nil:
		if srcIsDir {
			return copyTarget{}, errors.New("cannot copy directory")
		}
		return copyTarget{dir: filepath.Dir(dstHost), rename: filepath.Base(dstHost)}, nil
	case !errors.Is(err, os.ErrNotExist):
		return copyTarget{}, err
	case strings.HasSuffix(dst, "/") && !srcIsDir:
		return copyTarget{}, errors.New("no such directory")
	}
	parent := filepath.Dir(dstHost)
	if fi, err := os.Stat(parent); err != nil {
		return copyTarget{}, err
	} else if !fi.IsDir() {
		return copyTarget{}, errors.New("not a directory")
	}
	return copyTarget{dir: parent, rename: filepath.Base(dstHost)}, nil
}

func (a *app) copyFromContainer(ctx context.Context, o cpOptions, ref, src, dst string) error {
	rt, s, err := a.runtime()
	if err != nil {
		return err
	}
	ctr, err := lookup(ctx, rt, ref)
	if err != nil {
		return err
	}
	root, release, err := a.containerRoot(ctx, s, ctr)
	if err != nil {
		return err
	}
	defer release()
	follow := o.followLink || strings.HasSuffix(src, "/") || strings.HasSuffix(src, "/.")
	srcHost, err := inRoot(root, src, follow)
	if err != nil {
		return err
	}
	fi, err := os.Lstat(srcHost)
	if err != nil {
		return fmt.Errorf("Could not find the file %s in container %s", src, ref)
	}
	name := path.Base(path.Clean("/" + src))
	if name == "/" {
		name = "."
	}
	if dst == "-" {
		return writeArchive(tar.NewWriter(a.out), srcHost, name, true)
	}
	dstHost, err := filepath.Abs(dst)
	if err != nil {
		return err
	}
	t, err := target(src, fi.IsDir(), dst, dstHost)
	if err != nil {
		return err
	}
	if name == "." {
		// The root: its contents, under a top entry that t renames.
		name = "root"
	}
	n, err := copyTree(srcHost, name, t, func(rel string) (string, error) {
		return inRoot(t.dir, rel, false)
	}, nil)
	a.copied(o, n, dst)
	return err
}

func (a *app) copyToContainer(ctx context.Context, o cpOptions, src, ref, dst string) error {
	rt, s, err := a.runtime()
	if err != nil {
		return err
	}
	ctr, err := lookup(ctx, rt, ref)
	if err != nil {
		return err
	}
	if ctr.Config.ReadOnly {
		return errors.New("container rootfs is marked read-only")
	}
	root, release, err := a.containerRoot(ctx, s, ctr)
	if err != nil {
		return err
	}
	defer release()
	owner := func(h *tar.Header) (int, int) { return 0, 0 }
	if o.archive {
		owner = func(h *tar.Header) (int, int) { return h.Uid, h.Gid }
	}
	// The destination is resolved inside the container's root: the
	// container's symlinks may point anywhere.
	dstHost, err := inRoot(root, dst, true)
	if err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Dir(dstHost)); err != nil {
		return fmt.Errorf("Could not find the file %s in container %s", path.Dir(path.Clean("/"+dst)), ref)
	}
	if src == "-" {
		fi, err := os.Stat(dstHost)
		if err != nil || !fi.IsDir() {
			return fmt.Errorf(`destination "%s:%s" must be a directory`, ref, dst)
		}
		_, err = extractArchive(tar.NewReader(a.in), copyTarget{dir: dstHost}, func(rel string) (string, error) {
			return inRoot(dstHost, rel, false)
		}, owner)
		return err
	}
	srcHost, err := filepath.Abs(src)
	if err != nil {
		return err
	}
	var fi os.FileInfo
	if o.followLink || strings.HasSuffix(src, "/") || strings.HasSuffix(src, "/.") {
		fi, err = os.Stat(srcHost)
	} else {
		fi, err = os.Lstat(srcHost)
	}
	if err != nil {
		return err
	}
	if o.followLink {
		if srcHost, err = filepath.EvalSymlinks(srcHost); err != nil {
			return err
		}
	}
	t, err := target(src, fi.IsDir(), dst, dstHost)
	if err != nil {
		return err
	}
	n, err := copyTree(srcHost, filepath.Base(srcHost), t, func(rel string) (string, error) {
		return inRoot(t.dir, rel, false)
	}, owner)
	a.copied(o, n, ref+":"+dst)
	return err
}

// copied says how much was copied, as Docker does on a terminal only.
func (a *app) copied(o cpOptions, n int64, dst string) {
	if !o.quiet && isTerminal(a.err) {
		fmt.Fprintf(a.err, "Successfully copied %s to %s\n", totalSize(n), dst)
	}
}

// copyTree copies the tree at src to t through a tar stream, as docker cp
// does, so that both directions share one set of rules; it returns the
// bytes of file content copied.
func copyTree(src, name string, t copyTarget, resolve func(string) (string, error), owner func(*tar.Header) (int, int)) (int64, error) {
	pr, pw := io.Pipe()
	go func() {
		pw.CloseWithError(writeArchive(tar.NewWriter(pw), src, name, false))
	}()
	n, err := extractArchive(tar.NewReader(pr), t, resolve, owner)
	pr.CloseWithError(errors.New("copy ended early"))
	return n, err
}

// writeArchive writes the tree at src as tar entries under name (symbolic
// links as links), then ends the archive. With whole, a "." name is
// written as such (a stream for the user); otherwise the top entry of a
// directory's contents is left out.
func writeArchive(tw *tar.Writer, src, name string, whole bool) error {
	err := filepath.WalkDir(src, func(p string, d iofs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		entry := path.Join(name, filepath.ToSlash(rel))
		if entry == "." && !whole {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		link := ""
		if info.Mode()&iofs.ModeSymlink != 0 {
			if link, err = os.Readlink(p); err != nil {
				return err
			}
		}
		h, err := tar.FileInfoHeader(info, link)
		if err != nil {
			return err
		}
		// Docker's archives: PAX, whole-second times, no atime or ctime.
		h.Name, h.Uname, h.Gname, h.Format = entry, "", "", tar.FormatPAX
		h.ModTime, h.AccessTime, h.ChangeTime = h.ModTime.Truncate(time.Second), time.Time{}, time.Time{}
		if info.IsDir() {
			h.Name += "/"
		}
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
		if !info.Mode().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(tw, f)
		return err
	})
	if err != nil {
		return err
	}
	return tw.Close()
}

// extractArchive unpacks tr into t.dir. Each entry is resolved on its own
// by resolve (relative to t.dir), so that no symbolic link, in the archive
// or already there, leads a write elsewhere. An existing entry is
// replaced unless both are directories. owner, when not nil, gives
// the owner of what is created; nil leaves it to this process. It returns
// the bytes of file content written.
func extractArchive(tr *tar.Reader, t copyTarget, resolve func(string) (string, error), owner func(*tar.Header) (int, int)) (int64, error) {
	var total int64
	type dirTime struct {
		path string
		t    time.Time
	}
	var dirs []dirTime
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return total, err
		}
		rel, ok := cleanEntry(h.Name)
		if !ok {
			return total, fmt.Errorf("invalid archive entry %q", h.Name)
		}
		if t.rename != "" {
			_, rest, _ := strings.Cut(rel, "/")
			rel = path.Join(t.rename, rest)
		}
		if rel == "." {
			continue
		}
		p, err := resolve(rel)
		if err != nil {
			return total, err
		}
		if fi, err := os.Lstat(p); err == nil && !(fi.IsDir() && h.Typeflag == tar.TypeDir) {
			if err := os.RemoveAll(p); err != nil {
				return total, err
			}
		}
		mode := h.FileInfo().Mode()
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.Mkdir(p, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
				return total, err
			}
			dirs = append(dirs, dirTime{p, h.ModTime})
		case tar.TypeReg:
			f, err := os.OpenFile(p, os.O_CREATE|os.O_WRONLY|os.O_TRUNC|unix.O_NOFOLLOW, 0o600)
			if err != nil {
				return total, err
			}
			n, err := io.Copy(f, tr)
			total += n
			if cerr := f.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return total, err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(h.Linkname, p); err != nil {
				return total, err
			}
		case tar.TypeLink:
			lrel, ok := cleanEntry(h.Linkname)
			if !ok {
				return total, fmt.Errorf("invalid archive link %q", h.Linkname)
			}
			old, err := resolve(lrel)
			if err != nil {
				return total, err
			}
			if err := os.Link(old, p); err != nil {
				return total, err
			}
			continue
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			dev := int(unix.Mkdev(uint32(h.Devmajor), uint32(h.Devminor)))
			if err := unix.Mknod(p, uint32(mode.Perm())|tarNodeType(h.Typeflag), dev); err != nil {
				return total, &os.PathError{Op: "mknod", Path: p, Err: err}
			}
		default:
			continue // xattrs headers and the like carry nothing to make
		}
		if owner != nil {
			uid, gid := owner(h)
			if err := os.Lchown(p, uid, gid); err != nil {
				return total, err
			}
		}
		if h.Typeflag != tar.TypeSymlink {
			if err := os.Chmod(p, mode&(iofs.ModePerm|iofs.ModeSetuid|iofs.ModeSetgid|iofs.ModeSticky)); err != nil {
				return total, err
			}
			if h.Typeflag != tar.TypeDir {
				os.Chtimes(p, h.ModTime, h.ModTime)
			}
		}
	}
	// Directories get their times last: what was written in them
	// changed them.
	for i := len(dirs) - 1; i >= 0; i-- {
		os.Chtimes(dirs[i].path, dirs[i].t, dirs[i].t)
	}
	return total, nil
}

// cleanEntry makes an archive entry's name relative and clean, refusing
// names that climb out of the archive.
func cleanEntry(name string) (string, bool) {
	p := path.Clean("/" + name)
	for _, c := range strings.Split(name, "/") {
		if c == ".." {
			return "", false
		}
	}
	if p == "/" {
		return ".", true
	}
	return p[1:], true
}

func tarNodeType(t byte) uint32 {
	switch t {
	case tar.TypeChar:
		return unix.S_IFCHR
	case tar.TypeBlock:
		return unix.S_IFBLK
	}
	return unix.S_IFIFO
}
