package runtime

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/strata-engine/strata/runtime/spec"
)

// publishedPorts merges the image's exposed ports with --expose and the
// published ones (which Docker also counts as exposed), and adds a
// random-port binding for each exposed port not published when
// PublishAll (-P).
func publishedPorts(image []string, opts CreateOptions) (exposed []string, ports []spec.PortBinding, err error) {
	seen := map[string]bool{}
	add := func(p string) error {
		num, proto, _ := strings.Cut(p, "/")
		if proto == "" {
			proto = "tcp"
		}
		n, err := strconv.Atoi(num)
		if err != nil || n < 1 || n > 65535 || (proto != "tcp" && proto != "udp") {
			return fmt.Errorf("create: invalid exposed port %q", p)
		}
		k := fmt.Sprintf("%d/%s", n, proto)
		if !seen[k] {
			seen[k] = true
			exposed = append(exposed, k)
		}
		return nil
	}
	for _, p := range append(append([]string(nil), image...), opts.Expose...) {
		if err := add(p); err != nil {
			return nil, nil, err
		}
	}
	published := map[string]bool{}
	for _, b := range opts.Ports {
		k := fmt.Sprintf("%d/%s", b.ContainerPort, b.Proto)
		add(k)
		published[k] = true
		ports = append(ports, b)
	}
	sort.Strings(exposed)
	if opts.PublishAll {
		for _, k := range exposed {
			if published[k] {
				continue
			}
			num, proto, _ := strings.Cut(k, "/")
			n, _ := strconv.Atoi(num)
			ports = append(ports, spec.PortBinding{ContainerPort: n, Proto: proto})
		}
	}
	return exposed, ports, nil
}
