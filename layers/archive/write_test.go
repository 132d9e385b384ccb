package archive

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/strata-engine/strata/layers/index"
)

// fullLayer is a layer with every kind of entry Unpack accepts.
func fullLayer(t testing.TB) []byte {
	nano := reg("etc/nano", "ns")
	nano.hdr.ModTime = time.Unix(1700000000, 999999999)
	nano.hdr.Format = tar.FormatPAX
	old := reg("etc/old", "before 1970")
	old.hdr.ModTime = time.Unix(-86400, 5)
	old.hdr.Format = tar.FormatPAX
	x := reg("bin/ping", "ping")
	x.hdr.Mode, x.hdr.Uid, x.hdr.Gid = 0o4755, 3000000, 1
	x.hdr.PAXRecords = map[string]string{
		"SCHILY.xattr.security.capability": "\x01\x00\x00\x02\x00\x20\x00\x00",
		"SCHILY.xattr.user.empty":          "",
	}
	root := dirEnt("./", 0o751)
	root.hdr.Uid = 7
	return tarOf(t,
		root,
		dirEnt("bin/", 0o755),
		x,
		linkEnt("bin/ping6", "bin/ping"),
		linkEnt("usr/sbin/ping", "bin/ping"),
		symEnt("lib", "usr/lib"),
		reg("usr/lib/deep/er/still/file", "deep"),
		reg("usr/lib/empty", ""),
		devEnt("dev/null", tar.TypeChar, 1, 3),
		devEnt("dev/loop0", tar.TypeBlock, 7, 0),
		ent{hdr: tar.Header{Typeflag: tar.TypeFifo, Name: "run/initctl", Mode: 0o600, ModTime: epoch}},
		nano,
		old,
		reg(strings.Repeat("long/", 40)+strings.Repeat("n", 255), "long"),
		reg("var/.wh.cache", ""),
		reg("var/lib/.wh..wh..opq", ""),
		dirEnt("var/log/", 0o700),
		reg("var/log/.wh..wh..opq", ""),
		reg("var/log/messages", "log"),
		reg(".wh.home", ""),
		dirEnt("home/", 0o755),
		reg("home/user", "user"),
		reg(".wh..wh..opq", ""),
	)
}

func TestWriteRoundTrip(t *testing.T) {
	ctx := context.Background()
	for _, sinkName := range []string{"memory", "directory"} {
		t.Run(sinkName, func(t *testing.T) {
			var sink interface {
				Sink
				Source
			} = newMemSink()
			if sinkName == "directory" {
				sink = dirSink{dir: t.TempDir()}
			}
			first, err := Unpack(ctx, bytes.NewReader(fullLayer(t)), sink, Options{})
			if err != nil {
				t.Fatal(err)
			}
			var t2 bytes.Buffer
			if err := Write(ctx, &t2, first.Index, sink); err != nil {
				t.Fatal(err)
			}
			second, err := Unpack(ctx, bytes.NewReader(t2.Bytes()), sink, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(second.Index.Bytes(), first.Index.Bytes()) {
				t.Errorf("Unpack(Write(x)) differs from x:%s", diffMaps(describe(t, second.Index, sink), describe(t, first.Index, sink)))
			}
			if second.Size != first.Size {
				t.Errorf("Size: got %d, want %d", second.Size, first.Size)
			}
			// The same index gives the same bytes.
			var t3 bytes.Buffer
			if err := Write(ctx, &t3, second.Index, sink); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(t3.Bytes(), t2.Bytes()) {
				t.Errorf("two writes of the same index differ")
			}
		})
	}
}

// TestWriteFlattened writes a merged index, which has no markers, and
// reads back exactly it.
func TestWriteFlattened(t *testing.T) {
	ctx := context.Background()
	sink := newMemSink()
	lower, err := Unpack(ctx, bytes.NewReader(tarOf(t, reg("a/f", "1"), reg("a/g", "2"), linkEnt("h", "a/f"))), sink, Options{})
	if err != nil {
		t.Fatal(err)
	}
	upper, err := Unpack(ctx, bytes.NewReader(tarOf(t, reg("a/.wh.g", ""), reg("b/c", "3"))), sink, Options{})
	if err != nil {
		t.Fatal(err)
	}
	flat, err := index.Merge(lower.Index, upper.Index)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(ctx, &buf, flat, sink); err != nil {
		t.Fatal(err)
	}
	back, err := Unpack(ctx, &buf, sink, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Index.Bytes(), flat.Bytes()) {
		t.Errorf("Unpack(Write(flat)) differs:%s", diffMaps(describe(t, back.Index, sink), describe(t, flat, sink)))
	}
}

// headers lists the entries of a tar as "name type [-> link] [size]".
func headers(t testing.TB, data []byte) []string {
	t.Helper()
	var out []string
	tr := tar.NewReader(bytes.NewReader(data))
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		s := fmt.Sprintf("%s %c", h.Name, h.Typeflag)
		if h.Linkname != "" {
			s += " -> " + h.Linkname
		}
		if h.Size > 0 {
			s += fmt.Sprintf(" %d", h.Size)
		}
		out = append(out, s)
	}
}

func TestWriteForms(t *testing.T) {
	sink := newMemSink()
	content, err := sink.PutObject(strings.NewReader("abc"), 3)
	if err != nil {
		t.Fatal(err)
	}
	file := index.Entry{Mode: index.TypeReg | 0o644, Size: 3, Digest: content}
	dir := index.Entry{Mode: index.TypeDir | 0o755}
	type step func(b *index.Builder) error
	tests := []struct {
		name  string
		steps []step
		want  []string
	}{
		{
			name:  "implicit directories are left out",
			steps: []step{func(b *index.Builder) error { return b.Add("a/b/f", file) }},
			want:  []string{"a/b/f 0 3"},
		},
		{
			name:  "explicit root",
			steps: []step{func(b *index.Builder) error { return b.Add(".", dir) }},
			want:  []string{"./ 5"},
		},
		{
			name:  "whiteout",
			steps: []step{func(b *index.Builder) error { return b.Whiteout("a/gone") }},
			want:  []string{"a/.wh.gone 0"},
		},
		{
			name: "opaque directory",
			steps: []step{
				func(b *index.Builder) error { return b.Add("d", dir) },
				func(b *index.Builder) error { return b.SetOpaque("d") },
				func(b *index.Builder) error { return b.Add("d/f", file) },
			},
			want: []string{"d/ 5", "d/.wh..wh..opq 0", "d/f 0 3"},
		},
		{
			name:  "implicit opaque directory",
			steps: []step{func(b *index.Builder) error { return b.SetOpaque("d") }},
			want:  []string{"d/.wh..wh..opq 0"},
		},
		{
			name:  "opaque root",
			steps: []step{func(b *index.Builder) error { return b.SetOpaque("/") }},
			want:  []string{".wh..wh..opq 0"},
		},
		{
			name: "hard links point at the leader",
			steps: []step{
				func(b *index.Builder) error { return b.Add("z/f", file) },
				func(b *index.Builder) error { return b.Hardlink("a", "z/f") },
				func(b *index.Builder) error { return b.Hardlink("z/g", "a") },
			},
			want: []string{"a 0 3", "z/f 1 -> a", "z/g 1 -> a"},
		},
		{
			name: "sockets are left out",
			steps: []step{
				func(b *index.Builder) error { return b.Add("s", index.Entry{Mode: index.TypeSock | 0o755}) },
				func(b *index.Builder) error { return b.Add("t", index.Entry{Mode: index.TypeFifo | 0o755}) },
			},
			want: []string{"t 6"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := index.NewBuilder()
			for _, s := range tt.steps {
				if err := s(b); err != nil {
					t.Fatal(err)
				}
			}
			x, err := b.Build()
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := Write(context.Background(), &buf, x, sink); err != nil {
				t.Fatal(err)
			}
			if got := headers(t, buf.Bytes()); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriteFormat(t *testing.T) {
	b := index.NewBuilder()
	for _, add := range []struct {
		path string
		e    index.Entry
	}{
		{"plain", index.Entry{Mode: index.TypeDir | 0o755, Mtime: 1700000000}},
		{"nanos", index.Entry{Mode: index.TypeDir | 0o755, Mtime: 1700000000, MtimeNs: 1}},
	} {
		if err := b.Add(add.path, add.e); err != nil {
			t.Fatal(err)
		}
	}
	x, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(context.Background(), &buf, x, newMemSink()); err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(&buf)
	want := map[string]tar.Format{"nanos/": tar.FormatPAX, "plain/": tar.FormatUSTAR}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Format != want[h.Name] {
			t.Errorf("%s: got format %v, want %v", h.Name, h.Format, want[h.Name])
		}
	}
}

// badSource serves content other than what was asked for.
type badSource struct{ data string }

func (s badSource) OpenObject(index.Digest) (io.ReadCloser, error) {
	return io.NopCloser(strings.NewReader(s.data)), nil
}

func TestWriteErrors(t *testing.T) {
	sink := newMemSink()
	res, err := Unpack(context.Background(), bytes.NewReader(tarOf(t, reg("f", "hello"))), sink, Options{})
	if err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		src  Source
		want error
	}{
		{"missing object", context.Background(), newMemSink(), os.ErrNotExist},
		{"short object", context.Background(), badSource{"hell"}, ErrObjectMismatch},
		{"wrong object", context.Background(), badSource{"jello"}, ErrObjectMismatch},
		{"long object", context.Background(), badSource{"hello, world"}, ErrObjectMismatch},
		{"canceled", canceled, sink, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Write(tt.ctx, io.Discard, res.Index, tt.src)
			if !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}
