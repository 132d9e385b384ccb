//go:build linux

package posixtest

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

func renameCases(img []Layer) []Case {
	return []Case{
		{Name: "rename_file", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := filepath.Join(m.Dir(), "etc")
			ino := lstat(t, filepath.Join(d, "passwd")).Ino
			must(t, unix.Rename(filepath.Join(d, "passwd"), filepath.Join(d, "passwd2")))
			wantGone(t, filepath.Join(d, "passwd"))
			wantRead(t, filepath.Join(d, "passwd2"), "root:x:0:0\n")
			if got := lstat(t, filepath.Join(d, "passwd2")).Ino; got != ino {
				t.Errorf("inode changed by rename: %d then %d", ino, got)
			}
			// Over a name that both layers have.
			must(t, unix.Rename(filepath.Join(d, "extra"), filepath.Join(d, "hosts")))
			wantRead(t, filepath.Join(d, "hosts"), "extra")
			wantGone(t, filepath.Join(d, "extra"))
			// Across directories.
			must(t, unix.Rename(filepath.Join(d, "shadow"), filepath.Join(m.Dir(), "usr/shadow")))
			wantRead(t, filepath.Join(m.Dir(), "usr/shadow"), "secret\n")
			wantList(t, s, d, "passwd2", "hosts")
			m.Remount(t)
			wantList(t, s, d, "passwd2", "hosts")
			wantRead(t, filepath.Join(d, "hosts"), "extra")
		}},
		{Name: "rename_dir", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			tool := lstat(t, filepath.Join(d, "usr/bin/tool")).Ino
			bin := lstat(t, filepath.Join(d, "usr/bin")).Ino
			usr := lstat(t, filepath.Join(d, "usr")).Ino
			write(t, filepath.Join(d, "usr/lib/new"), "new") // an upper file inside
			must(t, unix.Rename(filepath.Join(d, "usr"), filepath.Join(d, "usr2")))
			wantGone(t, filepath.Join(d, "usr"))
			wantList(t, s, filepath.Join(d, "usr2"), "bin", "lib", "share")
			wantList(t, s, filepath.Join(d, "usr2/lib"), "libx.so", "liby.so", "new")
			wantRead(t, filepath.Join(d, "usr2/bin/tool"), "#!/bin/sh\necho tool\n")
			wantRead(t, filepath.Join(d, "usr2/lib/liby.so"), "libx")
			wantRead(t, filepath.Join(d, "usr2/lib/new"), "new")
			for p, want := range map[string]uint64{"usr2": usr, "usr2/bin": bin, "usr2/bin/tool": tool} {
				if got := lstat(t, filepath.Join(d, p)).Ino; got != want {
					t.Errorf("%s: inode changed by rename: %d then %d", p, want, got)
				}
			}
			must(t, unix.Mkdir(filepath.Join(d, "usr"), 0o755))
			wantList(t, s, filepath.Join(d, "usr"))
			m.Remount(t)
			wantList(t, s, filepath.Join(d, "usr"))
			wantList(t, s, filepath.Join(d, "usr2/share/doc"), "README")
			if got := lstat(t, filepath.Join(d, "usr2/bin/tool")).Ino; got != tool {
				t.Errorf("usr2/bin/tool: inode changed by remount: %d then %d", tool, got)
			}
		}},
		{Name: "rename_foreign_owner", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			// Moving a directory copies what is inside, owners included,
			// even ones the server cannot give (then kept in an xattr).
			d := m.Dir()
			before := lstat(t, filepath.Join(d, "home/notes"))
			must(t, unix.Rename(filepath.Join(d, "home"), filepath.Join(d, "home2")))
			for i := 0; i < 2; i++ {
				st := lstat(t, filepath.Join(d, "home2/notes"))
				if st.Uid != before.Uid || st.Gid != before.Gid || st.Mode != before.Mode || st.Ino != before.Ino {
					t.Errorf("after rename: got %d:%d mode %o ino %d, want %d:%d mode %o ino %d",
						st.Uid, st.Gid, st.Mode, st.Ino, before.Uid, before.Gid, before.Mode, before.Ino)
				}
				m.Remount(t)
			}
			wantRead(t, filepath.Join(d, "home2/notes"), "notes")
		}},
		{Name: "rename_dir_over_empty", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			for _, n := range []string{"a", "b", "c"} {
				must(t, unix.Unlink(filepath.Join(d, "var/cache", n)))
			}
			must(t, unix.Rename(filepath.Join(d, "opaq"), filepath.Join(d, "var/cache")))
			wantList(t, s, filepath.Join(d, "var/cache"), "new")
			wantGone(t, filepath.Join(d, "opaq"))
			wantErr(t, "rename over non-empty", unix.Rename(filepath.Join(d, "etc"), filepath.Join(d, "usr")), unix.ENOTEMPTY)
			m.Remount(t)
			wantList(t, s, filepath.Join(d, "var/cache"), "new")
		}},
		{Name: "rename_noreplace", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := filepath.Join(m.Dir(), "etc")
			err := unix.Renameat2(unix.AT_FDCWD, filepath.Join(d, "passwd"), unix.AT_FDCWD, filepath.Join(d, "hosts"), unix.RENAME_NOREPLACE)
			wantErr(t, "rename noreplace", err, unix.EEXIST)
			must(t, unix.Renameat2(unix.AT_FDCWD, filepath.Join(d, "passwd"), unix.AT_FDCWD, filepath.Join(d, "p"), unix.RENAME_NOREPLACE))
			wantRead(t, filepath.Join(d, "p"), "root:x:0:0\n")
			wantGone(t, filepath.Join(d, "passwd"))
		}},
		{Name: "rename_exchange", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			must(t, unix.Renameat2(unix.AT_FDCWD, filepath.Join(d, "etc/passwd"), unix.AT_FDCWD, filepath.Join(d, "etc/hosts"), unix.RENAME_EXCHANGE))
			wantRead(t, filepath.Join(d, "etc/passwd"), "127.0.0.1 top\n")
			wantRead(t, filepath.Join(d, "etc/hosts"), "root:x:0:0\n")
			must(t, unix.Renameat2(unix.AT_FDCWD, filepath.Join(d, "usr"), unix.AT_FDCWD, filepath.Join(d, "var"), unix.RENAME_EXCHANGE))
			wantList(t, s, filepath.Join(d, "var"), "bin", "lib", "share")
			wantList(t, s, filepath.Join(d, "usr"), "cache")
			wantList(t, s, filepath.Join(d, "usr/cache"), "a", "b", "c")
			m.Remount(t)
			wantList(t, s, filepath.Join(d, "var/lib"), "libx.so", "liby.so")
			wantList(t, s, filepath.Join(d, "usr/cache"), "a", "b", "c")
			wantRead(t, filepath.Join(d, "etc/hosts"), "root:x:0:0\n")
		}},
		{Name: "hardlink", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			a, b := filepath.Join(d, "etc/passwd"), filepath.Join(d, "passwd.link")
			must(t, os.Link(a, b))
			sa, sb := lstat(t, a), lstat(t, b)
			if sa.Ino != sb.Ino || sa.Nlink != 2 || sb.Nlink != 2 {
				t.Errorf("link: got inodes %d, %d with %d, %d links; want one inode, 2 links", sa.Ino, sb.Ino, sa.Nlink, sb.Nlink)
			}
			write(t, b, "through the link")
			wantRead(t, a, "through the link")
			must(t, unix.Unlink(a))
			if st := lstat(t, b); st.Nlink != 1 {
				t.Errorf("after unlink: got %d links, want 1", st.Nlink)
			}
			wantRead(t, b, "through the link")
		}},
		{Name: "hardlink_lower", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			s1, s2 := lstat(t, filepath.Join(d, "h1")), lstat(t, filepath.Join(d, "h2"))
			if s1.Ino != s2.Ino || s1.Nlink != 2 {
				t.Errorf("lower hard links: got inodes %d, %d with %d links; want one inode, 2 links", s1.Ino, s2.Ino, s1.Nlink)
			}
			wantRead(t, filepath.Join(d, "h2"), "hard")
			// Copying one name up keeps them one file.
			must(t, unix.Chmod(filepath.Join(d, "h1"), 0o600))
			write(t, filepath.Join(d, "h2"), "written")
			for i := 0; i < 2; i++ {
				wantRead(t, filepath.Join(d, "h1"), "written")
				s1, s2 = lstat(t, filepath.Join(d, "h1")), lstat(t, filepath.Join(d, "h2"))
				if s1.Ino != s2.Ino || s1.Nlink != 2 || s2.Mode&0o777 != 0o600 {
					t.Errorf("after copy-up: got inodes %d, %d with %d links, mode %o; want one inode, 2 links, mode 600", s1.Ino, s2.Ino, s1.Nlink, s2.Mode&0o777)
				}
				m.Remount(t)
			}
		}},
		{Name: "inodes_stable", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			write(t, filepath.Join(d, "etc/created"), "c")
			must(t, unix.Chmod(filepath.Join(d, "etc/passwd"), 0o600))
			paths := []string{"etc", "etc/passwd", "etc/hosts", "etc/shadow", "etc/created", "usr/bin", "usr/bin/tool", "var/cache/a", "h1"}
			before := map[string]uint64{}
			for _, p := range paths {
				before[p] = lstat(t, filepath.Join(d, p)).Ino
			}
			seen := map[uint64]string{}
			for p, ino := range before {
				if q, ok := seen[ino]; ok {
					t.Errorf("%s and %s share inode %d", p, q, ino)
				}
				seen[ino] = p
			}
			must(t, unix.Rename(filepath.Join(d, "etc/hosts"), filepath.Join(d, "etc/hosts2")))
			before["etc/hosts2"] = before["etc/hosts"]
			delete(before, "etc/hosts")
			must(t, unix.Lchown(filepath.Join(d, "etc/shadow"), 0, 0))
			m.Remount(t)
			for p, want := range before {
				if got := lstat(t, filepath.Join(d, p)).Ino; got != want {
					t.Errorf("%s: inode %d, after remount %d", p, want, got)
				}
			}
		}},
	}
}
