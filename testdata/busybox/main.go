// Command busybox writes a minimal root filesystem tarball around a static
// busybox binary (Debian's busybox-static): the binary, a symlink per
// applet, the usual top-level directories and an /etc with root and nobody.
// The tar is deterministic (fixed times, sorted), so the image strata
// imports from it has the same id on every machine with the same busybox.
//
//	go run ./testdata/busybox -o busybox.tar [-busybox /bin/busybox]
package main

import (
	"archive/tar"
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"time"
)

var epoch = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

func main() {
	out := flag.String("o", "-", "output file (- for stdout)")
	bin := flag.String("busybox", "/bin/busybox", "a statically linked busybox")
	flag.Parse()
	if err := run(*out, *bin); err != nil {
		fmt.Fprintln(os.Stderr, "busybox:", err)
		os.Exit(1)
	}
}

func run(out, bin string) error {
	body, err := os.ReadFile(bin)
	if err != nil {
		return fmt.Errorf("%w (install Debian's busybox-static)", err)
	}
	if !bytes.HasPrefix(body, []byte("\x7fELF")) {
		return fmt.Errorf("%s is not an ELF binary", bin)
	}
	list, err := exec.Command(bin, "--list-full").Output()
	if err != nil {
		return fmt.Errorf("%s --list-full: %w", bin, err)
	}
	var w io.Writer = os.Stdout
	if out != "-" {
		f, err := os.Create(out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	tw := tar.NewWriter(w)
	dirs := map[string]int64{
		"bin": 0o755, "sbin": 0o755, "usr": 0o755, "usr/bin": 0o755, "usr/sbin": 0o755,
		"etc": 0o755, "root": 0o700, "tmp": 0o1777, "home": 0o755, "var": 0o755,
		"var/spool": 0o755, "var/spool/mail": 0o755, "var/www": 0o755, "proc": 0o555,
		"sys": 0o555, "dev": 0o755,
	}
	names := make([]string, 0, len(dirs))
	for d := range dirs {
		names = append(names, d)
	}
	sort.Strings(names)
	for _, d := range names {
		if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: dirs[d], ModTime: epoch, Format: tar.FormatUSTAR}); err != nil {
			return err
		}
	}
	files := []struct {
		name string
		mode int64
		data []byte
	}{
		{"bin/busybox", 0o755, body},
		{"etc/passwd", 0o644, []byte("root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/home:/bin/false\n")},
		{"etc/group", 0o644, []byte("root:x:0:\nnobody:x:65534:\n")},
		{"etc/hostname", 0o644, []byte("busybox\n")},
	}
	for _, f := range files {
		hdr := &tar.Header{Typeflag: tar.TypeReg, Name: f.name, Mode: f.mode, Size: int64(len(f.data)), ModTime: epoch, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		if _, err := tw.Write(f.data); err != nil {
			return err
		}
	}
	applets := strings.Fields(string(list))
	sort.Strings(applets)
	for _, a := range applets {
		if a == "bin/busybox" || !strings.Contains(a, "/") {
			continue
		}
		hdr := &tar.Header{Typeflag: tar.TypeSymlink, Name: a, Linkname: "/bin/busybox", Mode: 0o777, ModTime: epoch, Format: tar.FormatUSTAR}
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
	}
	return tw.Close()
}
