package network

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"github.com/strata-engine/strata/runtime/spec"
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
	cmd    *exec.Cmd
	done   chan struct{}
	api    string   // its API socket, for port forwards
	ready  *os.File // read end of its ready descriptor, until Ready
	stderr *limitedBuffer
}

// StartSlirp starts slirp4netns for the network namespace of pid; Ready
// waits until tap0 is configured. Starting is only the fork and exec, so
// that a caller can do it at a moment when no descriptor without
// close-on-exec is open (go-fuse's /dev/fuse, while a union mounts). Its API socket (for Publish) is made
// in dir, named through /proc/self/fd of a descriptor of dir that it
// inherits: a container directory's path may be longer than a socket
// address holds. The process has SIGKILL as its
// parent-death signal (the caller's thread must stay: the caller locks
// it), so it never outlives the monitor. Stop ends it.
func StartSlirp(pid int, dir string) (*Slirp, error) {
	path, err := exec.LookPath(Slirp4netns)
	if err != nil {
		return nil, err
	}
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	d, err := os.Open(dir)
	if err != nil {
		r.Close()
		w.Close()
		return nil, err
	}
	defer d.Close()
	os.Remove(filepath.Join(dir, slirpSocket))
	cmd := exec.Command(path, "--configure", "--mtu=65520", "--disable-host-loopback",
		"--ready-fd=3", "--api-socket=/proc/self/fd/4/"+slirpSocket, strconv.Itoa(pid), "tap0")
	cmd.ExtraFiles = []*os.File{w, d}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	s := &Slirp{cmd: cmd, done: make(chan struct{}), api: filepath.Join(dir, slirpSocket)}
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
		r.Close()
		return nil, fmt.Errorf("start slirp4netns: %w", err)
	}
	s.ready, s.stderr = r, &stderr
	return s, nil
}

// Ready waits until slirp4netns has configured tap0: one byte on its
// ready descriptor (EOF if it died first). On error it is stopped.
func (s *Slirp) Ready() error {
	defer s.ready.Close()
	ready := make(chan error, 1)
	go func() {
		b := make([]byte, 1)
		_, err := s.ready.Read(b)
		ready <- err
	}()
	var err error
	select {
	case err = <-ready:
	case <-time.After(10 * time.Second):
		err = errors.New("timed out")
	}
	if err != nil {
		s.Stop()
		return fmt.Errorf("slirp4netns: %v: %s", err, s.stderr.String())
	}
	return nil
}

// slirpSocket is slirp4netns's API socket in the container directory.
const slirpSocket = "slirp.sock"

// Stop ends slirp4netns and waits for it.
func (s *Slirp) Stop() {
	if s == nil {
		return
	}
	s.cmd.Process.Kill()
	<-s.done
	os.Remove(s.api)
}

// Publish forwards host ports to the container through slirp4netns's
// add_hostfwd: it listens in the caller's network namespace (the host's)
// and connects to the container's port from inside. A host port 0 is
// one found free first. It returns the bindings with the ports used.
func (s *Slirp) Publish(ports []spec.PortBinding) ([]spec.PortBinding, error) {
	var bound []spec.PortBinding
	for _, b := range ports {
		ip := b.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		if b.HostPort == 0 {
			p, err := freePort(b.Proto, ip)
			if err != nil {
				return nil, err
			}
			b.HostPort = p
		}
		req := map[string]any{"execute": "add_hostfwd", "arguments": map[string]any{
			"proto": b.Proto, "host_addr": ip, "host_port": b.HostPort, "guest_port": b.ContainerPort,
		}}
		var resp struct {
			Error *struct {
				Desc string `json:"desc"`
			} `json:"error"`
		}
		if err := s.call(req, &resp); err != nil {
			return nil, fmt.Errorf("slirp4netns: publish %s:%d: %w", ip, b.HostPort, err)
		}
		if resp.Error != nil {
			return nil, fmt.Errorf("Bind for %s:%d failed: %w (slirp4netns: %s)", ip, b.HostPort, ErrPortInUse, resp.Error.Desc)
		}
		bound = append(bound, b)
	}
	return bound, nil
}

// call sends one request to the API socket and decodes its answer.
func (s *Slirp) call(req, resp any) error {
	d, err := os.Open(filepath.Dir(s.api))
	if err != nil {
		return err
	}
	defer d.Close()
	c, err := net.Dial("unix", fmt.Sprintf("/proc/self/fd/%d/%s", d.Fd(), slirpSocket))
	if err != nil {
		return err
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if err := json.NewEncoder(c).Encode(req); err != nil {
		return err
	}
	c.(*net.UnixConn).CloseWrite()
	return json.NewDecoder(c).Decode(resp)
}

// freePort finds a port free on ip now (the kernel's choice).
func freePort(proto, ip string) (int, error) {
	if proto == "udp" {
		c, err := net.ListenPacket("udp4", net.JoinHostPort(ip, "0"))
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp4", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
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
