package cli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
)

// daemonEnv marks the detached copy of a mounting command: it serves the
// mount and reports on fd 3 once the mount is live (or why it is not).
const daemonEnv = "STRATA_MOUNT_DAEMON"

// mountServer is a live mount that serves until it is unmounted.
type mountServer interface {
	Unmount() error
	Wait()
}

// serveMount runs mount and serves the result. In the foreground it
// serves here until the mount is unmounted (or SIGINT/SIGTERM unmounts
// it). Otherwise it starts a detached copy of this process (same
// arguments, a new session, no terminal) and returns 0 only once that copy
// says the mount is live — the contract of fuse-overlayfs and of mount(8)
// helpers. Go cannot fork without exec, hence the copy.
func serveMount(stderr io.Writer, foreground bool, mount func() (mountServer, error)) int {
	if os.Getenv(daemonEnv) == "1" {
		return serveDaemon(mount)
	}
	if foreground {
		srv, err := mount()
		if err != nil {
			fmt.Fprintln(stderr, "Error:", err)
			return 1
		}
		sig := make(chan os.Signal, 1)
		signal.Notify(sig, os.Interrupt, syscall.SIGTERM)
		go func() {
			<-sig
			srv.Unmount()
		}()
		srv.Wait()
		return 0
	}
	r, w, err := os.Pipe()
	if err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	exe, err := os.Executable()
	if err != nil {
		exe = "/proc/self/exe"
	}
	cmd := exec.Command(exe, os.Args[1:]...)
	cmd.Args[0] = os.Args[0] // keep the name: strata-fs dispatches on it
	cmd.Env = append(os.Environ(), daemonEnv+"=1")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(stderr, "Error:", err)
		return 1
	}
	w.Close()
	msg, _ := bufio.NewReader(r).ReadString('\n')
	r.Close()
	msg = strings.TrimSpace(msg)
	if msg == "ok" {
		cmd.Process.Release()
		return 0
	}
	cmd.Wait()
	if msg == "" {
		msg = "the mount process exited before the mount was ready"
	}
	fmt.Fprintln(stderr, "Error:", msg)
	return 1
}

// serveDaemon is the detached copy: mount, report on fd 3, serve.
func serveDaemon(mount func() (mountServer, error)) int {
	report := os.NewFile(3, "ready")
	if report == nil {
		return 1
	}
	if null, err := os.OpenFile(os.DevNull, os.O_RDWR, 0); err == nil {
		// Nothing may write to the terminal the caller is leaving.
		syscall.Dup2(int(null.Fd()), 0)
		syscall.Dup2(int(null.Fd()), 1)
		syscall.Dup2(int(null.Fd()), 2)
		null.Close()
	}
	signal.Ignore(syscall.SIGHUP)
	srv, err := mount()
	if err != nil {
		fmt.Fprintln(report, strings.ReplaceAll(err.Error(), "\n", " "))
		report.Close()
		return 1
	}
	fmt.Fprintln(report, "ok")
	report.Close()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, os.Interrupt)
	go func() {
		<-sig
		if srv.Unmount() != nil {
			// The mount is busy, or lives on in a mount namespace that
			// copied it: leave rather than linger; the kernel fails
			// further requests (ENOTCONN) and umount -l clears it.
			os.Exit(1)
		}
	}()
	srv.Wait()
	return 0
}

var errUsage = errors.New("usage")
