//go:build linux

package posixtest

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

func readlink(p string) (string, error) {
	buf := make([]byte, 4096)
	n, err := unix.Readlink(p, buf)
	if err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

func openFile(p string, flags int) (*os.File, error) {
	return os.OpenFile(p, flags, 0o644)
}

// direntInos returns d_ino of every entry of dir.
func direntInos(t *testing.T, dir string) map[string]uint64 {
	t.Helper()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY, 0)
	must(t, err)
	defer unix.Close(fd)
	out := map[string]uint64{}
	buf := make([]byte, 1<<16)
	for {
		n, err := unix.Getdents(fd, buf)
		must(t, err)
		if n == 0 {
			return out
		}
		for b := buf[:n]; len(b) > 0; {
			reclen := int(b[16]) | int(b[17])<<8
			ino := uint64(0)
			for i := 7; i >= 0; i-- {
				ino = ino<<8 | uint64(b[i])
			}
			name := b[19:reclen]
			if i := bytes.IndexByte(name, 0); i >= 0 {
				name = name[:i]
			}
			out[string(name)] = ino
			b = b[reclen:]
		}
	}
}

func xattrList(t *testing.T, p string) []string {
	t.Helper()
	buf := make([]byte, 4096)
	n, err := unix.Llistxattr(p, buf)
	must(t, err)
	var out []string
	for _, s := range strings.Split(string(buf[:n]), "\x00") {
		if s != "" && !strings.HasPrefix(s, "security.") {
			out = append(out, s)
		}
	}
	return out
}

// bigDirImage is a lower layer with a directory too large for one
// readdir request, and a top layer that changes part of it.
func bigDirImage() []Layer {
	bottom := Layer{Dir("big")}
	for i := 0; i < 1200; i++ {
		bottom = append(bottom, File(fmt.Sprintf("big/lower-%04d", i), "x"))
	}
	top := Layer{Dir("big")}
	for i := 0; i < 1200; i += 10 {
		top = append(top, Whiteout(fmt.Sprintf("big/lower-%04d", i)))
	}
	return []Layer{top, bottom}
}

func moreCases(img []Layer) []Case {
	return []Case{
		{Name: "bigdir", Layers: bigDirImage(), Run: func(t *testing.T, m Mounted, s *Setup) {
			// Listings that take many readdir requests, read in small
			// batches, stay complete and in order while the directory
			// changes between listings: through cached listings, the
			// kernel must notice every change made through the mount.
			dir := filepath.Join(m.Dir(), "big")
			want := map[string]bool{}
			for i := 0; i < 1200; i++ {
				if i%10 != 0 {
					want[fmt.Sprintf("lower-%04d", i)] = true
				}
			}
			check := func(when string) {
				t.Helper()
				f, err := os.Open(dir)
				must(t, err)
				defer f.Close()
				var got []string
				for {
					names, err := f.Readdirnames(7)
					got = append(got, names...)
					if err == io.EOF {
						break
					}
					must(t, err)
				}
				if s.Sorted && !sort.StringsAreSorted(got) {
					t.Errorf("%s: listing not sorted", when)
				}
				seen := map[string]bool{}
				for _, n := range got {
					if seen[n] || !want[n] {
						t.Errorf("%s: %q listed twice or not there", when, n)
					}
					seen[n] = true
				}
				if len(seen) != len(want) {
					t.Errorf("%s: got %d names, want %d", when, len(seen), len(want))
				}
			}
			check("first listing")
			check("second listing")
			for i := 1; i < 1200; i += 3 {
				if i%10 != 0 {
					must(t, os.Remove(filepath.Join(dir, fmt.Sprintf("lower-%04d", i))))
					delete(want, fmt.Sprintf("lower-%04d", i))
				}
			}
			check("after removals")
			for i := 0; i < 300; i++ {
				n := fmt.Sprintf("upper-%04d", i)
				write(t, filepath.Join(dir, n), "y")
				want[n] = true
			}
			must(t, os.Rename(filepath.Join(dir, "lower-0002"), filepath.Join(dir, "renamed")))
			delete(want, "lower-0002")
			want["renamed"] = true
			check("after creations and a rename")
			m.Remount(t)
			check("after remount")
		}},
		{Name: "xattrs", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			p := filepath.Join(m.Dir(), "attrs")
			buf := make([]byte, 64)
			n, err := unix.Lgetxattr(p, "user.color", buf)
			if err != nil || string(buf[:n]) != "blue" {
				t.Errorf("getxattr: got %q, %v, want blue", buf[:n], err)
			}
			if got := xattrList(t, p); strings.Join(got, ",") != "user.color" {
				t.Errorf("listxattr: got %q, want [user.color]", got)
			}
			must(t, unix.Lsetxattr(p, "user.size", []byte("big"), 0))
			must(t, unix.Lremovexattr(p, "user.color"))
			_, err = unix.Lgetxattr(p, "user.color", buf)
			wantErr(t, "getxattr removed", err, unix.ENODATA)
			if got := xattrList(t, p); strings.Join(got, ",") != "user.size" {
				t.Errorf("listxattr after set: got %q, want [user.size]", got)
			}
			wantRead(t, p, "attrs")
			must(t, unix.Chmod(filepath.Join(m.Dir(), "etc/passwd"), 0o600))
			if got := xattrList(t, filepath.Join(m.Dir(), "etc/passwd")); len(got) != 0 {
				t.Errorf("listxattr of a copied-up file: got %q, want none", got)
			}
			m.Remount(t)
			if got := xattrList(t, p); strings.Join(got, ",") != "user.size" {
				t.Errorf("listxattr after remount: got %q, want [user.size]", got)
			}
		}},
		{Name: "sparse", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			p := filepath.Join(m.Dir(), "sparse")
			if st := lstat(t, p); st.Size != 8<<20 {
				t.Fatalf("size: got %d, want %d", st.Size, 8<<20)
			}
			f, err := openFile(p, os.O_RDWR)
			must(t, err)
			defer f.Close()
			buf := make([]byte, 4)
			_, err = f.ReadAt(buf, 4<<20)
			must(t, err)
			if !bytes.Equal(buf, make([]byte, 4)) {
				t.Errorf("hole reads %q, want zeros", buf)
			}
			_, err = f.WriteAt([]byte("tail"), 8<<20-4)
			must(t, err)
			hole, err := unix.Seek(int(f.Fd()), 0, unix.SEEK_HOLE)
			must(t, err)
			if hole >= 8<<20-4 {
				t.Errorf("SEEK_HOLE: got %d, want a hole before the tail (the copy-up filled it)", hole)
			}
			data, err := unix.Seek(int(f.Fd()), hole, unix.SEEK_DATA)
			must(t, err)
			if data <= hole {
				t.Errorf("SEEK_DATA after the hole at %d: got %d", hole, data)
			}
			var st unix.Stat_t
			must(t, unix.Fstat(int(f.Fd()), &st))
			if st.Blocks*512 >= 4<<20 {
				t.Errorf("blocks: got %d bytes allocated, want the file to stay sparse", st.Blocks*512)
			}
			_, err = f.ReadAt(buf, 0)
			must(t, err)
			if string(buf) != "head" {
				t.Errorf("head: got %q, want head", buf)
			}
		}},
		{Name: "special_files", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			must(t, unix.Symlink("../etc/passwd", filepath.Join(d, "usr/pw")))
			wantRead(t, filepath.Join(d, "usr/pw"), "root:x:0:0\n")
			if got, err := readlink(filepath.Join(d, "usr/pw")); got != "../etc/passwd" || err != nil {
				t.Errorf("readlink: got %q, %v", got, err)
			}
			must(t, unix.Mkfifo(filepath.Join(d, "tmp/fifo"), 0o640))
			if st := lstat(t, filepath.Join(d, "tmp/fifo")); st.Mode != syscall.S_IFIFO|0o640 {
				t.Errorf("fifo mode: got %o, want %o", st.Mode, syscall.S_IFIFO|0o640)
			}
			wantList(t, s, filepath.Join(d, "tmp"), "fifo")
			must(t, unix.Lchown(filepath.Join(d, "usr/lib/liby.so"), 0, 0)) // copies up a symlink
			if got, err := readlink(filepath.Join(d, "usr/lib/liby.so")); got != "libx.so" || err != nil {
				t.Errorf("readlink after copy-up: got %q, %v", got, err)
			}
		}},
		{Name: "tmpfile", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := filepath.Join(m.Dir(), "etc")
			fd, err := unix.Open(d, unix.O_TMPFILE|unix.O_RDWR, 0o640)
			if err == unix.EOPNOTSUPP {
				t.Skip("no O_TMPFILE")
			}
			must(t, err)
			defer unix.Close(fd)
			_, err = unix.Write(fd, []byte("tmp data"))
			must(t, err)
			wantList(t, s, d, "passwd", "hosts", "shadow", "extra")
			must(t, unix.Linkat(unix.AT_FDCWD, "/proc/self/fd/"+strconv.Itoa(fd), unix.AT_FDCWD, filepath.Join(d, "linked"), unix.AT_SYMLINK_FOLLOW))
			wantRead(t, filepath.Join(d, "linked"), "tmp data")
			if st := lstat(t, filepath.Join(d, "linked")); st.Mode != syscall.S_IFREG|0o640 || st.Nlink != 1 {
				t.Errorf("linked tmpfile: got mode %o, %d links", st.Mode, st.Nlink)
			}
		}},
		{Name: "fallocate_statfs", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			p := filepath.Join(m.Dir(), "etc/passwd")
			f, err := openFile(p, os.O_RDWR)
			must(t, err)
			defer f.Close()
			must(t, unix.Fallocate(int(f.Fd()), 0, 0, 1<<20))
			if st := lstat(t, p); st.Size != 1<<20 {
				t.Errorf("size after fallocate: got %d, want %d", st.Size, 1<<20)
			}
			var sf unix.Statfs_t
			must(t, unix.Statfs(m.Dir(), &sf))
			if sf.Blocks == 0 || sf.Bsize == 0 {
				t.Errorf("statfs: got %d blocks of %d bytes", sf.Blocks, sf.Bsize)
			}
		}},
		{Name: "locks", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			p := filepath.Join(m.Dir(), "etc/passwd")
			a, err := openFile(p, os.O_RDONLY)
			must(t, err)
			defer a.Close()
			b, err := openFile(p, os.O_RDONLY)
			must(t, err)
			defer b.Close()
			must(t, unix.Flock(int(a.Fd()), unix.LOCK_EX|unix.LOCK_NB))
			wantErr(t, "second flock", unix.Flock(int(b.Fd()), unix.LOCK_EX|unix.LOCK_NB), unix.EWOULDBLOCK)
			must(t, unix.Flock(int(a.Fd()), unix.LOCK_UN))
			lk := unix.Flock_t{Type: unix.F_WRLCK, Whence: 0, Start: 0, Len: 10}
			c, err := openFile(p, os.O_RDWR)
			must(t, err)
			defer c.Close()
			must(t, unix.FcntlFlock(c.Fd(), unix.F_OFD_SETLK, &lk))
			d, err := openFile(p, os.O_RDWR)
			must(t, err)
			defer d.Close()
			wantErr(t, "second OFD lock", unix.FcntlFlock(d.Fd(), unix.F_OFD_SETLK, &lk), unix.EAGAIN)
		}},
		{Name: "acl", Layers: []Layer{{
			Dir("shared"),
			{Path: "shared/granted", Mode: syscall.S_IFREG | 0o640, Data: "for 1000",
				Xattrs: map[string]string{aclAccess: aclXattr(1000, 4, 4)}},
		}}, Ids: true, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			must(t, searchable(d))
			granted := filepath.Join(d, "shared/granted")
			// Access ACLs are enforced, from a lower layer...
			asUser(t, 1000, 1000, func() { wantRead(t, granted, "for 1000") })
			asUser(t, 1001, 1001, func() {
				_, err := os.ReadFile(granted)
				wantErr(t, "read without an ACL entry", err, unix.EACCES)
			})
			// ...and after a change: a chmod narrows the mask (group
			// bits) and so the named user's access.
			must(t, os.Chmod(granted, 0o600))
			asUser(t, 1000, 1000, func() {
				_, err := os.ReadFile(granted)
				wantErr(t, "read with the mask cleared", err, unix.EACCES)
			})
			must(t, os.Chmod(granted, 0o640))
			asUser(t, 1000, 1000, func() { wantRead(t, granted, "for 1000") })
			// A new ACL, on an upper file, takes effect at once.
			mine := filepath.Join(d, "shared/mine")
			must(t, os.WriteFile(mine, []byte("for 1001"), 0o600))
			must(t, unix.Setxattr(mine, aclAccess, []byte(aclXattr(1001, 4, 4)), 0))
			asUser(t, 1001, 1001, func() { wantRead(t, mine, "for 1001") })
			asUser(t, 1000, 1000, func() {
				_, err := os.ReadFile(mine)
				wantErr(t, "read of another user's ACL file", err, unix.EACCES)
			})
		}},
		{Name: "permissions", Layers: img, Ids: true, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			must(t, searchable(d))
			asUser(t, 1000, 1000, func() {
				_, err := os.ReadFile(filepath.Join(d, "etc/shadow"))
				wantErr(t, "read 0600 file of root", err, unix.EACCES)
				err = os.WriteFile(filepath.Join(d, "etc/passwd"), []byte("x"), 0o644)
				wantErr(t, "write 0644 file of root", err, unix.EACCES)
				err = os.WriteFile(filepath.Join(d, "etc/mine"), []byte("x"), 0o644)
				wantErr(t, "create in 0755 directory of root", err, unix.EACCES)
				wantErr(t, "chmod file of root", unix.Chmod(filepath.Join(d, "etc/passwd"), 0o777), unix.EPERM)
				wantErr(t, "unlink in 0755 directory of root", unix.Unlink(filepath.Join(d, "etc/passwd")), unix.EACCES)
				if err := os.WriteFile(filepath.Join(d, "tmp/mine"), []byte("mine"), 0o600); err != nil {
					t.Errorf("create in 1777 directory: %v", err)
				}
			})
			st := lstat(t, filepath.Join(d, "tmp/mine"))
			if st.Uid != 1000 || st.Gid != 1000 || st.Mode != syscall.S_IFREG|0o600 {
				t.Errorf("new file: got %d:%d mode %o, want 1000:1000 mode %o", st.Uid, st.Gid, st.Mode, syscall.S_IFREG|0o600)
			}
			wantRead(t, filepath.Join(d, "etc/passwd"), "root:x:0:0\n")
		}},
	}
}

// searchable lets everyone through the directories above dir that tests
// made (t.TempDir makes them 0700), so that other users reach the mount.
func searchable(dir string) error {
	tmp := os.TempDir()
	for p := filepath.Dir(dir); strings.HasPrefix(p, tmp+"/"); p = filepath.Dir(p) {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			return err
		}
		if st.Mode&0o001 == 0 {
			if err := unix.Chmod(p, st.Mode&0o7777|0o011); err != nil {
				return err
			}
		}
	}
	return nil
}

// aclAccess is the extended attribute that holds a POSIX access ACL.
const aclAccess = "system.posix_acl_access"

// aclXattr encodes an access ACL in the kernel's xattr form: the owner
// rw-, the named user uid with perm, the owning group and other nothing,
// and mask.
func aclXattr(uid uint32, perm, mask uint16) string {
	const (
		userObj, user, groupObj, maskTag, other = 0x01, 0x02, 0x04, 0x10, 0x20
		undefined                               = 0xffffffff
	)
	var b bytes.Buffer
	le := func(v uint32, n int) {
		for i := 0; i < n; i++ {
			b.WriteByte(byte(v >> (8 * i)))
		}
	}
	le(2, 4) // POSIX_ACL_XATTR_VERSION
	for _, e := range []struct {
		tag, perm uint16
		id        uint32
	}{{userObj, 6, undefined}, {user, perm, uid}, {groupObj, 0, undefined}, {maskTag, mask, undefined}, {other, 0, undefined}} {
		le(uint32(e.tag), 2)
		le(uint32(e.perm), 2)
		le(e.id, 4)
	}
	return b.String()
}
