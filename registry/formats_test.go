package registry

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/strata-engine/strata/layers/archive"
)

// TestPullDockerSchema2Uncompressed: a Docker schema 2 manifest whose
// layer is an uncompressed tar is pulled as it is: same manifest digest,
// same config digest (the image id), the blob kept uncompressed.
func TestPullDockerSchema2Uncompressed(t *testing.T) {
	ctx := context.Background()
	f := newFaultServer(t)
	repo, err := name.NewRepository(f.host() + "/docker/plain")
	if err != nil {
		t.Fatal(err)
	}
	tarData := layerTar(t, map[string]string{"etc/motd": "hello\n", "bin/x": "x"})
	cfg, _ := json.Marshal(ocispec.Image{
		Platform: ocispec.Platform{OS: "linux", Architecture: HostPlatform().Architecture},
		RootFS:   ocispec.RootFS{Type: "layers", DiffIDs: []digest.Digest{digest.FromBytes(tarData)}},
	})
	for _, blob := range []struct {
		data []byte
		mt   types.MediaType
	}{{tarData, types.DockerUncompressedLayer}, {cfg, types.DockerConfigJSON}} {
		if err := remote.WriteLayer(repo, static.NewLayer(blob.data, blob.mt), remote.WithContext(ctx)); err != nil {
			t.Fatal(err)
		}
	}
	man, _ := json.Marshal(map[string]any{
		"schemaVersion": 2,
		"mediaType":     string(types.DockerManifestSchema2),
		"config":        map[string]any{"mediaType": string(types.DockerConfigJSON), "digest": digest.FromBytes(cfg), "size": len(cfg)},
		"layers":        []any{map[string]any{"mediaType": string(types.DockerUncompressedLayer), "digest": digest.FromBytes(tarData), "size": len(tarData)}},
	})
	if err := remote.Put(repo.Tag("1"), &rawManifest{raw: man, mt: types.DockerManifestSchema2}); err != nil {
		t.Fatal(err)
	}
	s := newStore(t)
	res, err := Pull(ctx, s, mustParse(t, f.host()+"/docker/plain:1"), PullOptions{Options: testOptions()})
	if err != nil {
		t.Fatal(err)
	}
	if res.Image.ID != digest.FromBytes(cfg) || res.Image.ManifestDigest != digest.FromBytes(man) {
		t.Errorf("id %s manifest %s, want %s %s", res.Image.ID, res.Image.ManifestDigest, digest.FromBytes(cfg), digest.FromBytes(man))
	}
	if got := res.Image.Manifest.Layers[0].MediaType; got != string(types.DockerUncompressedLayer) {
		t.Errorf("layer media type %s", got)
	}
	if !s.HasLayer(digest.FromBytes(tarData), digest.FromBytes(tarData)) {
		t.Errorf("the uncompressed blob is not in the store as itself")
	}
}

// TestPullInterrupted: a pull cancelled mid-download returns the
// cancellation, records no image and leaves no staging files.
func TestPullInterrupted(t *testing.T) {
	f := newFaultServer(t)
	src := newStore(t)
	img := makeImage(t, src, "local/img:1", archive.Gzip, map[string]string{"a": strings.Repeat("a", 1<<20)})
	ref := mustParse(t, f.host()+"/cancel/img:1")
	if _, err := Push(context.Background(), src, img, ref, PushOptions{Options: testOptions()}); err != nil {
		t.Fatal(err)
	}
	f.set("slow", img.Manifest.Layers[0].Digest)
	defer f.set("")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dst := newStore(t)
	_, err := Pull(ctx, dst, ref, PullOptions{Options: testOptions(), Progress: func(e Event) {
		if e.Status == "Pulling fs layer" {
			cancel()
		}
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
	tmpEmpty(t, dst)
	if imgs, _ := dst.Images(context.Background()); len(imgs) != 0 || dst.HasLayer(img.Manifest.Layers[0].Digest, img.Layers[0].DiffID) {
		t.Errorf("an interrupted pull left %d images or its layer", len(imgs))
	}
}

// TestSearchHubAndV1: Docker Hub's search API (and a registry's v1
// search) are asked with the term and the limit; filters apply to what
// they answer.
func TestSearchHubAndV1(t *testing.T) {
	var queries []string
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/search" {
			http.NotFound(w, r)
			return
		}
		queries = append(queries, r.URL.RawQuery)
		json.NewEncoder(w).Encode(map[string]any{"results": []SearchResult{
			{Name: "ubuntu", Description: "Ubuntu is a Debian-based Linux operating system", StarCount: 17000, IsOfficial: true},
			{Name: "someone/ubuntu-dev", Description: "dev", StarCount: 3},
			{Name: "other/ubuntu", StarCount: 0},
		}})
	}))
	defer hub.Close()
	old := hubSearch
	hubSearch = hub.URL + "/v1/search"
	defer func() { hubSearch = old }()

	ctx := context.Background()
	yes := true
	for _, tc := range []struct {
		opts SearchOptions
		want []string
	}{
		{SearchOptions{}, []string{"ubuntu", "someone/ubuntu-dev", "other/ubuntu"}},
		{SearchOptions{IsOfficial: &yes}, []string{"ubuntu"}},
		{SearchOptions{Stars: 3}, []string{"ubuntu", "someone/ubuntu-dev"}},
		{SearchOptions{Limit: 2}, []string{"ubuntu", "someone/ubuntu-dev"}},
	} {
		tc.opts.Options = testOptions()
		res, err := Search(ctx, "ubuntu", tc.opts)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, r := range res {
			got = append(got, r.Name)
		}
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%+v: got %q, want %q", tc.opts, got, tc.want)
		}
	}
	if queries[0] != "n=25&q=ubuntu" || queries[3] != "n=2&q=ubuntu" {
		t.Errorf("queries %q", queries)
	}
	// A registry with the v1 search API is asked that, not its catalog;
	// its names come back with the registry in front.
	host := strings.TrimPrefix(hub.URL, "http://")
	res, err := Search(ctx, host+"/ubuntu", SearchOptions{Options: testOptions()})
	if err != nil || len(res) != 3 || res[0].Name != host+"/ubuntu" {
		t.Errorf("v1 search of %s: %+v %v", host, res, err)
	}
	if h, q := SplitSearchTerm("localhost/x"); h != "localhost" || q != "x" {
		t.Errorf("SplitSearchTerm(localhost/x) = %s %s", h, q)
	}
	if h, q := SplitSearchTerm("library/x"); h != "docker.io" || q != "library/x" {
		t.Errorf("SplitSearchTerm(library/x) = %s %s", h, q)
	}
}
