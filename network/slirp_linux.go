package network

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"syscall"
	"time"
)

// Slirp4netns is the network mode of unprivileged containers: a
// slirp4netns process (a user-mode TCP/IP stack) gives the container's
// namespace a tap0 with 10.0.2.100/24, a default route through 10.0.2.2
// and a DNS forwarder at 10.0.2.3, and carries its traffic through
// ordinary sockets of the caller's — no bridge, no NAT rules, no root.
const Slirp4netns = "slirp4netns"

// Slirp addresses, slirp4netns's defaults.
const (
	SlirpAddress = "10.0.2.100"
	SlirpGateway = "10.0.2.2"
	SlirpDNS     = "10.0.2.3"
)

// SlirpAvailable reports, as an error saying what is missing, whether
// slirp4netns can give this user a network: the program on PATH and
// /dev/net/tun openable.
func SlirpAvailable() error {
	if _, err := exec.LookPath(Slirp4netns); err != nil {
		return errors.New("slirp4netns is not installed")
	}
	f, err := os.OpenFile("/dev/net/tun", os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("/dev/net/tun is not usable: %w", err)
	}
	f.Close()
	return nil
}

// Slirp is a running slirp4netns serving one container.
type Slirp struct {
	cmd  *exec.Cmd
	done chan struct{}
}

// StartSlirp starts slirp4netns for the network namespace of pid and
// waits until tap0 is configured. The process has SIGKILL as its
// parent-death signal (the caller's thread must stay: the caller locks
// it), so it never outlives the monitor. Stop ends it.
func StartSlirp(pid int) (*Slirp, error) {
	path, err := exec.LookPath(Slirp4netns)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	cmd := exec.Command(path, "--configure", "--mtu=65520", "--disable-host-loopback",
		"--ready-fd=3", strconv.Itoa(pid), "tap0")
	cmd.ExtraFiles = []*os.File{w}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	s := &Slirp{cmd: cmd, done: make(chan struct{})}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig fires when the forking thread exits: this one
		// stays, locked, until slirp4netns is gone.
		runtime.LockOSThread()
		err := cmd.Start()
		started <- err
		if err == nil {
			cmd.Wait()
		}
		close(s.done)
	}()
	err = <-started
	w.Close()
	if err != nil {
		return nil, fmt.Errorf("start slirp4netns: %w", err)
	}
	// One byte on the ready descriptor once tap0 is up; EOF if it
	// died first.
	ready := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		_, err := r.Read(b)
		ready <- err
	}()
	select {
	case err = <-ready:
	case <-time.After(10 * time.Second):
		err = errors.New("timed out")
	}
	if err != nil {
		s.Stop()
		return nil, fmt.Errorf("slirp4netns: %v: %s", err, stderr.String())
	}
	return s, nil
}

// Stop ends slirp4netns and waits for it.
func (s *Slirp) Stop() {
	if s == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
}

// limitedBuffer keeps the first 4 KiB written (slirp4netns's errors).
type limitedBuffer struct{ b []byte }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if n := 4096 - len(l.b); n > 0 {
		l.b = append(l.b, p[:min(n, len(p))]...)
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return string(l.b) }
