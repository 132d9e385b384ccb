package archive

import (
	"archive/tar"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-engine/strata/layers/index"
)

// memSink is an object store in memory. It is both a Sink and a Source.
type memSink struct {
	mu   sync.Mutex
	objs map[index.Digest][]byte
	puts int
}

func newMemSink() *memSink { return &memSink{objs: map[index.Digest][]byte{}} }

func (s *memSink) PutObject(r io.Reader, size int64) (index.Digest, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return index.Digest{}, err
	}
	if int64(len(data)) != size {
		return index.Digest{}, fmt.Errorf("got %d bytes, want %d", len(data), size)
	}
	d := index.Digest(sha256.Sum256(data))
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objs[d] = data
	s.puts++
	return d, nil
}

func (s *memSink) OpenObject(d index.Digest) (io.ReadCloser, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.objs[d]
	if !ok {
		return nil, &os.PathError{Op: "open", Path: hex.EncodeToString(d[:]), Err: os.ErrNotExist}
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// dirSink keeps objects as files under objects/<xx>/<sha256> of a
// directory, written to a temporary name and renamed once hashed.
type dirSink struct{ dir string }

func (s dirSink) path(d index.Digest) string {
	h := hex.EncodeToString(d[:])
	return filepath.Join(s.dir, "objects", h[:2], h)
}

func (s dirSink) PutObject(r io.Reader, size int64) (index.Digest, error) {
	f, err := os.CreateTemp(s.dir, "put-")
	if err != nil {
		return index.Digest{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(f, h), r)
	if err != nil {
		return index.Digest{}, err
	}
	if n != size {
		return index.Digest{}, fmt.Errorf("got %d bytes, want %d", n, size)
	}
	var d index.Digest
	h.Sum(d[:0])
	if err := os.MkdirAll(filepath.Dir(s.path(d)), 0o755); err != nil {
		return index.Digest{}, err
	}
	if err := f.Close(); err != nil {
		return index.Digest{}, err
	}
	return d, os.Rename(f.Name(), s.path(d))
}

func (s dirSink) OpenObject(d index.Digest) (io.ReadCloser, error) { return os.Open(s.path(d)) }

// ent is one tar entry to write in a test.
type ent struct {
	hdr  tar.Header
	body string
}

var epoch = time.Unix(1700000000, 0)

func reg(name, body string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), ModTime: epoch}, body: body}
}
func dirEnt(name string, mode int64) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeDir, Name: name, Mode: mode, ModTime: epoch}}
}
func symEnt(name, target string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeSymlink, Name: name, Linkname: target, Mode: 0o777, ModTime: epoch}}
}
func linkEnt(name, target string) ent {
	return ent{hdr: tar.Header{Typeflag: tar.TypeLink, Name: name, Linkname: target, ModTime: epoch}}
}
func devEnt(name string, typ byte, major, minor int64) ent {
	return ent{hdr: tar.Header{Typeflag: typ, Name: name, Mode: 0o600, Devmajor: major, Devminor: minor, ModTime: epoch}}
}

// tarOf writes ents as a tar with archive/tar.
func tarOf(t testing.TB, ents ...ent) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range ents {
		h := e.hdr
		if err := tw.WriteHeader(&h); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		if _, err := io.WriteString(tw, e.body); err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// rawHeader makes a ustar header block by hand, for headers archive/tar
// would refuse to write. edit may change the block before its checksum
// is computed.
func rawHeader(name string, typeflag byte, size int64, edit func(b []byte)) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:108], "0000644\x00")
	copy(b[108:116], "0000000\x00")
	copy(b[116:124], "0000000\x00")
	copy(b[124:136], fmt.Sprintf("%011o\x00", size))
	copy(b[136:148], "14000000000\x00")
	b[156] = typeflag
	copy(b[257:265], "ustar\x0000")
	if edit != nil {
		edit(b)
	}
	setChecksum(b)
	return b
}

// setChecksum computes a header block's checksum: the sum of its bytes
// with the checksum field taken as spaces.
func setChecksum(b []byte) {
	copy(b[148:156], "        ")
	sum := 0
	for _, c := range b[:512] {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
}

// trailer is the end-of-archive marker: two zero blocks.
var trailer = make([]byte, 1024)

func concat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// describe gives every entry of x but the root a short description by
// path, with file contents read from src.
func describe(t testing.TB, x *index.Index, src Source) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := x.Walk(func(i uint32, p string) error {
		if i == 0 {
			return nil
		}
		m[p] = describeEntry(t, x, i, src)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func describeEntry(t testing.TB, x *index.Index, i uint32, src Source) string {
	e := x.Entry(i)
	var s string
	switch {
	case e.Flags&index.Whiteout != 0:
		return "whiteout"
	case e.Type() == index.TypeDir:
		s = fmt.Sprintf("dir %o", e.Mode&0o7777)
	case e.Type() == index.TypeReg:
		body := ""
		if d, ok := x.Digest(i); ok {
			rc, err := src.OpenObject(d)
			if err != nil {
				t.Fatalf("%s: %v", x.Path(i), err)
			}
			data, _ := io.ReadAll(rc)
			rc.Close()
			body = string(data)
		}
		s = fmt.Sprintf("file %o %q", e.Mode&0o7777, body)
	case e.Type() == index.TypeLink:
		s = "symlink " + e.Linkname
	case e.Type() == index.TypeChar:
		s = fmt.Sprintf("char %#x", e.Rdev)
	case e.Type() == index.TypeBlock:
		s = fmt.Sprintf("block %#x", e.Rdev)
	case e.Type() == index.TypeFifo:
		s = fmt.Sprintf("fifo %o", e.Mode&0o7777)
	default:
		s = fmt.Sprintf("mode %o", e.Mode)
	}
	if e.Flags&index.Opaque != 0 {
		s += " opaque"
	}
	if e.Flags&index.Implicit != 0 {
		s += " implicit"
	}
	if e.Link != index.NoLink {
		s += fmt.Sprintf(" link=%s nlink=%d", x.Path(e.Link), e.Nlink)
	}
	return s
}

func diffMaps(got, want map[string]string) string {
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var ks []string
	for k := range keys {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	var b strings.Builder
	for _, k := range ks {
		g, gok := got[k]
		w, wok := want[k]
		switch {
		case !gok:
			fmt.Fprintf(&b, "\n  %s: missing, want %q", k, w)
		case !wok:
			fmt.Fprintf(&b, "\n  %s: got %q, want nothing", k, g)
		case g != w:
			fmt.Fprintf(&b, "\n  %s: got %q, want %q", k, g, w)
		}
	}
	return b.String()
}
