package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/opencontainers/go-digest"
	"golang.org/x/sys/unix"

	"github.com/strata-engine/strata/layers/index"
)

func TestUnpack(t *testing.T) {
	withXattrs := reg("x", "data")
	withXattrs.hdr.PAXRecords = map[string]string{
		"SCHILY.xattr.user.b":              "2",
		"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00",
		"SCHILY.xattr.user.a":              "",
		"comment":                          "not an xattr",
	}
	global := ent{hdr: tar.Header{Typeflag: tar.TypeXGlobalHeader, Name: "pax_global_header", PAXRecords: map[string]string{"comment": "abc"}}}
	long := strings.Repeat("d", 200) + "/" + strings.Repeat("f", 300)
	gnuLong := reg(strings.Repeat("g", 150), "gnu")
	gnuLong.hdr.Format = tar.FormatGNU
	tests := []struct {
		name string
		ents []ent
		want map[string]string
	}{
		{
			name: "every type",
			ents: []ent{
				dirEnt("d/", 0o750),
				reg("d/f", "hello"),
				reg("d/empty", ""),
				symEnt("d/l", "../etc/passwd"),
				linkEnt("d/h", "d/f"),
				devEnt("dev/null", tar.TypeChar, 1, 3),
				devEnt("dev/sda", tar.TypeBlock, 8, 0),
				{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "p", Mode: 0o640}},
			},
			want: map[string]string{
				"d":        "dir 750",
				"d/f":      `file 644 "hello" link=d/f nlink=2`,
				"d/h":      `file 644 "hello" link=d/f nlink=2`,
				"d/empty":  `file 644 ""`,
				"d/l":      "symlink ../etc/passwd",
				"dev":      "dir 755 implicit",
				"dev/null": "char 0x103",
				"dev/sda":  "block 0x800",
				"p":        "fifo 640",
			},
		},
		{
			name: "dot slash names and a root entry",
			ents: []ent{dirEnt("./", 0o700), dirEnt("./etc/", 0o755), reg("./etc/hosts", "h")},
			want: map[string]string{"etc": "dir 755", "etc/hosts": `file 644 "h"`},
		},
		{
			name: "directory named twice keeps its children",
			ents: []ent{dirEnt("d/", 0o755), reg("d/f", "1"), dirEnt("d/", 0o700)},
			want: map[string]string{"d": "dir 700", "d/f": `file 644 "1"`},
		},
		{
			name: "parent named after its child",
			ents: []ent{reg("a/b/c", "1"), dirEnt("a/", 0o711)},
			want: map[string]string{"a": "dir 711", "a/b": "dir 755 implicit", "a/b/c": `file 644 "1"`},
		},
		{
			name: "whiteouts",
			ents: []ent{reg("etc/.wh.passwd", ""), reg(".wh.tmp", ""), reg("a/.wh..wh..opq", ""), reg("a/new", "n")},
			want: map[string]string{
				"etc": "dir 755 implicit", "etc/passwd": "whiteout", "tmp": "whiteout",
				"a": "dir 755 opaque implicit", "a/new": `file 644 "n"`,
			},
		},
		{
			name: "opaque marker after the directory",
			ents: []ent{dirEnt("a/", 0o700), reg("a/f", "f"), reg("a/.wh..wh..opq", "")},
			want: map[string]string{"a": "dir 700 opaque", "a/f": `file 644 "f"`},
		},
		{
			name: "opaque marker before the directory",
			ents: []ent{reg("a/.wh..wh..opq", ""), dirEnt("a/", 0o700)},
			want: map[string]string{"a": "dir 700 opaque"},
		},
		{
			name: "opaque root",
			ents: []ent{reg(".wh..wh..opq", ""), reg("f", "f")},
			want: map[string]string{"f": `file 644 "f"`},
		},
		{
			name: "whiteout of a directory of the same layer makes it opaque",
			ents: []ent{reg(".wh.d", ""), dirEnt("d/", 0o700), reg("d/f", "f")},
			want: map[string]string{"d": "dir 700 opaque", "d/f": `file 644 "f"`},
		},
		{
			name: "same, whiteout last",
			ents: []ent{reg("d/f", "f"), reg(".wh.d", "")},
			want: map[string]string{"d": "dir 755 opaque implicit", "d/f": `file 644 "f"`},
		},
		{
			name: "whiteout of a file of the same layer is redundant",
			ents: []ent{reg(".wh.f", ""), reg("f", "new"), symEnt("l", "x"), reg(".wh.l", "")},
			want: map[string]string{"f": `file 644 "new"`, "l": "symlink x"},
		},
		{
			name: "whiteout named twice",
			ents: []ent{reg(".wh.f", ""), reg(".wh.f", "")},
			want: map[string]string{"f": "whiteout"},
		},
		{
			name: "names with .wh. inside are ordinary",
			ents: []ent{reg("a.wh.b", "1"), reg("x/y.wh..wh..opq", "2")},
			want: map[string]string{"a.wh.b": `file 644 "1"`, "x": "dir 755 implicit", "x/y.wh..wh..opq": `file 644 "2"`},
		},
		{
			name: "xattrs",
			ents: []ent{withXattrs},
			want: map[string]string{"x": `file 644 "data"`},
		},
		{
			name: "global header is ignored",
			ents: []ent{global, reg("f", "1")},
			want: map[string]string{"f": `file 644 "1"`},
		},
		{
			name: "long names",
			ents: []ent{reg(long, "pax"), gnuLong},
			want: map[string]string{
				strings.Repeat("d", 200): "dir 755 implicit",
				long:                     `file 644 "pax"`,
				gnuLong.hdr.Name:         `file 644 "gnu"`,
			},
		},
		{
			name: "hard link chain",
			ents: []ent{reg("z", "c"), linkEnt("a", "z"), linkEnt("m/n", "./a")},
			want: map[string]string{
				"a": `file 644 "c" link=a nlink=3`, "m": "dir 755 implicit",
				"m/n": `file 644 "c" link=a nlink=3`, "z": `file 644 "c" link=a nlink=3`,
			},
		},
		{
			name: "hard link to a symlink",
			ents: []ent{symEnt("l", "t"), linkEnt("k", "l")},
			want: map[string]string{"l": "symlink t link=k nlink=2", "k": "symlink t link=k nlink=2"},
		},
		{
			name: "empty layer",
			want: map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := tarOf(t, tt.ents...)
			sink := newMemSink()
			res, err := Unpack(context.Background(), bytes.NewReader(data), sink, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if d := diffMaps(describe(t, res.Index, sink), tt.want); d != "" {
				t.Errorf("tree:%s", d)
			}
			if want := digest.FromBytes(data); res.DiffID != want {
				t.Errorf("DiffID: got %s, want %s", res.DiffID, want)
			}
			if res.Entries != len(tt.ents) {
				t.Errorf("Entries: got %d, want %d", res.Entries, len(tt.ents))
			}
		})
	}
}

func TestUnpackMetadata(t *testing.T) {
	mtime := time.Unix(1700000000, 123456789)
	f := reg("f", "hello world")
	f.hdr.Mode = 0o4755 | 0o170000 // type bits in the mode field are ignored
	f.hdr.Uid, f.hdr.Gid = 1<<31, 70000
	f.hdr.ModTime = mtime
	f.hdr.Format = tar.FormatPAX // or archive/tar rounds the time
	f.hdr.PAXRecords = map[string]string{"SCHILY.xattr.user.z": "1", "SCHILY.xattr.user.a": "2"}
	old := symEnt("old", "f")
	old.hdr.ModTime = time.Unix(-1, 0)
	data := tarOf(t, f, old, devEnt("c", tar.TypeChar, 4095, 1<<20-1), linkEnt("g", "f"))
	sink := newMemSink()
	res, err := Unpack(context.Background(), bytes.NewReader(data), sink, Options{})
	if err != nil {
		t.Fatal(err)
	}
	x := res.Index
	fi, _ := x.Resolve("f")
	want := index.Entry{
		Name: "f", Mode: index.TypeReg | 0o4755, UID: 1 << 31, GID: 70000, Size: 11,
		Mtime: 1700000000, MtimeNs: 123456789, Digest: sha256.Sum256([]byte("hello world")),
		Xattrs: []index.Xattr{{Name: "user.a", Value: "2"}, {Name: "user.z", Value: "1"}},
		Link:   fi, Nlink: 2,
	}
	if got := x.Entry(fi); !reflect.DeepEqual(got, want) {
		t.Errorf("f: got %+v, want %+v", got, want)
	}
	gi, _ := x.Resolve("g")
	want.Name = "g"
	if got := x.Entry(gi); !reflect.DeepEqual(got, want) {
		t.Errorf("g: got %+v, want %+v", got, want)
	}
	oi, _ := x.Resolve("old")
	if sec, ns := x.Mtime(oi); sec != -1 || ns != 0 {
		t.Errorf("old: got mtime %d.%09d, want -1.000000000", sec, ns)
	}
	ci, _ := x.Resolve("c")
	if got, want := x.Rdev(ci), unix.Mkdev(4095, 1<<20-1); got != want {
		t.Errorf("c: got rdev %#x, want %#x", got, want)
	}
	if res.Size != 11 {
		t.Errorf("Size: got %d, want 11 (hard links count once)", res.Size)
	}
	if sink.puts != 1 {
		t.Errorf("PutObject: got %d calls, want 1", sink.puts)
	}
}

func TestUnpackDirSink(t *testing.T) {
	big := strings.Repeat("0123456789abcdef", 1<<16) // 1 MiB
	data := tarOf(t, reg("a", "small"), reg("b/big", big), reg("c", "small"), reg("e", ""))
	sink := dirSink{dir: t.TempDir()}
	res, err := Unpack(context.Background(), iotest.HalfReader(bytes.NewReader(data)), sink, Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"a": `file 644 "small"`, "b": "dir 755 implicit", "b/big": `file 644 "` + big + `"`,
		"c": `file 644 "small"`, "e": `file 644 ""`,
	}
	if d := diffMaps(describe(t, res.Index, sink), want); d != "" {
		t.Errorf("tree:%.500s", d)
	}
	if res.Index.NumDigests() != 2 {
		t.Errorf("got %d distinct objects, want 2", res.Index.NumDigests())
	}
	if res.Size != int64(len(big)+10) {
		t.Errorf("Size: got %d, want %d", res.Size, len(big)+10)
	}
}

func TestUnpackDiffID(t *testing.T) {
	layer := tarOf(t, reg("f", "x"))
	tests := []struct {
		name string
		data []byte
	}{
		{"as written", layer},
		{"record padding", concat(layer, make([]byte, 10240-len(layer)%10240))},
		{"junk after the end", concat(layer, []byte("trailing junk"))},
		{"only the end marker", trailer},
		{"one zero block", trailer[:512]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Unpack(context.Background(), bytes.NewReader(tt.data), newMemSink(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if want := digest.FromBytes(tt.data); res.DiffID != want {
				t.Errorf("DiffID: got %s, want %s", res.DiffID, want)
			}
		})
	}
}

func TestUnpackInvalid(t *testing.T) {
	file := reg("f", "hello")
	good := tarOf(t, file, reg("g", "0123456789"))
	fileEnd := 512 + 512 // header and the padded 5 bytes of f
	tooMany := []ent{reg("a", "1"), reg("b", "2"), reg("c", "3"), reg("d", "4")}
	deep := strings.Repeat("d/", 20) + "f"
	tests := []struct {
		name string
		data []byte
		opts Options
		msg  string // part of the error
	}{
		{name: "empty stream", data: nil, msg: "empty stream"},
		{name: "absolute path", data: tarOf(t, reg("/etc/passwd", "x")), msg: `"/etc/passwd": absolute path`},
		{name: "absolute dir", data: tarOf(t, dirEnt("/", 0o755)), msg: "absolute path"},
		{name: "dotdot", data: tarOf(t, reg("a/../../x", "x")), msg: `"a/../../x": ".." in path`},
		{name: "leading dotdot", data: tarOf(t, reg("../x", "x")), msg: `".." in path`},
		{name: "trailing dotdot", data: tarOf(t, dirEnt("a/..", 0o755)), msg: `".." in path`},
		{name: "empty name", data: concat(rawHeader("", tar.TypeReg, 0, nil), trailer), msg: "empty name"},
		{name: "hard link to a later entry", data: tarOf(t, linkEnt("b", "a"), reg("a", "x")), msg: `"b"`},
		{name: "hard link to a missing entry", data: tarOf(t, linkEnt("b", "nothere")), msg: "not in the layer"},
		{name: "hard link to a directory", data: tarOf(t, dirEnt("d/", 0o755), linkEnt("b", "d")), msg: "not a file"},
		{name: "hard link to an absolute path", data: tarOf(t, reg("a", "x"), linkEnt("b", "/a")), msg: "absolute path"},
		{name: "hard link with dotdot", data: tarOf(t, reg("a", "x"), linkEnt("b", "c/../a")), msg: `".." in path`},
		{name: "hard link to a whiteout", data: tarOf(t, reg(".wh.a", ""), linkEnt("b", "a")), msg: `"b"`},
		{name: "symlink as a directory", data: tarOf(t, symEnt("etc", "/host/etc"), reg("etc/passwd", "x")), msg: `"etc/passwd"`},
		{name: "symlink as a directory of a hard link", data: tarOf(t, reg("f", "x"), symEnt("l", "."), linkEnt("l/g", "f")), msg: `"l/g"`},
		{name: "file as a directory", data: tarOf(t, reg("f", "x"), dirEnt("f/d/", 0o755)), msg: "not a directory"},
		{name: "duplicate file", data: tarOf(t, reg("f", "1"), reg("f", "2")), msg: `"f": conflicting entries: f appears twice`},
		{name: "directory over file", data: tarOf(t, reg("f", "1"), dirEnt("f/", 0o755)), msg: "appears twice"},
		{name: "file over directory", data: tarOf(t, dirEnt("d/", 0o755), reg("d", "1")), msg: "appears twice"},
		{name: "duplicate symlink", data: tarOf(t, symEnt("l", "a"), symEnt("l", "b")), msg: "appears twice"},
		{name: "root as a file", data: concat(rawHeader("./", tar.TypeReg, 0, nil), trailer), msg: "root must be a directory"},
		{name: "empty symlink", data: tarOf(t, symEnt("l", "")), msg: "bad symlink target"},
		{name: "unknown type", data: concat(rawHeader("v", 'V', 0, nil), trailer), msg: `"v": unsupported entry type 'V'`},
		{name: "unknown type digit", data: concat(rawHeader("n", '9', 0, nil), trailer), msg: "unsupported entry type"},
		{name: "GNU dump dir", data: concat(rawHeader("d", 'D', 0, nil), trailer), msg: "unsupported entry type"},
		{name: "negative size", data: concat(rawHeader("f", tar.TypeReg, 0, func(b []byte) {
			copy(b[124:136], "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff")
		}), trailer), msg: "bad tar"},
		{name: "size above the limit", data: good, opts: Options{MaxFileSize: 9}, msg: `"g": size 10 out of range (limit 9)`},
		{name: "too many entries", data: tarOf(t, tooMany...), opts: Options{MaxEntries: 3}, msg: "more than 3 entries"},
		{name: "too many implicit entries", data: tarOf(t, reg(deep, "x"), reg("g", "x")), opts: Options{MaxEntries: 10}, msg: "more than 10 entries"},
		{name: "negative uid", data: concat(rawHeader("f", tar.TypeReg, 0, func(b []byte) {
			copy(b[108:116], "\xff\xff\xff\xff\xff\xff\xff\xff")
		}), trailer), msg: "owner -1:0 out of range"},
		{name: "device major too large", data: concat(rawHeader("c", tar.TypeChar, 0, func(b []byte) {
			copy(b[329:337], "\x80\x00\x00\x01\x00\x00\x00\x00")
		}), trailer), msg: "device 4294967296:0 out of range"},
		{name: "truncated in a file", data: good[:512+2], msg: `truncated in "f"`},
		{name: "truncated in padding", data: good[:fileEnd-300], msg: "truncated"},
		{name: "truncated in a header", data: good[:fileEnd+100], msg: "truncated"},
		{name: "truncated after a header", data: good[:512], msg: "truncated"},
		{name: "truncated in the end marker", data: good[:len(good)-1024+100], msg: "truncated"},
		{name: "no end marker", data: good[:len(good)-1024], msg: "truncated: no end-of-archive marker"},
		{name: "no end marker after a directory", data: tarOf(t, dirEnt("d/", 0o755))[:512], msg: "no end-of-archive marker"},
		{name: "PAX header and nothing after it", data: func() []byte {
			pax := tarOf(t, ent{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "d", PAXRecords: map[string]string{"SCHILY.xattr.user.a": "b"}}})
			return pax[:1024] // the PAX header and its records, not the entry
		}(), msg: "no end-of-archive marker"},
		{name: "end marker after a file of zeros is missing", data: tarOf(t, reg("z", string(make([]byte, 1024))))[:512+1024], msg: "no end-of-archive marker"},
		{name: "not a tar", data: bytes.Repeat([]byte("not a tar "), 100), msg: "bad tar"},
		{name: "bad header checksum", data: func() []byte {
			d := bytes.Clone(good)
			d[0] = 'g'
			return d
		}(), msg: "bad tar"},
		{name: "aufs metadata", data: tarOf(t, reg(".wh..wh.plnk/1.2", "")), msg: "whiteout used as a directory"},
		{name: "aufs marker", data: tarOf(t, reg("a/.wh..wh.aufs", "")), msg: `"a/.wh..wh.aufs": unsupported whiteout`},
		{name: "whiteout of nothing", data: tarOf(t, reg(".wh.", "")), msg: "whiteout of an invalid name"},
		{name: "whiteout of dot", data: tarOf(t, reg("a/.wh..", "")), msg: "whiteout of an invalid name"},
		{name: "whiteout as a directory", data: tarOf(t, reg("a/.wh.b/c", "")), msg: "whiteout used as a directory"},
		{name: "whiteout under a file", data: tarOf(t, reg("f", "1"), reg("f/.wh.x", "")), msg: `"f/.wh.x"`},
		{name: "opaque marker under a file", data: tarOf(t, reg("f", "1"), reg("f/.wh..wh..opq", "")), msg: `"f/.wh..wh..opq"`},
		{name: "opaque directory later a file", data: tarOf(t, reg("f/.wh..wh..opq", ""), reg("f", "1")), msg: "appears twice"},
		{name: "name too long", data: tarOf(t, reg(strings.Repeat("n", 4097), "")), msg: "invalid name"},
		{name: "bad xattr name", data: tarOf(t, ent{hdr: tar.Header{Typeflag: tar.TypeDir, Name: "d", PAXRecords: map[string]string{"SCHILY.xattr.": "v"}}}), msg: "bad xattr name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Unpack(context.Background(), bytes.NewReader(tt.data), newMemSink(), tt.opts)
			if err == nil {
				t.Fatalf("got an index of %d entries, want an error", res.Index.Len())
			}
			if !errors.Is(err, ErrInvalidLayer) {
				t.Errorf("got %v, want ErrInvalidLayer", err)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("got %q, want it to contain %q", err, tt.msg)
			}
			if res != nil {
				t.Errorf("got a result with the error")
			}
		})
	}
}

// TestUnpackCompressed unpacks layers through Decompress, as a pull does.
func TestUnpackCompressed(t *testing.T) {
	layer := tarOf(t, reg("a/b", "hello"), reg("c", strings.Repeat("x", 100000)))
	for _, c := range []Compression{None, Gzip, Zstd} {
		var blob bytes.Buffer
		zw, err := Compress(&blob, c)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := zw.Write(layer); err != nil {
			t.Fatal(err)
		}
		if err := zw.Close(); err != nil {
			t.Fatal(err)
		}
		t.Run(c.String(), func(t *testing.T) {
			rc, got, err := Decompress(bytes.NewReader(blob.Bytes()))
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			if got != c {
				t.Errorf("compression: got %v, want %v", got, c)
			}
			res, err := Unpack(context.Background(), rc, newMemSink(), Options{})
			if err != nil {
				t.Fatal(err)
			}
			if want := digest.FromBytes(layer); res.DiffID != want {
				t.Errorf("DiffID: got %s, want %s", res.DiffID, want)
			}
		})
		if c == None {
			continue
		}
		t.Run(c.String()+" truncated", func(t *testing.T) {
			rc, _, err := Decompress(bytes.NewReader(blob.Bytes()[:blob.Len()/2]))
			if err == nil {
				defer rc.Close()
				_, err = Unpack(context.Background(), rc, newMemSink(), Options{})
			}
			if !errors.Is(err, ErrInvalidLayer) || !strings.Contains(err.Error(), "truncated") {
				t.Errorf("got %v, want a truncated ErrInvalidLayer", err)
			}
		})
		t.Run(c.String()+" corrupt", func(t *testing.T) {
			data := bytes.Clone(blob.Bytes())
			data[len(data)-6] ^= 0xff // in the checksum of either format
			rc, _, err := Decompress(bytes.NewReader(data))
			if err == nil {
				defer rc.Close()
				_, err = Unpack(context.Background(), rc, newMemSink(), Options{})
			}
			if !errors.Is(err, ErrInvalidLayer) {
				t.Errorf("got %v, want ErrInvalidLayer", err)
			}
		})
	}
}

// failSink fails every PutObject.
type failSink struct{ err error }

func (s failSink) PutObject(r io.Reader, size int64) (index.Digest, error) {
	return index.Digest{}, s.err
}

// shortSink reads less than it is given.
type shortSink struct{}

func (shortSink) PutObject(r io.Reader, size int64) (index.Digest, error) {
	_, err := io.CopyN(io.Discard, r, size-1)
	return index.Digest{1}, err
}

func TestUnpackErrors(t *testing.T) {
	layer := tarOf(t, reg("f", "hello"))
	errDisk := errors.New("disk full")
	errRead := errors.New("connection reset")
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		r       io.Reader
		sink    Sink
		want    error
		invalid bool
	}{
		{name: "sink fails", r: bytes.NewReader(layer), sink: failSink{errDisk}, want: errDisk},
		{name: "sink reads short", r: bytes.NewReader(layer), sink: shortSink{}},
		{name: "read fails", r: io.MultiReader(bytes.NewReader(layer[:700]), iotest.ErrReader(errRead)), sink: newMemSink(), want: errRead},
		{name: "read fails in a header", r: io.MultiReader(bytes.NewReader(layer[:100]), iotest.ErrReader(errRead)), sink: newMemSink(), want: errRead},
		{name: "read fails after the end", r: io.MultiReader(bytes.NewReader(layer), iotest.ErrReader(errRead)), sink: newMemSink(), want: errRead},
		{name: "canceled", ctx: canceled, r: bytes.NewReader(layer), sink: newMemSink(), want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			_, err := Unpack(ctx, tt.r, tt.sink, Options{})
			if err == nil {
				t.Fatal("got no error")
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
			// Failures that are not the layer's fault must not say so.
			if errors.Is(err, ErrInvalidLayer) {
				t.Errorf("got %v, which wraps ErrInvalidLayer", err)
			}
		})
	}
}
