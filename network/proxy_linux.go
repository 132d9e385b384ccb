package network

import (
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"time"

	"github.com/strata-engine/strata/runtime/spec"
)

// ErrPortInUse: a host port to publish is taken.
var ErrPortInUse = errors.New("port is already allocated")

// Proxy publishes a container's ports on the host: a listener per port,
// in the monitor (the host's network namespace), copying each connection
// to the container's address, as Docker's docker-proxy does. Userland
// rather than DNAT rules: it answers on loopback (which DNAT cannot reach
// without route_localnet), needs no rule per port, and stops with the
// monitor however it dies. Close stops every listener and connection.
type Proxy struct {
	mu      sync.Mutex
	closers map[io.Closer]bool
	wg      sync.WaitGroup
	closed  bool
}

// Publish binds every port of ports (HostPort 0: a free one) and
// forwards to ip. It returns the bindings with the ports chosen. On
// error nothing stays bound.
func Publish(ports []spec.PortBinding, ip string) (*Proxy, []spec.PortBinding, error) {
	p := &Proxy{closers: map[io.Closer]bool{}}
	var bound []spec.PortBinding
	for _, b := range ports {
		host := net.JoinHostPort(b.HostIP, strconv.Itoa(b.HostPort))
		target := net.JoinHostPort(ip, strconv.Itoa(b.ContainerPort))
		var err error
		switch b.Proto {
		case "udp":
			var c net.PacketConn
			if c, err = net.ListenPacket("udp4", host); err == nil {
				b.HostPort = c.LocalAddr().(*net.UDPAddr).Port
				p.add(c)
				p.wg.Go(func() { p.serveUDP(c.(*net.UDPConn), target) })
			}
		default:
			var l net.Listener
			if l, err = net.Listen("tcp4", host); err == nil {
				b.HostPort = l.Addr().(*net.TCPAddr).Port
				p.add(l)
				p.wg.Go(func() { p.serveTCP(l, target) })
			}
		}
		if err != nil {
			p.Close()
			hostIP := b.HostIP
			if hostIP == "" {
				hostIP = "0.0.0.0"
			}
			return nil, nil, fmt.Errorf("Bind for %s:%d failed: %w (%v)", hostIP, b.HostPort, ErrPortInUse, unwrapSyscall(err))
		}
		bound = append(bound, b)
	}
	return p, bound, nil
}

func unwrapSyscall(err error) error {
	var se interface{ Unwrap() error }
	for errors.As(err, &se) {
		inner := se.Unwrap()
		if inner == nil {
			break
		}
		err = inner
	}
	return err
}

// add registers c to be closed by Close; false if already closed.
func (p *Proxy) add(c io.Closer) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		c.Close()
		return false
	}
	p.closers[c] = true
	return true
}

// done closes c and forgets it.
func (p *Proxy) done(c io.Closer) {
	c.Close()
	p.mu.Lock()
	delete(p.closers, c)
	p.mu.Unlock()
}

// Close stops the listeners and their connections, and waits for every
// goroutine to end.
func (p *Proxy) Close() {
	if p == nil {
		return
	}
	p.mu.Lock()
	p.closed = true
	cs := p.closers
	p.closers = nil
	p.mu.Unlock()
	for c := range cs {
		c.Close()
	}
	p.wg.Wait()
}

func (p *Proxy) serveTCP(l net.Listener, target string) {
	for {
		in, err := l.Accept()
		if err != nil {
			return // closed
		}
		if !p.add(in) {
			return
		}
		p.wg.Go(func() {
			defer p.done(in)
			out, err := net.DialTimeout("tcp4", target, 5*time.Second)
			if err != nil {
				return
			}
			if !p.add(out) {
				return
			}
			defer p.done(out)
			// Both ways; a half-close passes on, so that
			// request/response protocols that shut down writing
			// still get their answer.
			done := make(chan struct{})
			go func() {
				io.Copy(out, in)
				out.(*net.TCPConn).CloseWrite()
				close(done)
			}()
			io.Copy(in, out)
			in.(*net.TCPConn).CloseWrite()
			<-done
		})
	}
}

// udpIdle is how long a UDP flow without packets keeps its socket.
const udpIdle = 90 * time.Second

// serveUDP relays datagrams: one socket to the container per client
// address, whose replies go back to that client.
func (p *Proxy) serveUDP(c *net.UDPConn, target string) {
	raddr, err := net.ResolveUDPAddr("udp4", target)
	if err != nil {
		return
	}
	var mu sync.Mutex
	flows := map[string]*net.UDPConn{}
	buf := make([]byte, 65536)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return // closed
		}
		key := from.String()
		mu.Lock()
		out := flows[key]
		if out == nil {
			if out, err = net.DialUDP("udp4", nil, raddr); err != nil || !p.add(out) {
				mu.Unlock()
				continue
			}
			flows[key] = out
			p.wg.Go(func() {
				defer func() {
					mu.Lock()
					delete(flows, key)
					mu.Unlock()
					p.done(out)
				}()
				b := make([]byte, 65536)
				for {
					out.SetReadDeadline(time.Now().Add(udpIdle))
					n, err := out.Read(b)
					if err != nil {
						return
					}
					c.WriteToUDP(b[:n], from)
				}
			})
		}
		mu.Unlock()
		out.Write(buf[:n])
	}
}
