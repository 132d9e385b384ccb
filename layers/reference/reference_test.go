package reference

import (
	"errors"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
)

const (
	hex64 = "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa"
	dgst  = "sha256:" + hex64
)

func TestParse(t *testing.T) {
	tests := []struct {
		in           string
		str          string
		familiar     string
		name         string
		familiarName string
		domain       string
		path         string
		tag          string
		digest       digest.Digest
	}{
		{
			in: "ubuntu", str: "docker.io/library/ubuntu:latest", familiar: "ubuntu:latest",
			name: "docker.io/library/ubuntu", familiarName: "ubuntu",
			domain: "docker.io", path: "library/ubuntu", tag: "latest",
		},
		{
			in: "ubuntu:22.04", str: "docker.io/library/ubuntu:22.04", familiar: "ubuntu:22.04",
			name: "docker.io/library/ubuntu", familiarName: "ubuntu",
			domain: "docker.io", path: "library/ubuntu", tag: "22.04",
		},
		{
			in: "docker.io/library/ubuntu:latest", str: "docker.io/library/ubuntu:latest", familiar: "ubuntu:latest",
			name: "docker.io/library/ubuntu", familiarName: "ubuntu",
			domain: "docker.io", path: "library/ubuntu", tag: "latest",
		},
		{
			in: "index.docker.io/ubuntu", str: "docker.io/library/ubuntu:latest", familiar: "ubuntu:latest",
			name: "docker.io/library/ubuntu", familiarName: "ubuntu",
			domain: "docker.io", path: "library/ubuntu", tag: "latest",
		},
		{
			in: "docker.io/ubuntu", str: "docker.io/library/ubuntu:latest", familiar: "ubuntu:latest",
			name: "docker.io/library/ubuntu", familiarName: "ubuntu",
			domain: "docker.io", path: "library/ubuntu", tag: "latest",
		},
		{
			in: "user/app", str: "docker.io/user/app:latest", familiar: "user/app:latest",
			name: "docker.io/user/app", familiarName: "user/app",
			domain: "docker.io", path: "user/app", tag: "latest",
		},
		{
			in: "localhost/x", str: "localhost/x:latest", familiar: "localhost/x:latest",
			name: "localhost/x", familiarName: "localhost/x",
			domain: "localhost", path: "x", tag: "latest",
		},
		{
			in: "localhost:5000/x:1", str: "localhost:5000/x:1", familiar: "localhost:5000/x:1",
			name: "localhost:5000/x", familiarName: "localhost:5000/x",
			domain: "localhost:5000", path: "x", tag: "1",
		},
		{
			in: "registry.example.com:443/team/sub/app:v1.2-rc_3", str: "registry.example.com:443/team/sub/app:v1.2-rc_3",
			familiar: "registry.example.com:443/team/sub/app:v1.2-rc_3",
			name:     "registry.example.com:443/team/sub/app", familiarName: "registry.example.com:443/team/sub/app",
			domain: "registry.example.com:443", path: "team/sub/app", tag: "v1.2-rc_3",
		},
		{
			in: "127.0.0.1:5000/a/b", str: "127.0.0.1:5000/a/b:latest", familiar: "127.0.0.1:5000/a/b:latest",
			name: "127.0.0.1:5000/a/b", familiarName: "127.0.0.1:5000/a/b",
			domain: "127.0.0.1:5000", path: "a/b", tag: "latest",
		},
		{
			in: "[::1]:5000/x", str: "[::1]:5000/x:latest", familiar: "[::1]:5000/x:latest",
			name: "[::1]:5000/x", familiarName: "[::1]:5000/x",
			domain: "[::1]:5000", path: "x", tag: "latest",
		},
		{
			in: "ghcr.io/a/b/c/d", str: "ghcr.io/a/b/c/d:latest", familiar: "ghcr.io/a/b/c/d:latest",
			name: "ghcr.io/a/b/c/d", familiarName: "ghcr.io/a/b/c/d",
			domain: "ghcr.io", path: "a/b/c/d", tag: "latest",
		},
		{
			// Nested paths under library/ are not shortened by Docker.
			in: "library/a/b", str: "docker.io/library/a/b:latest", familiar: "library/a/b:latest",
			name: "docker.io/library/a/b", familiarName: "library/a/b",
			domain: "docker.io", path: "library/a/b", tag: "latest",
		},
		{
			in: "busybox@" + dgst, str: "docker.io/library/busybox@" + dgst, familiar: "busybox@" + dgst,
			name: "docker.io/library/busybox", familiarName: "busybox",
			domain: "docker.io", path: "library/busybox", digest: dgst,
		},
		{
			in: "busybox:1.36@" + dgst, str: "docker.io/library/busybox:1.36@" + dgst, familiar: "busybox:1.36@" + dgst,
			name: "docker.io/library/busybox", familiarName: "busybox",
			domain: "docker.io", path: "library/busybox", tag: "1.36", digest: dgst,
		},
		{
			in: "localhost:5000/x@" + dgst, str: "localhost:5000/x@" + dgst, familiar: "localhost:5000/x@" + dgst,
			name: "localhost:5000/x", familiarName: "localhost:5000/x",
			domain: "localhost:5000", path: "x", digest: dgst,
		},
		{
			// A first component that is not lowercase can only be a registry.
			in: "Example.com/x", str: "Example.com/x:latest", familiar: "Example.com/x:latest",
			name: "Example.com/x", familiarName: "Example.com/x",
			domain: "Example.com", path: "x", tag: "latest",
		},
		{
			// Tags may be mixed case; only repository names may not.
			in: "ubuntu:Jammy", str: "docker.io/library/ubuntu:Jammy", familiar: "ubuntu:Jammy",
			name: "docker.io/library/ubuntu", familiarName: "ubuntu",
			domain: "docker.io", path: "library/ubuntu", tag: "Jammy",
		},
		{
			// A bare "localhost" is a repository on Docker Hub, as in Docker.
			in: "localhost", str: "docker.io/library/localhost:latest", familiar: "localhost:latest",
			name: "docker.io/library/localhost", familiarName: "localhost",
			domain: "docker.io", path: "library/localhost", tag: "latest",
		},
		{
			in: "ubuntu:" + strings.Repeat("t", 128), str: "docker.io/library/ubuntu:" + strings.Repeat("t", 128),
			familiar: "ubuntu:" + strings.Repeat("t", 128),
			name:     "docker.io/library/ubuntu", familiarName: "ubuntu",
			domain: "docker.io", path: "library/ubuntu", tag: strings.Repeat("t", 128),
		},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): got error %v, want none", tt.in, err)
			}
			checks := []struct{ what, got, want string }{
				{"String", r.String(), tt.str},
				{"Familiar", r.Familiar(), tt.familiar},
				{"Name", r.Name(), tt.name},
				{"FamiliarName", r.FamiliarName(), tt.familiarName},
				{"Domain", r.Domain(), tt.domain},
				{"Path", r.Path(), tt.path},
				{"Tag", r.Tag(), tt.tag},
				{"Digest", string(r.Digest()), string(tt.digest)},
			}
			for _, c := range checks {
				if c.got != c.want {
					t.Errorf("%s: got %q, want %q", c.what, c.got, c.want)
				}
			}
			if got, want := r.IsDigested(), tt.digest != ""; got != want {
				t.Errorf("IsDigested: got %v, want %v", got, want)
			}
			if r.IsZero() {
				t.Errorf("IsZero: got true, want false")
			}
		})
	}
}

func TestParseEqualForms(t *testing.T) {
	// Every spelling Docker treats as the same image must compare equal.
	forms := []string{
		"ubuntu", "ubuntu:latest", "library/ubuntu", "docker.io/ubuntu",
		"docker.io/library/ubuntu:latest", "index.docker.io/library/ubuntu",
	}
	for _, f := range forms {
		t.Run(f, func(t *testing.T) {
			r, err := Parse(f)
			if err != nil {
				t.Fatalf("Parse(%q): got error %v, want none", f, err)
			}
			if got, want := r.String(), "docker.io/library/ubuntu:latest"; got != want {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		msg  string
	}{
		{"empty", "", "invalid reference format"},
		{"uppercase", "Ubuntu", "invalid reference format: repository name (library/Ubuntu) must be lowercase"},
		{"uppercase with tag", "Ubuntu:latest", "invalid reference format: repository name (library/Ubuntu) must be lowercase"},
		{"uppercase path", "example.com/Foo/bar:1", "invalid reference format: repository name (Foo/bar) must be lowercase"},
		{"uppercase user", "user/App", "invalid reference format: repository name (user/App) must be lowercase"},
		{"garbage", "!!!", "invalid reference format"},
		{"spaces", "ubuntu latest", "invalid reference format"},
		{"empty tag", "ubuntu:", "invalid reference format"},
		{"tag too long", "ubuntu:" + strings.Repeat("t", 129), "invalid reference format"},
		{"tag starts with dot", "ubuntu:.x", "invalid reference format"},
		{"empty path component", "a//b", "invalid reference format"},
		{"trailing slash", "ubuntu/", "invalid reference format"},
		{"leading slash", "/ubuntu", "invalid reference format"},
		{"double colon", "ubuntu::1", "invalid reference format"},
		{"short digest", "ubuntu@sha256:abc", "invalid reference format"},
		{"bad digest length", "ubuntu@sha256:" + strings.Repeat("a", 32), "invalid checksum digest length"},
		{"unknown digest algorithm", "ubuntu@md5:" + strings.Repeat("a", 32), "unsupported digest algorithm"},
		{"name too long", strings.Repeat("a", 256), "repository name must not be more than 255 characters"},
		{"id", hex64, "invalid repository name (" + hex64 + "), cannot specify 64-byte hexadecimal strings"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err == nil {
				t.Fatalf("Parse(%q): got %q, want error %q", tt.in, r.String(), tt.msg)
			}
			if got := err.Error(); got != tt.msg {
				t.Errorf("got error %q, want %q", got, tt.msg)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("errors.Is(%v, ErrInvalid): got false, want true", err)
			}
			if !r.IsZero() {
				t.Errorf("got non-zero reference %q on error", r.String())
			}
		})
	}
}

func TestParseName(t *testing.T) {
	tests := []struct {
		in      string
		name    string
		wantErr string
	}{
		{in: "ubuntu", name: "docker.io/library/ubuntu"},
		{in: "localhost:5000/team/app", name: "localhost:5000/team/app"},
		{in: "ubuntu:latest", wantErr: "invalid repository name (ubuntu:latest), it must not contain a tag or digest"},
		{in: "ubuntu@" + dgst, wantErr: "invalid repository name (ubuntu@" + dgst + "), it must not contain a tag or digest"},
		{in: "Ubuntu", wantErr: "invalid reference format: repository name (library/Ubuntu) must be lowercase"},
		{in: "", wantErr: "invalid reference format"},
		{in: hex64, wantErr: "invalid repository name (" + hex64 + "), cannot specify 64-byte hexadecimal strings"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParseName(tt.in)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("got %q, want error %q", r.String(), tt.wantErr)
				}
				if err.Error() != tt.wantErr {
					t.Errorf("got error %q, want %q", err, tt.wantErr)
				}
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("errors.Is(%v, ErrInvalid): got false, want true", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if r.String() != tt.name || r.Name() != tt.name {
				t.Errorf("got String %q Name %q, want %q", r.String(), r.Name(), tt.name)
			}
			if r.Tag() != "" || r.IsDigested() {
				t.Errorf("got tag %q digest %q, want neither", r.Tag(), r.Digest())
			}
		})
	}
}

func TestLooksLikeID(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{hex64, true},
		{"sha256:" + hex64, true},
		{strings.ToUpper(hex64), false},
		{hex64[:63], false},
		{hex64 + "0", false},
		{hex64[:12], false},
		{"sha512:" + hex64, false},
		{"ubuntu", false},
		{"", false},
		{strings.Repeat("g", 64), false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := LooksLikeID(tt.in); got != tt.want {
				t.Errorf("LooksLikeID(%q): got %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func TestWithTag(t *testing.T) {
	tests := []struct {
		in, tag, want, wantErr string
	}{
		{in: "ubuntu", tag: "22.04", want: "docker.io/library/ubuntu:22.04"},
		{in: "busybox:1@" + dgst, tag: "2", want: "docker.io/library/busybox:2"},
		{in: "localhost:5000/x", tag: "v1", want: "localhost:5000/x:v1"},
		{in: "ubuntu", tag: "", wantErr: "invalid tag format"},
		{in: "ubuntu", tag: "a:b", wantErr: "invalid tag format"},
	}
	for _, tt := range tests {
		t.Run(tt.in+" "+tt.tag, func(t *testing.T) {
			r, err := Parse(tt.in)
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.in, err)
			}
			got, err := r.WithTag(tt.tag)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, ErrInvalid) {
					t.Fatalf("got %q, %v; want error %q wrapping ErrInvalid", got.String(), err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if got.String() != tt.want {
				t.Errorf("got %q, want %q", got.String(), tt.want)
			}
		})
	}
	if _, err := (Reference{}).WithTag("x"); !errors.Is(err, ErrInvalid) {
		t.Errorf("zero Reference WithTag: got %v, want ErrInvalid", err)
	}
}

func TestZero(t *testing.T) {
	var r Reference
	for what, got := range map[string]string{
		"String": r.String(), "Familiar": r.Familiar(), "Name": r.Name(),
		"FamiliarName": r.FamiliarName(), "Domain": r.Domain(), "Path": r.Path(),
		"Tag": r.Tag(), "Digest": string(r.Digest()),
	} {
		if got != "" {
			t.Errorf("zero %s: got %q, want \"\"", what, got)
		}
	}
	if !r.IsZero() || r.IsDigested() {
		t.Errorf("zero: got IsZero %v IsDigested %v, want true false", r.IsZero(), r.IsDigested())
	}
}
