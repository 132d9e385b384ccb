package cli

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/strata-engine/strata/runtime/spec"
)

// parsePublish reads one -p value as Docker does:
// [[HOST_IP:]HOST_PORT:]CONTAINER_PORT[/PROTO]; an empty host port is a
// free one chosen at start.
func parsePublish(s string) (spec.PortBinding, error) {
	var b spec.PortBinding
	rest, proto, _ := strings.Cut(s, "/")
	if proto == "" {
		proto = "tcp"
	}
	if proto != "tcp" && proto != "udp" {
		return b, fmt.Errorf("invalid proto: %s", proto)
	}
	b.Proto = proto
	var hostIP, hostPort, ctrPort string
	// An IPv6 host address would be bracketed; strata publishes on
	// IPv4 only.
	parts := strings.Split(rest, ":")
	switch len(parts) {
	case 1:
		ctrPort = parts[0]
	case 2:
		hostPort, ctrPort = parts[0], parts[1]
	case 3:
		hostIP, hostPort, ctrPort = parts[0], parts[1], parts[2]
	default:
		return b, fmt.Errorf("invalid port format for --publish: %s", s)
	}
	if strings.Contains(hostPort, "-") || strings.Contains(ctrPort, "-") {
		return b, fmt.Errorf("invalid port format for --publish: %s: port ranges are not supported", s)
	}
	n, err := strconv.Atoi(ctrPort)
	if err != nil || n < 1 || n > 65535 {
		return b, fmt.Errorf("invalid containerPort: %s", ctrPort)
	}
	b.ContainerPort = n
	if hostPort != "" {
		n, err := strconv.Atoi(hostPort)
		if err != nil || n < 1 || n > 65535 {
			return b, fmt.Errorf("invalid hostPort: %s", hostPort)
		}
		b.HostPort = n
	}
	if hostIP != "" {
		a, err := netip.ParseAddr(hostIP)
		if err != nil || !a.Is4() {
			return b, fmt.Errorf("invalid IP address: %s", hostIP)
		}
		b.HostIP = a.String()
	}
	return b, nil
}

// portsColumn is ps's PORTS: "0.0.0.0:8080->80/tcp, 53/udp".
func portsColumn(bindings []spec.PortBinding, exposed []string) string {
	var out []string
	published := map[string]bool{}
	for _, b := range bindings {
		ip := b.HostIP
		if ip == "" {
			ip = "0.0.0.0"
		}
		k := fmt.Sprintf("%d/%s", b.ContainerPort, b.Proto)
		published[k] = true
		out = append(out, fmt.Sprintf("%s:%d->%s", ip, b.HostPort, k))
	}
	for _, e := range exposed {
		if !published[e] {
			out = append(out, e)
		}
	}
	return strings.Join(out, ", ")
}
