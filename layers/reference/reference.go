// Package reference parses image references the way Docker does, so that
// every name a Docker user types means the same image here.
//
// The grammar and the normalisation rules are those of
// github.com/distribution/reference, the package Docker itself uses; this
// package adds a small value type on top of it and keeps Docker's error texts.
//
// # Normalisation
//
// A familiar name is expanded to a fully qualified one: "ubuntu" means
// "docker.io/library/ubuntu", "index.docker.io/ubuntu" means the same, and
// "localhost/x" or any first component containing "." or ":" is a registry
// ("localhost:5000/x", "ghcr.io/a/b"). A reference parsed with [Parse] that
// names neither a tag nor a digest gets the tag "latest", as "docker pull"
// does. A reference may carry both a tag and a digest
// ("ubuntu:22.04@sha256:…"); as in Docker the digest then decides which image
// is meant and the tag is informative only.
//
// # Errors
//
// Every error returned by this package wraps [ErrInvalid] and has the text
// Docker prints for the same input, for example
// "invalid reference format: repository name (library/Ubuntu) must be
// lowercase", so the CLI can show it unchanged. Because Docker's texts do not
// always repeat the input, callers that need the input in a log line add it.
//
// A string of 64 hexadecimal digits is an image ID, not a repository name:
// Docker refuses it as a name, and so does [Parse]. Callers that accept both
// IDs and references test [LooksLikeID] first.
package reference

import (
	// go-digest checks that a digest's hash is linked into the binary; a
	// program that parses "name@sha256:…" must link the algorithms Docker
	// accepts, or every digested reference would be "unsupported".
	_ "crypto/sha256"
	_ "crypto/sha512"
	"errors"
	"strings"

	dref "github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// ErrInvalid is wrapped by every error about a malformed reference.
var ErrInvalid = errors.New("invalid reference format")

// parseError carries Docker's text for a bad reference and wraps both
// ErrInvalid and, when there is one, the error of distribution/reference
// that described the problem.
type parseError struct {
	msg   string
	cause error
}

func (e *parseError) Error() string { return e.msg }

func (e *parseError) Unwrap() []error {
	if e.cause == nil {
		return []error{ErrInvalid}
	}
	return []error{ErrInvalid, e.cause}
}

// invalid turns an error of distribution/reference into one of ours. Its
// text is kept as it is: Docker prints exactly these texts.
func invalid(err error) error {
	return &parseError{msg: err.Error(), cause: err}
}

// Reference is a parsed, normalised image reference: a repository name and a
// tag, a digest, or both. The zero Reference is empty: its String is "" and
// it names no image.
type Reference struct {
	named dref.Named
}

// Parse parses a reference as "docker pull" or "docker run" would: a name,
// optionally followed by ":tag" and/or "@digest". A bare name gets the tag
// "latest".
func Parse(s string) (Reference, error) {
	named, err := parseNamed(s)
	if err != nil {
		return Reference{}, err
	}
	// TagNameOnly adds "latest" only when there is neither tag nor digest,
	// which is what Docker does for "ubuntu" but not for "ubuntu@sha256:…".
	return Reference{named: dref.TagNameOnly(named)}, nil
}

// ParseName parses a repository name without tag or digest, as given to
// "docker images NAME" or "docker push NAME". The result has no tag.
func ParseName(s string) (Reference, error) {
	named, err := parseNamed(s)
	if err != nil {
		return Reference{}, err
	}
	if !dref.IsNameOnly(named) {
		return Reference{}, &parseError{
			msg: "invalid repository name (" + s + "), it must not contain a tag or digest",
		}
	}
	return Reference{named: named}, nil
}

func parseNamed(s string) (dref.Named, error) {
	if s == "" {
		// distribution/reference would say "repository name must have at
		// least one component"; Docker's CLI says this for an empty name.
		return nil, &parseError{msg: ErrInvalid.Error(), cause: dref.ErrNameEmpty}
	}
	named, err := dref.ParseNormalizedNamed(s)
	if err != nil {
		return nil, invalid(err)
	}
	return named, nil
}

// LooksLikeID reports whether s is written like an image ID rather than a
// repository name: 64 lowercase hexadecimal digits, optionally prefixed with
// "sha256:". Docker resolves such strings as IDs and refuses them as names,
// so a caller that accepts either must try this first.
func LooksLikeID(s string) bool {
	s = strings.TrimPrefix(s, string(digest.SHA256)+":")
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// WithTag returns the reference's repository with the given tag and no
// digest, as "docker tag" makes one.
func (r Reference) WithTag(tag string) (Reference, error) {
	if r.named == nil {
		return Reference{}, &parseError{msg: ErrInvalid.Error()}
	}
	name := dref.TrimNamed(r.named)
	tagged, err := dref.WithTag(name, tag)
	if err != nil {
		return Reference{}, invalid(err)
	}
	return Reference{named: tagged}, nil
}

// IsZero reports whether r is the zero Reference.
func (r Reference) IsZero() bool { return r.named == nil }

// String returns the fully qualified form, for example
// "docker.io/library/ubuntu:latest". It is what the store records.
func (r Reference) String() string {
	if r.named == nil {
		return ""
	}
	return r.named.String()
}

// Familiar returns the form Docker shows users, for example
// "ubuntu:latest", "localhost:5000/x:1" or "ubuntu@sha256:…".
func (r Reference) Familiar() string {
	if r.named == nil {
		return ""
	}
	return dref.FamiliarString(r.named)
}

// Name returns the fully qualified repository, "docker.io/library/ubuntu".
func (r Reference) Name() string {
	if r.named == nil {
		return ""
	}
	return r.named.Name()
}

// FamiliarName returns the repository as Docker shows it, "ubuntu".
func (r Reference) FamiliarName() string {
	if r.named == nil {
		return ""
	}
	return dref.FamiliarName(r.named)
}

// Domain returns the registry, "docker.io" or "localhost:5000".
func (r Reference) Domain() string {
	if r.named == nil {
		return ""
	}
	return dref.Domain(r.named)
}

// Path returns the repository within its registry, "library/ubuntu".
func (r Reference) Path() string {
	if r.named == nil {
		return ""
	}
	return dref.Path(r.named)
}

// Tag returns the tag, or "" when the reference has none.
func (r Reference) Tag() string {
	if t, ok := r.named.(dref.Tagged); ok {
		return t.Tag()
	}
	return ""
}

// Digest returns the digest, or "" when the reference has none.
func (r Reference) Digest() digest.Digest {
	if d, ok := r.named.(dref.Digested); ok {
		return d.Digest()
	}
	return ""
}

// IsDigested reports whether the reference pins a digest; when it does, the
// digest, not the tag, names the image.
func (r Reference) IsDigested() bool { return r.Digest() != "" }
