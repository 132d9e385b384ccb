package reference

import (
	"errors"
	"testing"
)

// FuzzParse checks that Parse never panics, that every error wraps
// ErrInvalid, and that both printed forms of a parsed reference parse back to
// the same reference.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"ubuntu", "ubuntu:22.04", "localhost:5000/a/b:c", "Ubuntu",
		"busybox:1@sha256:7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa",
		"[::1]:5000/x", "", ":", "@", "a//b",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		r, err := Parse(s)
		if err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Parse(%q): error %v does not wrap ErrInvalid", s, err)
			}
			if !r.IsZero() {
				t.Fatalf("Parse(%q): got %q with error, want zero", s, r.String())
			}
			return
		}
		for _, form := range []string{r.String(), r.Familiar()} {
			again, err := Parse(form)
			if err != nil {
				t.Fatalf("Parse(%q) = %q, but Parse(%q): %v", s, r.String(), form, err)
			}
			if again.String() != r.String() {
				t.Fatalf("Parse(%q): got %q, want %q", form, again.String(), r.String())
			}
		}
		if r.Tag() == "" && !r.IsDigested() {
			t.Fatalf("Parse(%q) = %q: got neither tag nor digest", s, r.String())
		}
		name, err := ParseName(r.Name())
		if err != nil {
			t.Fatalf("ParseName(%q): %v", r.Name(), err)
		}
		if name.Name() != r.Name() {
			t.Fatalf("ParseName(%q): got %q, want %q", r.Name(), name.Name(), r.Name())
		}
	})
}
