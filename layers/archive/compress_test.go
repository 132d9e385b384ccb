package archive

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
	"time"
)

func TestCompressionString(t *testing.T) {
	tests := []struct {
		c    Compression
		want string
	}{
		{None, "none"},
		{Gzip, "gzip"},
		{Zstd, "zstd"},
		{Compression(7), "Compression(7)"},
	}
	for _, tt := range tests {
		if got := tt.c.String(); got != tt.want {
			t.Errorf("Compression(%d): got %q, want %q", int(tt.c), got, tt.want)
		}
	}
}

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		data string
		want Compression
	}{
		{"empty", "", None},
		{"one byte", "\x1f", None},
		{"gzip", "\x1f\x8b\x08\x00rest", Gzip},
		{"gzip, nothing after the magic", "\x1f\x8b\x08", Gzip},
		{"gzip with another method", "\x1f\x8b\x07\x00", None},
		{"zstd", "\x28\xb5\x2f\xfd\x00", Zstd},
		{"zstd cut short", "\x28\xb5\x2f", None},
		{"tar", "etc/passwd\x00\x00", None},
		{"bzip2", "BZh91AY&SY", None},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			br := bufio.NewReader(strings.NewReader(tt.data))
			got, err := Detect(br)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
			// Detect consumes nothing.
			if rest, _ := io.ReadAll(br); string(rest) != tt.data {
				t.Errorf("left %q, want %q", rest, tt.data)
			}
		})
	}
	errRead := errors.New("read error")
	if _, err := Detect(bufio.NewReader(iotest.ErrReader(errRead))); !errors.Is(err, errRead) {
		t.Errorf("failing reader: got %v, want %v", err, errRead)
	}
}

func TestCompressRoundTrip(t *testing.T) {
	payloads := map[string][]byte{
		"empty": nil,
		"small": []byte("hello"),
		"large": bytes.Repeat([]byte("0123456789abcdefghijklmnopqrstuvwxyz"), 200000), // 7 MB, several pgzip blocks
	}
	for _, c := range []Compression{None, Gzip, Zstd} {
		for name, data := range payloads {
			t.Run(c.String()+"/"+name, func(t *testing.T) {
				var blob bytes.Buffer
				zw, err := Compress(&blob, c)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := zw.Write(data); err != nil {
					t.Fatal(err)
				}
				if err := zw.Close(); err != nil {
					t.Fatal(err)
				}
				if c != None && len(data) > 1000 && blob.Len() > len(data)/10 {
					t.Errorf("compressed %d bytes to %d", len(data), blob.Len())
				}
				rc, got, err := Decompress(iotest.OneByteReader(bytes.NewReader(blob.Bytes())))
				if err != nil {
					t.Fatal(err)
				}
				if got != c {
					t.Errorf("compression: got %v, want %v", got, c)
				}
				out, err := io.ReadAll(rc)
				if err != nil {
					t.Fatal(err)
				}
				if err := rc.Close(); err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(out, data) {
					t.Errorf("got %d bytes back, want the %d written", len(out), len(data))
				}
			})
		}
	}
	if _, err := Compress(io.Discard, Compression(9)); !errors.Is(err, ErrUnsupported) {
		t.Errorf("unknown compression: got %v, want ErrUnsupported", err)
	}
}

func TestDecompressErrors(t *testing.T) {
	errRead := errors.New("connection reset")
	gz := compressed(t, Gzip, bytes.Repeat([]byte("layer data "), 100000))
	zs := compressed(t, Zstd, bytes.Repeat([]byte("layer data "), 100000))
	tests := []struct {
		name    string
		r       io.Reader
		invalid bool  // the error wraps ErrInvalidLayer
		want    error // and this one
	}{
		{name: "gzip header only", r: bytes.NewReader(gz[:3]), invalid: true},
		{name: "gzip truncated", r: bytes.NewReader(gz[:len(gz)/2]), invalid: true, want: io.ErrUnexpectedEOF},
		{name: "gzip checksum", r: bytes.NewReader(flip(gz, len(gz)-6)), invalid: true},
		{name: "gzip garbage", r: bytes.NewReader(append(bytes.Clone(gz[:10]), bytes.Repeat([]byte{0xff}, 1000)...)), invalid: true},
		{name: "gzip read error", r: io.MultiReader(bytes.NewReader(gz[:100]), iotest.ErrReader(errRead)), want: errRead},
		{name: "zstd truncated", r: bytes.NewReader(zs[:len(zs)/2]), invalid: true},
		{name: "zstd checksum", r: bytes.NewReader(flip(zs, len(zs)-2)), invalid: true},
		{name: "zstd garbage", r: bytes.NewReader(append(bytes.Clone(zs[:4]), bytes.Repeat([]byte{0xff}, 1000)...)), invalid: true},
		{name: "zstd read error", r: io.MultiReader(bytes.NewReader(zs[:100]), iotest.ErrReader(errRead)), want: errRead},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, _, err := Decompress(tt.r)
			if err == nil {
				_, err = io.Copy(io.Discard, rc)
				rc.Close()
			}
			if err == nil {
				t.Fatal("got no error")
			}
			if errors.Is(err, ErrInvalidLayer) != tt.invalid {
				t.Errorf("got %v: wraps ErrInvalidLayer %v, want %v", err, !tt.invalid, tt.invalid)
			}
			if tt.want != nil && !errors.Is(err, tt.want) {
				t.Errorf("got %v, want %v", err, tt.want)
			}
		})
	}
}

// TestDecompressClose checks that Close stops the decoders' goroutines
// even when the stream was not read to its end.
func TestDecompressClose(t *testing.T) {
	for _, c := range []Compression{Gzip, Zstd} {
		t.Run(c.String(), func(t *testing.T) {
			blob := compressed(t, c, bytes.Repeat([]byte("x"), 8<<20))
			before := runtime.NumGoroutine()
			for range 5 {
				rc, _, err := Decompress(bytes.NewReader(blob))
				if err != nil {
					t.Fatal(err)
				}
				if _, err := io.CopyN(io.Discard, rc, 1000); err != nil {
					t.Fatal(err)
				}
				if err := rc.Close(); err != nil {
					t.Fatal(err)
				}
			}
			// Goroutines end asynchronously after Close; give them a
			// moment rather than asserting at once.
			for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; {
				if time.Now().After(deadline) {
					t.Fatalf("got %d goroutines after Close, want %d", runtime.NumGoroutine(), before)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

func TestMediaType(t *testing.T) {
	tests := []struct {
		c    Compression
		want string
	}{
		{None, "application/vnd.oci.image.layer.v1.tar"},
		{Gzip, "application/vnd.oci.image.layer.v1.tar+gzip"},
		{Zstd, "application/vnd.oci.image.layer.v1.tar+zstd"},
		{Compression(5), ""},
	}
	for _, tt := range tests {
		if got := MediaType(tt.c); got != tt.want {
			t.Errorf("MediaType(%v): got %q, want %q", tt.c, got, tt.want)
		}
		if tt.want == "" {
			continue
		}
		if got, err := ParseMediaType(tt.want); err != nil || got != tt.c {
			t.Errorf("ParseMediaType(MediaType(%v)): got %v, %v", tt.c, got, err)
		}
	}
}

func TestParseMediaType(t *testing.T) {
	tests := []struct {
		mt   string
		want Compression
		err  error
	}{
		{"application/vnd.oci.image.layer.v1.tar", None, nil},
		{"application/vnd.oci.image.layer.v1.tar+gzip", Gzip, nil},
		{"application/vnd.oci.image.layer.v1.tar+zstd", Zstd, nil},
		{"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", Gzip, nil},
		{"application/vnd.docker.image.rootfs.diff.tar", None, nil},
		{"application/vnd.docker.image.rootfs.diff.tar.gzip", Gzip, nil},
		{"application/vnd.docker.image.rootfs.diff.tar.zstd", Zstd, nil},
		{"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", Gzip, nil},
		{"Application/VND.OCI.Image.Layer.v1.Tar+Gzip", Gzip, nil},
		{"application/vnd.oci.image.layer.v1.tar+bzip2", None, ErrUnsupported},
		{"application/vnd.oci.image.manifest.v1+json", None, ErrUnsupported},
		{"application/vnd.oci.image.config.v1+json", None, ErrUnsupported},
		{"", None, ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.mt, func(t *testing.T) {
			got, err := ParseMediaType(tt.mt)
			if !errors.Is(err, tt.err) || (err == nil) != (tt.err == nil) {
				t.Fatalf("got error %v, want %v", err, tt.err)
			}
			if got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func compressed(t testing.TB, c Compression, data []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw, err := Compress(&buf, c)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := zw.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func flip(data []byte, i int) []byte {
	d := bytes.Clone(data)
	d[i] ^= 0xff
	return d
}
