package build

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/strata-engine/strata/layers/index"
)

// fileReader opens a regular file of an image by its content digest.
type fileReader func(d index.Digest) (io.ReadCloser, error)

// parseChown reads --chown=USER[:GROUP], names looked up in the image's
// /etc/passwd and /etc/group. A user without a group uses the user's
// number for the group too, as Docker does.
func parseChown(spec string, x *index.Index, open fileReader) (*owner, error) {
	if spec == "" {
		return nil, nil
	}
	u, g, hasGroup := strings.Cut(spec, ":")
	uid, err := lookupID(u, "/etc/passwd", x, open)
	if err != nil {
		return nil, fmt.Errorf("unable to convert uid/gid chown string to host mapping: %w", err)
	}
	gid := uid
	if hasGroup {
		if gid, err = lookupID(g, "/etc/group", x, open); err != nil {
			return nil, fmt.Errorf("unable to convert uid/gid chown string to host mapping: %w", err)
		}
	}
	return &owner{uid: uid, gid: gid}, nil
}

func lookupID(name, file string, x *index.Index, open fileReader) (int, error) {
	if n, err := strconv.ParseUint(name, 10, 31); err == nil {
		return int(n), nil
	}
	if name == "" {
		return 0, fmt.Errorf("empty name")
	}
	what := "user"
	if file == "/etc/group" {
		what = "group"
	}
	notFound := fmt.Errorf("can't find %s %s: no %s entry in the image's %s", what, name, what, file)
	if x == nil {
		return 0, notFound
	}
	e, ok := x.Resolve(strings.TrimPrefix(resolveInImage(x, file), "/"))
	if !ok {
		return 0, notFound
	}
	d, ok := x.Digest(e)
	if !ok {
		return 0, notFound
	}
	rc, err := open(d)
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	sc := bufio.NewScanner(rc)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) >= 3 && f[0] == name {
			n, err := strconv.ParseUint(f[2], 10, 31)
			if err != nil {
				return 0, fmt.Errorf("%s: bad id for %s", file, name)
			}
			return int(n), nil
		}
	}
	return 0, notFound
}
