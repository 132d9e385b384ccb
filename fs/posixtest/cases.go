//go:build linux

package posixtest

import (
	"path/filepath"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// Image returns the two layers (top first) most cases start from: a
// bottom layer with a bit of everything, and a top layer that shadows,
// adds, whites out and makes a directory opaque.
func Image() []Layer {
	bottom := Layer{
		Dir("etc"),
		File("etc/passwd", "root:x:0:0\n"),
		File("etc/hosts", "127.0.0.1 bottom\n"),
		{Path: "etc/shadow", Mode: syscall.S_IFREG | 0o600, Data: "secret\n"},
		Dir("usr"), Dir("usr/bin"), Dir("usr/lib"),
		{Path: "usr/bin/tool", Mode: syscall.S_IFREG | 0o755, Data: "#!/bin/sh\necho tool\n"},
		File("usr/lib/libx.so", "libx"),
		Symlink("usr/lib/liby.so", "libx.so"),
		Dir("usr/share"), Dir("usr/share/doc"), File("usr/share/doc/README", "readme"),
		Dir("var"), Dir("var/cache"), File("var/cache/a", "a"), File("var/cache/b", "b"),
		Dir("opaq"), File("opaq/old", "old"),
		File("gone", "gone"),
		Dir("gonedir"), File("gonedir/x", "x"),
		File("h1", "hard"), Hardlink("h2", "h1"),
		{Path: "sparse", Mode: syscall.S_IFREG | 0o644, Data: "head", Size: 8 << 20},
		{Path: "tmp", Mode: syscall.S_IFDIR | 0o1777},
		Dir("home"),
		{Path: "home/notes", Mode: syscall.S_IFREG | 0o644, Data: "notes", UID: 1000, GID: 1000},
		{Path: "attrs", Mode: syscall.S_IFREG | 0o644, Data: "attrs", Xattrs: map[string]string{"user.color": "blue"}},
	}
	top := Layer{
		Dir("etc"),
		File("etc/hosts", "127.0.0.1 top\n"),
		File("etc/extra", "extra"),
		Whiteout("gone"),
		Whiteout("gonedir"),
		OpaqueDir("opaq"), File("opaq/new", "new"),
		Dir("var"), Dir("var/cache"), File("var/cache/c", "c"),
	}
	return []Layer{top, bottom}
}

// Cases returns the conformance table.
func Cases() []Case {
	img := Image()
	return append(append(append([]Case{
		{Name: "lookup", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			wantRead(t, filepath.Join(d, "etc/passwd"), "root:x:0:0\n")
			wantRead(t, filepath.Join(d, "etc/hosts"), "127.0.0.1 top\n")
			wantRead(t, filepath.Join(d, "opaq/new"), "new")
			wantGone(t, filepath.Join(d, "gone"))
			wantGone(t, filepath.Join(d, "gonedir"))
			wantGone(t, filepath.Join(d, "gonedir/x"))
			wantGone(t, filepath.Join(d, "opaq/old"))
			wantGone(t, filepath.Join(d, ".wh.gone"))
			if st := lstat(t, filepath.Join(d, "usr/bin/tool")); st.Mode != syscall.S_IFREG|0o755 || st.Size != 20 {
				t.Errorf("usr/bin/tool: got mode %o size %d, want %o 20", st.Mode, st.Size, syscall.S_IFREG|0o755)
			}
			if st := lstat(t, filepath.Join(d, "tmp")); st.Mode != syscall.S_IFDIR|0o1777 {
				t.Errorf("tmp: got mode %o, want %o", st.Mode, syscall.S_IFDIR|0o1777)
			}
			if st := lstat(t, filepath.Join(d, "etc/passwd")); st.Mtim.Sec != Time.Unix() {
				t.Errorf("etc/passwd: got mtime %d, want %d", st.Mtim.Sec, Time.Unix())
			}
			got, err := readlink(filepath.Join(d, "usr/lib/liby.so"))
			if err != nil || got != "libx.so" {
				t.Errorf("readlink: got %q, %v, want libx.so", got, err)
			}
			wantRead(t, filepath.Join(d, "usr/lib/liby.so"), "libx")
		}},
		{Name: "readdir", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			wantList(t, s, d, "etc", "usr", "var", "opaq", "h1", "h2", "sparse", "tmp", "attrs", "home")
			wantList(t, s, filepath.Join(d, "etc"), "passwd", "hosts", "shadow", "extra")
			wantList(t, s, filepath.Join(d, "var/cache"), "a", "b", "c")
			wantList(t, s, filepath.Join(d, "opaq"), "new")
			first, second := list(t, filepath.Join(d, "etc")), list(t, filepath.Join(d, "etc"))
			if len(first) != len(second) {
				t.Fatalf("readdir twice: %q then %q", first, second)
			}
			for i := range first {
				if first[i] != second[i] {
					t.Errorf("readdir twice: %q then %q", first, second)
					break
				}
			}
		}},
		{Name: "readdir_inodes", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			// d_ino from readdir is st_ino from stat.
			dir := filepath.Join(m.Dir(), "etc")
			write(t, filepath.Join(dir, "passwd"), "changed")
			ents := direntInos(t, dir)
			for name, ino := range ents {
				if name == "." || name == ".." {
					continue
				}
				if st := lstat(t, filepath.Join(dir, name)); st.Ino != ino {
					t.Errorf("%s: readdir says inode %d, stat says %d", name, ino, st.Ino)
				}
			}
		}},
		{Name: "write_copies_up", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			p := filepath.Join(m.Dir(), "etc/passwd")
			before := lstat(t, p)
			f, err := openFile(p, unix.O_WRONLY|unix.O_APPEND)
			must(t, err)
			_, err = f.WriteString("bin:x:1:1\n")
			must(t, err)
			must(t, f.Close())
			wantRead(t, p, "root:x:0:0\nbin:x:1:1\n")
			after := lstat(t, p)
			if after.Ino != before.Ino {
				t.Errorf("inode changed on copy-up: %d then %d", before.Ino, after.Ino)
			}
			wantList(t, s, filepath.Join(m.Dir(), "etc"), "passwd", "hosts", "shadow", "extra")
			wantRead(t, filepath.Join(m.Dir(), "etc/shadow"), "secret\n")
		}},
		{Name: "write_deep", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			p := filepath.Join(m.Dir(), "usr/share/doc/README")
			write(t, p, "new readme")
			wantRead(t, p, "new readme")
			wantList(t, s, filepath.Join(m.Dir(), "usr/share/doc"), "README")
			wantList(t, s, filepath.Join(m.Dir(), "usr"), "bin", "lib", "share")
			wantRead(t, filepath.Join(m.Dir(), "usr/lib/liby.so"), "libx")
		}},
		{Name: "chmod_copies_up", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			p := filepath.Join(m.Dir(), "usr/bin/tool")
			before := lstat(t, p)
			must(t, unix.Chmod(p, 0o700))
			after := lstat(t, p)
			if after.Mode != syscall.S_IFREG|0o700 {
				t.Errorf("mode: got %o, want %o", after.Mode, syscall.S_IFREG|0o700)
			}
			if after.Ino != before.Ino || after.Mtim != before.Mtim || after.Size != before.Size {
				t.Errorf("chmod changed more than the mode: %+v then %+v", before, after)
			}
			wantRead(t, p, "#!/bin/sh\necho tool\n")
		}},
		{Name: "chown_copies_up", Layers: img, Ids: true, Run: func(t *testing.T, m Mounted, s *Setup) {
			p := filepath.Join(m.Dir(), "etc/hosts")
			must(t, unix.Lchown(p, 1000, 1001))
			if st := lstat(t, p); st.Uid != 1000 || st.Gid != 1001 {
				t.Errorf("owner: got %d:%d, want 1000:1001", st.Uid, st.Gid)
			}
			m.Remount(t)
			if st := lstat(t, p); st.Uid != 1000 || st.Gid != 1001 {
				t.Errorf("owner after remount: got %d:%d, want 1000:1001", st.Uid, st.Gid)
			}
			wantRead(t, p, "127.0.0.1 top\n")
		}},
		{Name: "owner_kept", Layers: img, Ids: true, Run: func(t *testing.T, m Mounted, s *Setup) {
			// Copy-up keeps owners, even ones the server cannot give.
			p := filepath.Join(m.Dir(), "home/notes")
			before := lstat(t, p)
			must(t, unix.Chmod(p, 0o600))
			write(t, filepath.Join(m.Dir(), "home/new"), "new")
			for i := 0; i < 2; i++ {
				st := lstat(t, p)
				if st.Uid != before.Uid || st.Gid != before.Gid || st.Mode != syscall.S_IFREG|0o600 {
					t.Errorf("after chmod: got %d:%d mode %o, want %d:%d mode %o", st.Uid, st.Gid, st.Mode, before.Uid, before.Gid, syscall.S_IFREG|0o600)
				}
				m.Remount(t)
			}
			wantRead(t, p, "notes")
		}},
		{Name: "utimes_copies_up", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			p := filepath.Join(m.Dir(), "etc/passwd")
			ts := []unix.Timespec{{Sec: 1000, Nsec: 5}, {Sec: 2000, Nsec: 7}}
			must(t, unix.UtimesNano(p, ts))
			if st := lstat(t, p); st.Mtim.Sec != 2000 || st.Mtim.Nsec != 7 || st.Atim.Sec != 1000 {
				t.Errorf("times: got a=%v m=%v, want a=1000 m=2000.000000007", st.Atim, st.Mtim)
			}
			wantRead(t, p, "root:x:0:0\n")
		}},
		{Name: "truncate", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			p := filepath.Join(m.Dir(), "etc/passwd")
			must(t, unix.Truncate(p, 4))
			wantRead(t, p, "root")
			q := filepath.Join(m.Dir(), "usr/lib/libx.so")
			f, err := openFile(q, unix.O_WRONLY|unix.O_TRUNC)
			must(t, err)
			f.WriteString("new")
			must(t, f.Close())
			wantRead(t, q, "new")
			wantRead(t, filepath.Join(m.Dir(), "usr/lib/liby.so"), "new")
		}},
		{Name: "create", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			p := filepath.Join(m.Dir(), "etc/new")
			write(t, p, "new file")
			wantRead(t, p, "new file")
			wantList(t, s, filepath.Join(m.Dir(), "etc"), "passwd", "hosts", "shadow", "extra", "new")
			must(t, unix.Mkdir(filepath.Join(m.Dir(), "usr/local"), 0o750))
			if st := lstat(t, filepath.Join(m.Dir(), "usr/local")); st.Mode != syscall.S_IFDIR|0o750 {
				t.Errorf("mkdir mode: got %o, want %o", st.Mode, syscall.S_IFDIR|0o750)
			}
			write(t, filepath.Join(m.Dir(), "usr/local/x"), "x")
			wantList(t, s, filepath.Join(m.Dir(), "usr/local"), "x")
		}},
		{Name: "unlink", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := m.Dir()
			must(t, unix.Unlink(filepath.Join(d, "etc/passwd")))
			wantGone(t, filepath.Join(d, "etc/passwd"))
			// etc/hosts is in both layers: the bottom one must not show.
			must(t, unix.Unlink(filepath.Join(d, "etc/hosts")))
			wantGone(t, filepath.Join(d, "etc/hosts"))
			wantList(t, s, filepath.Join(d, "etc"), "shadow", "extra")
			write(t, filepath.Join(d, "etc/passwd"), "again")
			wantRead(t, filepath.Join(d, "etc/passwd"), "again")
			m.Remount(t)
			wantGone(t, filepath.Join(d, "etc/hosts"))
			wantList(t, s, filepath.Join(d, "etc"), "passwd", "shadow", "extra")
		}},
		{Name: "rmdir", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := filepath.Join(m.Dir(), "var/cache")
			wantErr(t, "rmdir non-empty", unix.Rmdir(d), unix.ENOTEMPTY)
			for _, n := range []string{"a", "b", "c"} {
				must(t, unix.Unlink(filepath.Join(d, n)))
			}
			wantList(t, s, d)
			must(t, unix.Rmdir(d))
			wantGone(t, d)
			wantList(t, s, filepath.Join(m.Dir(), "var"))
			must(t, unix.Mkdir(d, 0o755))
			wantList(t, s, d)
			m.Remount(t)
			wantList(t, s, d)
			wantGone(t, filepath.Join(d, "a"))
		}},
		{Name: "mkdir_over_whiteout", Layers: img, Run: func(t *testing.T, m Mounted, s *Setup) {
			d := filepath.Join(m.Dir(), "gonedir")
			must(t, unix.Mkdir(d, 0o755))
			wantList(t, s, d)
			wantGone(t, filepath.Join(d, "x"))
			u := filepath.Join(m.Dir(), "usr/share")
			must(t, unix.Unlink(filepath.Join(u, "doc/README")))
			must(t, unix.Rmdir(filepath.Join(u, "doc")))
			must(t, unix.Mkdir(filepath.Join(u, "doc"), 0o755))
			wantList(t, s, filepath.Join(u, "doc"))
			m.Remount(t)
			wantList(t, s, d)
			wantList(t, s, filepath.Join(u, "doc"))
		}},
	}, renameCases(img)...), moreCases(img)...), fileCases(img)...)
}
