package fs

import (
	"fmt"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"
)

// upperMeta is what our private xattrs on an upper object say (see the
// package doc for the format).
type upperMeta struct {
	origin   uint64 // union inode number before copy-up; 0 for none
	metacopy string // hex sha256 of the object holding the data; "" when the upper file has it
	stat     *statOverride
}

// statOverride is ownership and mode the upper filesystem could not hold:
// the server was not allowed to chown, or to mknod a device.
type statOverride struct {
	uid, gid uint32
	mode     uint32 // type and permission bits
	rdev     uint64
}

func (s *statOverride) String() string {
	v := fmt.Sprintf("%d:%d:%o", s.uid, s.gid, s.mode)
	if s.rdev != 0 {
		v += ":" + strconv.FormatUint(s.rdev, 10)
	}
	return v
}

func parseStatOverride(v string) (*statOverride, bool) {
	f := strings.Split(v, ":")
	if len(f) < 3 || len(f) > 4 {
		return nil, false
	}
	uid, e1 := strconv.ParseUint(f[0], 10, 32)
	gid, e2 := strconv.ParseUint(f[1], 10, 32)
	mode, e3 := strconv.ParseUint(f[2], 8, 32)
	if e1 != nil || e2 != nil || e3 != nil {
		return nil, false
	}
	s := &statOverride{uid: uint32(uid), gid: uint32(gid), mode: uint32(mode)}
	if len(f) == 4 {
		r, err := strconv.ParseUint(f[3], 10, 64)
		if err != nil {
			return nil, false
		}
		s.rdev = r
	}
	return s, true
}

// readMeta reads the private xattrs of the upper object at abs. One
// listxattr answers the common case of a file that has none.
func (u *union) readMeta(abs string) (upperMeta, error) {
	var m upperMeta
	if !u.xattrs {
		return m, nil
	}
	names, err := xattrNames(func(b []byte) (int, error) { return unix.Llistxattr(abs, b) })
	if err != nil {
		return m, err
	}
	for _, name := range names {
		if !strings.HasPrefix(name, xattrPrefix) {
			continue
		}
		v, err := xattrValue(func(b []byte) (int, error) { return unix.Lgetxattr(abs, name, b) })
		if err != nil {
			continue
		}
		switch name {
		case xattrOrigin:
			m.origin, _ = strconv.ParseUint(string(v), 10, 64)
		case xattrMetacopy:
			if len(v) == 64 {
				m.metacopy = string(v)
			}
		case xattrStat:
			m.stat, _ = parseStatOverride(string(v))
		}
	}
	return m, nil
}

// apply lays the overrides of m over attributes read from the upper.
func (m *upperMeta) apply(a *attr) {
	if s := m.stat; s != nil {
		a.uid, a.gid = s.uid, s.gid
		a.mode = s.mode
		a.rdev = s.rdev
	}
}

func setMetaFd(fd int, name, value string) error {
	return unix.Fsetxattr(fd, name, []byte(value), 0)
}

func setMetaPath(abs, name, value string) error {
	return unix.Lsetxattr(abs, name, []byte(value), 0)
}

// isDeviceMode reports whether mode is a type that mknod makes.
func isDeviceMode(mode uint32) bool {
	switch mode & syscall.S_IFMT {
	case syscall.S_IFCHR, syscall.S_IFBLK, syscall.S_IFIFO, syscall.S_IFSOCK:
		return true
	}
	return false
}
