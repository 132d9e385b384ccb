package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/strata-engine/strata/fs"
)

// fsNames are the names under which the binary behaves as strata-fs: the
// fuse-overlayfs-compatible union filesystem (`make install` links them).
// mount.fuse.strata-fs is what mount(8) runs for `mount -t fuse.strata-fs`.
var fsNames = map[string]bool{"strata-fs": true, "mount.fuse.strata-fs": true}

const fsUsage = `Usage: strata-fs [-f] [-d] -o lowerdir=DIR[:DIR...][,upperdir=DIR,workdir=DIR][,OPTION...] MOUNTPOINT
       strata-fs SOURCE MOUNTPOINT -o OPTIONS      (the form mount -t fuse.strata-fs uses)

A union filesystem compatible with fuse-overlayfs. Lower directories are given
top first; without upperdir the mount is read-only. Options besides those are
fuse-overlayfs's (volatile, fsync=0, timeout=SECONDS, fsname=NAME,
allow_other, debug) and strata's own (nopassthrough); generic mount options
(rw, dev, suid, exec, ...) are accepted. Unmount with fusermount3 -u or umount.

  -f   stay in the foreground
  -d   log every request (implies -f)
  -o   options, may be repeated
`

// fsMain runs strata-fs with args (without the program name).
func fsMain(args []string, stdout, stderr io.Writer) int {
	var (
		opts                []string
		pos                 []string
		foreground, verbose bool
	)
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "-h" || a == "--help":
			fmt.Fprint(stdout, fsUsage)
			return 0
		case a == "-V" || a == "--version":
			fmt.Fprintln(stdout, "strata-fs", version)
			return 0
		case a == "-f":
			foreground = true
		case a == "-d" || a == "--debug":
			verbose, foreground = true, true
		case a == "-s":
			// fuse's single-threaded flag: the server is safe either way.
		case a == "-o":
			if i+1 >= len(args) {
				fmt.Fprint(stderr, "strata-fs: -o needs a value\n\n"+fsUsage)
				return 1
			}
			i++
			opts = append(opts, args[i])
		case strings.HasPrefix(a, "-o"):
			opts = append(opts, a[2:])
		case strings.HasPrefix(a, "-") && a != "-":
			fmt.Fprintf(stderr, "strata-fs: unknown option %s\n\n%s", a, fsUsage)
			return 1
		default:
			pos = append(pos, a)
		}
	}
	var source, mnt string
	switch len(pos) {
	case 1:
		mnt = pos[0]
	case 2:
		source, mnt = pos[0], pos[1]
	default:
		fmt.Fprint(stderr, "strata-fs: want a mount point\n\n"+fsUsage)
		return 1
	}
	o, err := fs.ParseOverlayOptions(strings.Join(opts, ","))
	if err != nil {
		fmt.Fprintln(stderr, "strata-fs:", err)
		return 1
	}
	if len(o.Lowers) == 0 {
		fmt.Fprint(stderr, "strata-fs: no lowerdir given\n\n"+fsUsage)
		return 1
	}
	o.Debug = o.Debug || verbose
	if o.FsName == "" && source != "" && source != "none" {
		o.FsName = source
	}
	mnt, err = filepath.Abs(mnt)
	if err != nil {
		fmt.Fprintln(stderr, "strata-fs:", err)
		return 1
	}
	return serveMount(stderr, foreground, func() (mountServer, error) {
		srv, err := mountRetry(mnt, o)
		if err != nil {
			return nil, err
		}
		return profiled(srv), nil
	})
}

// mountRetry mounts, waiting up to a few seconds for the upper and work
// directories while another server still holds them: the daemon of a
// mount that was just unmounted (fusermount3 -u returns before that
// daemon has exited) lets go of them a moment later.
func mountRetry(mnt string, o fs.Options) (*fs.Server, error) {
	deadline := time.Now().Add(3 * time.Second)
	for {
		srv, err := fs.Mount(context.Background(), mnt, o)
		if !errors.Is(err, fs.ErrInUse) || time.Now().After(deadline) {
			return srv, err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// profiled writes a CPU profile of the server's life to the file named by
// $STRATA_CPUPROFILE, when set: how the filesystem's costs are found.
func profiled(srv mountServer) mountServer {
	path := os.Getenv("STRATA_CPUPROFILE")
	if path == "" {
		return srv
	}
	f, err := os.Create(path)
	if err != nil {
		return srv
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return srv
	}
	return &profiledServer{mountServer: srv, f: f}
}

type profiledServer struct {
	mountServer
	f *os.File
}

func (p *profiledServer) Wait() {
	p.mountServer.Wait()
	pprof.StopCPUProfile()
	p.f.Close()
}
