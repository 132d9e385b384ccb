package network

import (
	"bufio"
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/strata-engine/strata/runtime/spec"
)

// RefreshHosts rewrites the /etc/hosts of every container on a
// user-defined network so that each resolves the others by name: the
// lines of addresses in the network's subnet are replaced by one per
// lease (its own address under its host name, the others' under their
// names); every other line (loopback, other networks) is kept. The
// default network is left alone: as Docker's, it has no name
// resolution. Files are rewritten in place, not renamed: running
// containers have them bind-mounted, and a bind mount follows the inode.
func RefreshHosts(n spec.NetworkConfig) error {
	if n.Name == DefaultName {
		return nil
	}
	subnet, err := netip.ParsePrefix(n.Subnet)
	if err != nil {
		return err
	}
	return locked(n.Bridge, func(r *record) (bool, error) {
		reclaim(r)
		addrs := make([]string, 0, len(r.Leases))
		for a := range r.Leases {
			addrs = append(addrs, a)
		}
		sort.Strings(addrs)
		for _, self := range addrs {
			l := r.Leases[self]
			var lines bytes.Buffer
			for _, a := range addrs {
				o := r.Leases[a]
				names := o.Names
				if a == self {
					names = append([]string{l.Hostname}, l.Names...)
				}
				fmt.Fprintf(&lines, "%s\t%s\n", a, strings.Join(dedupe(names), " "))
			}
			if err := rewriteHosts(filepath.Join(l.Dir, spec.HostsFile), subnet, lines.Bytes()); err != nil {
				return true, err
			}
		}
		return true, nil
	})
}

func dedupe(s []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, v := range s {
		if v != "" && !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	return out
}

// rewriteHosts replaces the lines of path whose address is in subnet by
// lines, in place.
func rewriteHosts(path string, subnet netip.Prefix, lines []byte) error {
	old, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil // the container is being removed
		}
		return err
	}
	var b bytes.Buffer
	sc := bufio.NewScanner(bytes.NewReader(old))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			if a, err := netip.ParseAddr(f[0]); err == nil && subnet.Contains(a) {
				continue
			}
		}
		b.WriteString(sc.Text() + "\n")
	}
	b.Write(lines)
	if bytes.Equal(b.Bytes(), old) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(b.Bytes())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
