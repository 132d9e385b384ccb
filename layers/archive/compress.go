package archive

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync/atomic"

	"github.com/klauspost/compress/zstd"
	"github.com/klauspost/pgzip"
)

// Compression is how a layer blob is compressed.
type Compression int

const (
	None Compression = iota
	Gzip
	Zstd
)

// ErrUnsupported is returned for a compression or media type this package
// does not handle.
var ErrUnsupported = errors.New("unsupported layer format")

func (c Compression) String() string {
	switch c {
	case None:
		return "none"
	case Gzip:
		return "gzip"
	case Zstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

var (
	gzipMagic = []byte{0x1f, 0x8b, 0x08}
	zstdMagic = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Detect tells the compression of the stream in br from its first bytes,
// without consuming them. Anything that is neither gzip nor zstd, including
// a stream too short to tell, is None.
func Detect(br *bufio.Reader) (Compression, error) {
	magic, err := br.Peek(len(zstdMagic))
	if err != nil && err != io.EOF {
		return None, fmt.Errorf("detect compression: %w", err)
	}
	switch {
	case bytes.HasPrefix(magic, gzipMagic):
		return Gzip, nil
	case bytes.HasPrefix(magic, zstdMagic):
		return Zstd, nil
	}
	return None, nil
}

// Decompress detects the compression of r and returns a reader of the
// uncompressed stream. Close releases the decoder's goroutines and buffers;
// it does not close r. Errors in the compressed data (a bad header or
// checksum, a truncated stream) wrap ErrInvalidLayer; errors reading r are
// returned as they are.
func Decompress(r io.Reader) (io.ReadCloser, Compression, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	c, err := Detect(br)
	if err != nil {
		return nil, None, err
	}
	src := &sourceReader{r: br}
	switch c {
	case Gzip:
		// pgzip reads and inflates ahead in its own goroutines, so the
		// tar parsing and hashing downstream overlap with inflating.
		zr, err := pgzip.NewReader(src)
		if err != nil {
			return nil, c, src.wrap(c, err)
		}
		return &decoder{r: zr, src: src, c: c, close: zr.Close}, c, nil
	case Zstd:
		zr, err := zstd.NewReader(src)
		if err != nil {
			return nil, c, fmt.Errorf("zstd: %w", err)
		}
		return &decoder{r: zr, src: src, c: c, close: func() error { zr.Close(); return nil }}, c, nil
	}
	return io.NopCloser(br), None, nil
}

// sourceReader remembers whether reading the compressed stream itself
// failed, so that a decoder's error can be told apart from an I/O error.
// The decoders read it from goroutines of their own, hence the atomic.
type sourceReader struct {
	r      io.Reader
	failed atomic.Bool
}

func (s *sourceReader) Read(p []byte) (int, error) {
	n, err := s.r.Read(p)
	if err != nil && err != io.EOF {
		s.failed.Store(true)
	}
	return n, err
}

// wrap marks a decoder error as a fault of the data unless it came from
// reading the source.
func (s *sourceReader) wrap(c Compression, err error) error {
	if err == nil || err == io.EOF || s.failed.Load() {
		return err
	}
	if err == io.ErrUnexpectedEOF {
		return fmt.Errorf("%w: %s stream truncated: %w", ErrInvalidLayer, c, err)
	}
	return fmt.Errorf("%w: %s stream: %w", ErrInvalidLayer, c, err)
}

type decoder struct {
	r     io.Reader
	src   *sourceReader
	c     Compression
	close func() error
}

func (d *decoder) Read(p []byte) (int, error) {
	n, err := d.r.Read(p)
	return n, d.src.wrap(d.c, err)
}

func (d *decoder) Close() error { return d.close() }

// Compress returns a writer that compresses into w: gzip at the default
// level (in parallel blocks) or zstd at the default level. Close flushes the
// stream and releases the encoder; it does not close w.
func Compress(w io.Writer, c Compression) (io.WriteCloser, error) {
	switch c {
	case None:
		return nopWriteCloser{w}, nil
	case Gzip:
		return pgzip.NewWriter(w), nil
	case Zstd:
		zw, err := zstd.NewWriter(w)
		if err != nil {
			return nil, fmt.Errorf("zstd: %w", err)
		}
		return zw, nil
	}
	return nil, fmt.Errorf("compress %v: %w", c, ErrUnsupported)
}

type nopWriteCloser struct{ io.Writer }

func (nopWriteCloser) Close() error { return nil }

// OCI layer media types.
const (
	MediaTypeTar     = "application/vnd.oci.image.layer.v1.tar"
	MediaTypeTarGzip = "application/vnd.oci.image.layer.v1.tar+gzip"
	MediaTypeTarZstd = "application/vnd.oci.image.layer.v1.tar+zstd"
)

// MediaType returns the OCI media type of a layer compressed with c, or ""
// for an unknown compression.
func MediaType(c Compression) string {
	switch c {
	case None:
		return MediaTypeTar
	case Gzip:
		return MediaTypeTarGzip
	case Zstd:
		return MediaTypeTarZstd
	}
	return ""
}

// layerMediaTypes are the layer types of OCI (including the deprecated
// non-distributable ones, whose blobs are ordinary layers) and of Docker's
// schema 2 (including foreign layers, which pull from their URLs).
var layerMediaTypes = map[string]Compression{
	MediaTypeTar:     None,
	MediaTypeTarGzip: Gzip,
	MediaTypeTarZstd: Zstd,
	"application/vnd.oci.image.layer.nondistributable.v1.tar":      None,
	"application/vnd.oci.image.layer.nondistributable.v1.tar+gzip": Gzip,
	"application/vnd.oci.image.layer.nondistributable.v1.tar+zstd": Zstd,
	"application/vnd.docker.image.rootfs.diff.tar":                 None,
	"application/vnd.docker.image.rootfs.diff.tar.gzip":            Gzip,
	"application/vnd.docker.image.rootfs.diff.tar.zstd":            Zstd,
	"application/vnd.docker.image.rootfs.foreign.diff.tar":         None,
	"application/vnd.docker.image.rootfs.foreign.diff.tar.gzip":    Gzip,
}

// ParseMediaType returns the compression of a layer of media type mt, OCI
// or Docker. Media types compare case-insensitively (RFC 6838).
func ParseMediaType(mt string) (Compression, error) {
	if c, ok := layerMediaTypes[strings.ToLower(strings.TrimSpace(mt))]; ok {
		return c, nil
	}
	return None, fmt.Errorf("layer media type %q: %w", mt, ErrUnsupported)
}
