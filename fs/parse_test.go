package fs

import (
	"errors"
	"testing"
	"time"
)

func TestParseOverlayOptions(t *testing.T) {
	for _, c := range []struct {
		in      string
		lowers  []string
		upper   string
		work    string
		check   func(o *Options) bool
		wantErr bool
	}{
		{in: "lowerdir=/a:/b,upperdir=/u,workdir=/w", lowers: []string{"/a", "/b"}, upper: "/u", work: "/w",
			check: func(o *Options) bool { return o.Passthrough && !o.Volatile }},
		{in: "lowerdir=/a\\:1:b,upperdir=/u,workdir=/w,fsync=0,timeout=2.5,nopassthrough,default_permissions,rw",
			lowers: []string{"/a:1", "b"}, upper: "/u", work: "/w",
			check: func(o *Options) bool {
				return o.Volatile && !o.Passthrough && o.UpperTimeout == 2500*time.Millisecond
			}},
		{in: "lowerdir=/only", lowers: []string{"/only"}},
		{in: "upperdir=/u,workdir=/w", upper: "/u", work: "/w"},
		{in: "lowerdir=/a,upperdir=/u", wantErr: true},
		{in: "lowerdir=/a::/b", wantErr: true},
		{in: "lowerdir=/a,squash_to_root", wantErr: true},
		{in: "lowerdir=/a,uidmapping=0:1000:1", wantErr: true},
		{in: "", wantErr: true},
	} {
		t.Run(c.in, func(t *testing.T) {
			o, err := ParseOverlayOptions(c.in)
			if c.wantErr {
				if !errors.Is(err, ErrBadOptions) {
					t.Fatalf("got %v, want ErrBadOptions", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var lowers []string
			for _, l := range o.Lowers {
				lowers = append(lowers, l.(dirSource).path)
			}
			if len(lowers) != len(c.lowers) {
				t.Fatalf("lowers: got %q, want %q", lowers, c.lowers)
			}
			for i := range lowers {
				if lowers[i] != c.lowers[i] {
					t.Errorf("lowers: got %q, want %q", lowers, c.lowers)
				}
			}
			if o.UpperDir != c.upper || o.WorkDir != c.work {
				t.Errorf("upper, work: got %q, %q, want %q, %q", o.UpperDir, o.WorkDir, c.upper, c.work)
			}
			if c.check != nil && !c.check(&o) {
				t.Errorf("got %+v", o)
			}
		})
	}
}

func FuzzParseOverlayOptions(f *testing.F) {
	f.Add("lowerdir=/a:/b,upperdir=/u,workdir=/w")
	f.Add("lowerdir=/a\\:b\\\\c,fsync=0,timeout=1")
	f.Fuzz(func(t *testing.T, s string) {
		o, err := ParseOverlayOptions(s)
		if err == nil && len(o.Lowers) == 0 && o.UpperDir == "" {
			t.Errorf("%q: accepted without layers", s)
		}
	})
}
