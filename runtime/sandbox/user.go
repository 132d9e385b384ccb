package sandbox

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// identity is who a command runs as.
type identity struct {
	uid, gid uint32
	groups   []uint32
	home     string
}

// lookupUser resolves a docker-style user ("", name, uid, name:group,
// uid:gid) against passwd and group files of the container (either may be
// missing). As Docker: a numeric uid without an entry runs with gid 0 and
// home "/"; supplementary groups are those listing the user by name.
func lookupUser(spec string, passwd, group io.Reader) (identity, error) {
	id := identity{home: "/"}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	users := parseColon(passwd, 7)
	groups := parseColon(group, 4)

	name := ""
	if n, err := strconv.ParseUint(userPart, 10, 32); err == nil {
		id.uid = uint32(n)
		for _, u := range users {
			if u[2] == userPart {
				name, id.home = u[0], u[5]
				g, _ := strconv.ParseUint(u[3], 10, 32)
				id.gid = uint32(g)
				break
			}
		}
	} else {
		found := false
		for _, u := range users {
			if u[0] == userPart {
				uid, err1 := strconv.ParseUint(u[2], 10, 32)
				gid, err2 := strconv.ParseUint(u[3], 10, 32)
				if err1 != nil || err2 != nil {
					return id, fmt.Errorf("user %q: bad passwd entry", userPart)
				}
				id.uid, id.gid, id.home, name = uint32(uid), uint32(gid), u[5], u[0]
				found = true
				break
			}
		}
		if !found {
			return id, fmt.Errorf("unable to find user %s: no matching entries in passwd file", userPart)
		}
	}
	if hasGroup {
		if n, err := strconv.ParseUint(groupPart, 10, 32); err == nil {
			id.gid = uint32(n)
		} else {
			found := false
			for _, g := range groups {
				if g[0] == groupPart {
					n, err := strconv.ParseUint(g[2], 10, 32)
					if err != nil {
						return id, fmt.Errorf("group %q: bad group entry", groupPart)
					}
					id.gid, found = uint32(n), true
					break
				}
			}
			if !found {
				return id, fmt.Errorf("unable to find group %s: no matching entries in group file", groupPart)
			}
		}
	}
	if name != "" && !hasGroup {
		for _, g := range groups {
			for _, m := range strings.Split(g[3], ",") {
				if m == name {
					if n, err := strconv.ParseUint(g[2], 10, 32); err == nil && uint32(n) != id.gid {
						id.groups = append(id.groups, uint32(n))
					}
				}
			}
		}
	}
	if id.home == "" {
		id.home = "/"
	}
	return id, nil
}

// parseColon reads a colon-separated file, keeping lines with at least n
// fields (padded to n). A nil reader is an empty file.
func parseColon(r io.Reader, n int) [][]string {
	if r == nil {
		return nil
	}
	var out [][]string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Split(line, ":")
		if len(f) < 3 {
			continue
		}
		for len(f) < n {
			f = append(f, "")
		}
		out = append(out, f)
	}
	return out
}

// openOptional opens path, or returns a nil reader when it is missing.
func openOptional(path string) (io.Reader, func()) {
	f, err := os.Open(path)
	if err != nil {
		return nil, func() {}
	}
	return f, func() { f.Close() }
}
