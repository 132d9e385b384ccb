package tarball

import (
	// Blob names carry their algorithm; go-digest can verify only the
	// algorithms linked into the binary, so link the ones OCI allows.
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"fmt"
	"io"

	"github.com/opencontainers/go-digest"
)

var (
	// ErrInvalidArchive is wrapped by errors about archives that are not
	// well-formed: bad tar, bad JSON, missing or unsafe members.
	ErrInvalidArchive = errors.New("invalid image archive")

	// ErrDigestMismatch is wrapped by errors about content that does not
	// hash to the digest that names it.
	ErrDigestMismatch = errors.New("digest mismatch")
)

// Archive is what an image archive holds.
type Archive struct {
	Images []Image
}

// Image is one image of an archive.
type Image struct {
	// Config is the image configuration, verified against ConfigDigest.
	Config       []byte
	ConfigDigest digest.Digest
	// Manifest is the image manifest (OCI or Docker schema 2), verified
	// against ManifestDigest; nil for a legacy docker-archive, which has
	// none.
	Manifest       []byte
	ManifestDigest digest.Digest
	// Tags are the names the archive gives the image, as written there:
	// "busybox:latest" from manifest.json, a full name from
	// io.containerd.image.name, or whatever org.opencontainers.image.ref.name
	// holds (which may be a bare tag such as "latest").
	Tags   []string
	Layers []Layer
}

// Layer is one layer of an image, in the order of the config's diff_ids.
type Layer struct {
	// Digest is the blob digest when an OCI manifest gives it, else "".
	// It is not verified here: see the package documentation.
	Digest digest.Digest
	// MediaType is the manifest's media type of the layer, "" when unknown.
	MediaType string
	// Size is the size of the blob in the archive.
	Size int64
	// Open returns the blob's bytes as stored (possibly compressed). It may
	// be called any number of times, also concurrently, for as long as the
	// archive's io.ReaderAt or directory stays valid.
	Open func() (io.ReadCloser, error)
}

// maxJSONSize bounds every JSON document read whole from an archive, so a
// hostile archive cannot make us allocate gigabytes. The largest real
// configs (long histories) are a few hundred kilobytes.
const maxJSONSize = 16 << 20

// member is one file of an archive, after links are resolved.
type member struct {
	size int64
	open func() (io.ReadCloser, error)
}

// source is where an archive's members live: a tar or a directory.
type source interface {
	// member returns the named member; the error wraps ErrInvalidArchive
	// when it is missing or not a regular file.
	member(name string) (member, error)
	// has reports whether the named member exists.
	has(name string) bool
}

// invalidf returns an error wrapping ErrInvalidArchive about one member.
func invalidf(name, format string, args ...any) error {
	if name == "" {
		return fmt.Errorf("%w: %s", ErrInvalidArchive, fmt.Sprintf(format, args...))
	}
	return fmt.Errorf("%w: %s: %s", ErrInvalidArchive, name, fmt.Sprintf(format, args...))
}

// readMember reads a small member whole.
func readMember(src source, name string) ([]byte, error) {
	m, err := src.member(name)
	if err != nil {
		return nil, err
	}
	if m.size > maxJSONSize {
		return nil, invalidf(name, "%d bytes, more than the %d allowed for a document", m.size, maxJSONSize)
	}
	rc, err := m.open()
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", name, err)
	}
	defer rc.Close()
	b := make([]byte, m.size)
	if _, err := io.ReadFull(rc, b); err != nil {
		return nil, invalidf(name, "read: %v", err)
	}
	return b, nil
}

// verify checks that b hashes to d.
func verify(name string, b []byte, d digest.Digest) error {
	if err := d.Validate(); err != nil {
		return invalidf(name, "digest %q: %v", d, err)
	}
	if got := d.Algorithm().FromBytes(b); got != d {
		return fmt.Errorf("%w: %s: got %s, want %s", ErrDigestMismatch, name, got, d)
	}
	return nil
}

// read turns a source into an Archive: a docker-archive when manifest.json
// is present (what "docker load" would read), else an OCI layout.
func read(src source) (*Archive, error) {
	switch {
	case src.has(dockerManifestName):
		return readDocker(src)
	case src.has(ociIndexName):
		return readOCI(src)
	default:
		return nil, invalidf("", "neither %s nor %s found", dockerManifestName, ociIndexName)
	}
}
