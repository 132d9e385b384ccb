package network

import (
	"errors"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/strata-engine/strata/runtime/spec"
)

// TestProxy publishes a TCP and a UDP echo server of this test on free
// loopback ports, talks through them, finds a taken port refused, and
// nothing answering after Close.
func TestProxy(t *testing.T) {
	tl, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()
	go func() {
		for {
			c, err := tl.Accept()
			if err != nil {
				return
			}
			go func() { io.Copy(c, c); c.Close() }()
		}
	}()
	ul, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ul.Close()
	go func() {
		b := make([]byte, 1500)
		for {
			n, from, err := ul.ReadFrom(b)
			if err != nil {
				return
			}
			ul.WriteTo(b[:n], from)
		}
	}()
	// One container port for both: the target's ports differ, so
	// publish each to its own "container" in turn.
	tp := tl.Addr().(*net.TCPAddr).Port
	up := ul.LocalAddr().(*net.UDPAddr).Port
	p, bound, err := Publish([]spec.PortBinding{{HostIP: "127.0.0.1", ContainerPort: tp, Proto: "tcp"}}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pu, boundU, err := Publish([]spec.PortBinding{{HostIP: "127.0.0.1", ContainerPort: up, Proto: "udp"}}, "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	defer pu.Close()
	if bound[0].HostPort == 0 || boundU[0].HostPort == 0 {
		t.Fatalf("no port chosen: %+v %+v", bound, boundU)
	}
	hostTCP := net.JoinHostPort("127.0.0.1", strconv.Itoa(bound[0].HostPort))

	c, err := net.Dial("tcp4", hostTCP)
	if err != nil {
		t.Fatal(err)
	}
	c.Write([]byte("ping"))
	c.(*net.TCPConn).CloseWrite()
	got, _ := io.ReadAll(c)
	c.Close()
	if string(got) != "ping" {
		t.Errorf("TCP through the proxy: got %q, want %q", got, "ping")
	}

	uc, err := net.Dial("udp4", net.JoinHostPort("127.0.0.1", strconv.Itoa(boundU[0].HostPort)))
	if err != nil {
		t.Fatal(err)
	}
	defer uc.Close()
	uc.SetDeadline(time.Now().Add(5 * time.Second))
	uc.Write([]byte("dgram"))
	b := make([]byte, 100)
	n, err := uc.Read(b)
	if err != nil || string(b[:n]) != "dgram" {
		t.Errorf("UDP through the proxy: got %q %v, want %q", b[:n], err, "dgram")
	}

	// The same host port again: refused, clearly.
	_, _, err = Publish([]spec.PortBinding{{HostIP: "127.0.0.1", HostPort: bound[0].HostPort, ContainerPort: tp, Proto: "tcp"}}, "127.0.0.1")
	if !errors.Is(err, ErrPortInUse) {
		t.Errorf("port in use: got %v, want ErrPortInUse", err)
	}

	p.Close()
	if c, err := net.Dial("tcp4", hostTCP); err == nil {
		c.Close()
		t.Error("dial after Close: got a connection, want refused")
	}
}
