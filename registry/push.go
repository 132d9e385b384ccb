package registry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"golang.org/x/sync/errgroup"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/reference"
)

// PushOptions are the choices of Push.
type PushOptions struct {
	Options
	Progress Progress
}

// PushResult is what Push did.
type PushResult struct {
	Digest digest.Digest // the manifest's, the same as in the store
	Size   int64         // the manifest's size
}

// Push uploads img to the registry as ref (which has a tag): the blobs the
// repository lacks (mounted from another repository of the same registry
// that the image was pulled from or pushed to, when the registry allows),
// then the manifest exactly as the store has it, so the image keeps its
// id and its manifest digest. The pushed name@digest is recorded in s.
func Push(ctx context.Context, s *layers.Store, img *layers.Image, ref reference.Reference, opts PushOptions) (*PushResult, error) {
	res, err := push(ctx, s, img, ref, &opts)
	if err != nil {
		if ctx.Err() != nil && errors.Is(err, context.Canceled) {
			return nil, err
		}
		return nil, describe("push", ref.Familiar(), ref.FamiliarName(), err)
	}
	return res, nil
}

func push(ctx context.Context, s *layers.Store, img *layers.Image, ref reference.Reference, opts *PushOptions) (*PushResult, error) {
	repo, err := opts.repository(ref)
	if err != nil {
		return nil, err
	}
	progress := serialize(opts.Progress)
	mountFrom := mountSources(img, ref, opts)
	scopes := []string{repo.Scope(transport.PushScope)}
	for _, m := range mountFrom {
		scopes = append(scopes, m.Scope(transport.PullScope))
	}
	auth, err := opts.keychain().Resolve(repo)
	if err != nil {
		return nil, err
	}
	rt, err := transport.NewWithContext(ctx, repo.Registry, auth, opts.transport(), scopes)
	if err != nil {
		return nil, err
	}
	client := &http.Client{Transport: rt}
	pusher, err := remote.NewPusher(remote.WithTransport(rt), remote.WithContext(ctx), remote.WithJobs(opts.jobs()))
	if err != nil {
		return nil, err
	}

	for _, l := range img.Manifest.Layers {
		progress(Event{ID: layers.ShortID(l.Digest), Status: "Preparing", Total: l.Size})
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.jobs())
	seen := map[digest.Digest]bool{}
	for i, l := range img.Manifest.Layers {
		if seen[l.Digest] {
			continue
		}
		seen[l.Digest] = true
		if i >= opts.jobs() {
			progress(Event{ID: layers.ShortID(l.Digest), Status: "Waiting", Total: l.Size})
		}
		l, diffID := l, img.Config.RootFS.DiffIDs[i]
		g.Go(func() error {
			status, err := pushBlob(gctx, s, client, pusher, repo, mountFrom, l, diffID, progress)
			if err != nil {
				return fmt.Errorf("layer %s: %w", layers.ShortID(l.Digest), err)
			}
			progress(Event{ID: layers.ShortID(l.Digest), Status: status, Current: l.Size, Total: l.Size})
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	cfg := img.Manifest.Config
	if _, err := pushBlob(ctx, s, client, pusher, repo, nil, cfg, "", func(Event) {}); err != nil {
		return nil, fmt.Errorf("config %s: %w", layers.ShortID(cfg.Digest), err)
	}
	mt := img.Manifest.MediaType
	if mt == "" {
		mt = ocispec.MediaTypeImageManifest
	}
	if err := pusher.Put(ctx, repo.Tag(ref.Tag()), &rawManifest{raw: img.RawManifest, mt: types.MediaType(mt)}); err != nil {
		return nil, err
	}
	if err := s.AddRepoDigest(img, ref.FamiliarName()+"@"+img.ManifestDigest.String()); err != nil {
		return nil, err
	}
	return &PushResult{Digest: img.ManifestDigest, Size: int64(len(img.RawManifest))}, nil
}

// mountSources are the repositories of the same registry that img is known
// to be in (its repository digests), from which its blobs may be mounted.
func mountSources(img *layers.Image, ref reference.Reference, opts *PushOptions) []name.Repository {
	var out []name.Repository
	for _, rd := range img.RepoDigests {
		r, err := reference.Parse(rd)
		if err != nil || r.Domain() != ref.Domain() || r.Name() == ref.Name() {
			continue
		}
		if repo, err := opts.repository(r); err == nil {
			out = append(out, repo)
		}
	}
	return out
}

// pushBlob makes sure the repository has the blob desc and says how.
func pushBlob(ctx context.Context, s *layers.Store, client *http.Client, pusher *remote.Pusher, repo name.Repository, mountFrom []name.Repository, desc ocispec.Descriptor, diffID digest.Digest, progress Progress) (string, error) {
	exists, err := blobExists(ctx, client, repo, desc.Digest)
	if err != nil {
		return "", err
	}
	if exists {
		return "Layer already exists", nil
	}
	for _, from := range mountFrom {
		ok, err := mountBlob(ctx, client, repo, from, desc.Digest)
		if err != nil {
			return "", err
		}
		if ok {
			return "Mounted from " + from.RepositoryStr(), nil
		}
	}
	l := &storeLayer{s: s, desc: desc, diffID: diffID, progress: progress}
	if err := pusher.Upload(ctx, repo, l); err != nil {
		return "", err
	}
	return "Pushed", nil
}

func blobURL(repo name.Repository, path string) url.URL {
	return url.URL{Scheme: repo.Scheme(), Host: repo.RegistryStr(), Path: "/v2/" + repo.RepositoryStr() + path}
}

func blobExists(ctx context.Context, client *http.Client, repo name.Repository, d digest.Digest) (bool, error) {
	u := blobURL(repo, "/blobs/"+d.String())
	req, err := http.NewRequestWithContext(ctx, http.MethodHead, u.String(), nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
		return true, nil
	case http.StatusNotFound:
		return false, nil
	}
	return false, transport.CheckError(resp, http.StatusOK, http.StatusNotFound)
}

// mountBlob asks the registry to mount d from another repository. A
// registry that cannot opens an upload instead, which is cancelled.
func mountBlob(ctx context.Context, client *http.Client, repo, from name.Repository, d digest.Digest) (bool, error) {
	u := blobURL(repo, "/blobs/uploads/")
	u.RawQuery = url.Values{"mount": {d.String()}, "from": {from.RepositoryStr()}}.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), nil)
	if err != nil {
		return false, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusCreated {
		return true, nil
	}
	if loc := resp.Header.Get("Location"); resp.StatusCode == http.StatusAccepted && loc != "" {
		if lu, err := req.URL.Parse(loc); err == nil {
			if del, err := http.NewRequestWithContext(ctx, http.MethodDelete, lu.String(), nil); err == nil {
				if r, err := client.Do(del); err == nil {
					r.Body.Close()
				}
			}
		}
	}
	return false, nil
}

// storeLayer is a blob of the store as go-containerregistry uploads it.
type storeLayer struct {
	s        *layers.Store
	desc     ocispec.Descriptor
	diffID   digest.Digest
	progress Progress
}

func (l *storeLayer) Digest() (v1.Hash, error) { return v1.NewHash(l.desc.Digest.String()) }
func (l *storeLayer) DiffID() (v1.Hash, error) {
	if l.diffID == "" {
		return l.Digest()
	}
	return v1.NewHash(l.diffID.String())
}
func (l *storeLayer) Size() (int64, error) { return l.desc.Size, nil }
func (l *storeLayer) MediaType() (types.MediaType, error) {
	return types.MediaType(l.desc.MediaType), nil
}
func (l *storeLayer) Uncompressed() (io.ReadCloser, error) {
	return nil, fmt.Errorf("layer %s: uncompressed form: %w", l.desc.Digest, errors.ErrUnsupported)
}
func (l *storeLayer) Compressed() (io.ReadCloser, error) {
	f, err := l.s.OpenBlob(l.desc.Digest)
	if err != nil {
		return nil, err
	}
	return &pushReader{f: f, id: layers.ShortID(l.desc.Digest), total: l.desc.Size, progress: l.progress}, nil
}

type pushReader struct {
	f        io.ReadCloser
	id       string
	n, last  int64
	total    int64
	progress Progress
}

func (r *pushReader) Read(p []byte) (int, error) {
	n, err := r.f.Read(p)
	r.n += int64(n)
	if r.n-r.last >= progressStep || (err == io.EOF && r.n > r.last) {
		r.last = r.n
		r.progress(Event{ID: r.id, Status: "Pushing", Current: r.n, Total: r.total})
	}
	return n, err
}

func (r *pushReader) Close() error { return r.f.Close() }

// rawManifest is a manifest as the store has it, for Pusher.Put.
type rawManifest struct {
	raw []byte
	mt  types.MediaType
}

func (m *rawManifest) RawManifest() ([]byte, error)        { return m.raw, nil }
func (m *rawManifest) MediaType() (types.MediaType, error) { return m.mt, nil }
