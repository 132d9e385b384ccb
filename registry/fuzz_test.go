package registry

import (
	"strings"
	"testing"
)

// FuzzParseImage: a manifest and config as a registry may serve them
// (hostile or broken) are refused with an error or give a manifest whose
// layers all have a valid digest, a size and a diffID — never a panic.
func FuzzParseImage(f *testing.F) {
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"digest":"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa","size":2},"layers":[{"digest":"sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","size":10}]}`),
		[]byte(`{"rootfs":{"type":"layers","diff_ids":["sha256:cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"]}}`))
	f.Add([]byte(`{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json","layers":[]}`), []byte(`{}`))
	f.Add([]byte(`{"mediaType":"application/vnd.docker.distribution.manifest.v1+json"}`), []byte(`{}`))
	f.Add([]byte(`{"layers":[{"digest":"sha256:x","size":-1}]}`), []byte(`{"rootfs":{"diff_ids":[""]}}`))
	f.Add([]byte(`null`), []byte(`[]`))
	f.Fuzz(func(t *testing.T, rawMan, rawCfg []byte) {
		man, cfg, err := parseImage(rawMan, rawCfg)
		if err != nil {
			return
		}
		if len(cfg.RootFS.DiffIDs) != len(man.Layers) {
			t.Fatalf("%d layers, %d diff ids", len(man.Layers), len(cfg.RootFS.DiffIDs))
		}
		for _, l := range man.Layers {
			if l.Digest.Validate() != nil || l.Size < 0 {
				t.Fatalf("layer %+v accepted", l)
			}
		}
	})
}

// FuzzParseServer: login's SERVER argument gives a host that is a valid
// registry name, or an error; never a panic, never a path or a space.
func FuzzParseServer(f *testing.F) {
	for _, s := range []string{"", "docker.io", "https://index.docker.io/v1/", "localhost:5000", "http://127.0.0.1:5000/", "[::1]:5000", "a b", "http://", "host/path/x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		srv, err := ParseServer(s)
		if err != nil {
			return
		}
		if srv.Host == "" || strings.ContainsAny(srv.Host, "/ \t\n") || srv.Key == "" {
			t.Fatalf("ParseServer(%q) = %+v", s, srv)
		}
	})
}
