package layers

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/strata-engine/strata/layers/index"
	"golang.org/x/sys/unix"
)

// GCReport says what a collection removed.
type GCReport struct {
	Blobs   []digest.Digest
	Layers  []digest.Digest // diffIDs whose index went
	Objects int
	Bytes   int64 // apparent size of everything removed
}

// staleMeta is how old a metadata temp file must be before GC removes it:
// those are written under index.lock, not content.lock, so a young one may
// belong to a writer that is still busy.
const staleMeta = 10 * time.Minute

// GC removes every blob, layer index, flattened index and object that no
// image in index.json reaches, and staging files of crashed writers. It
// waits for open Txs (in any process) and blocks new ones while it runs.
func (s *Store) GC(ctx context.Context) (*GCReport, error) {
	unlock, err := s.lock("content.lock", unix.LOCK_EX)
	if err != nil {
		return nil, err
	}
	defer unlock()
	live, err := s.mark(ctx)
	if err != nil {
		return nil, err
	}
	rep := &GCReport{}
	rm := func(path string) {
		var st unix.Stat_t
		if unix.Lstat(path, &st) == nil && os.Remove(path) == nil {
			rep.Bytes += st.Size
		}
	}
	// blobs
	ents, err := os.ReadDir(s.path("blobs", "sha256"))
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		d := digest.NewDigestFromEncoded(digest.SHA256, e.Name())
		if !live.blobs[d] {
			rm(s.blobPath(d))
			rep.Blobs = append(rep.Blobs, d)
		}
	}
	// layer indexes and their records
	ents, err = os.ReadDir(s.path("layers", "sha256"))
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		hexPart, ext, _ := strings.Cut(e.Name(), ".")
		d := digest.NewDigestFromEncoded(digest.SHA256, hexPart)
		if !live.layers[d] {
			rm(s.path("layers", "sha256", e.Name()))
			if ext == "json" {
				rep.Layers = append(rep.Layers, d)
			}
		}
	}
	ents, err = os.ReadDir(s.path("flat", "sha256"))
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if !live.chains[strings.TrimSuffix(e.Name(), ".index")] {
			rm(s.path("flat", "sha256", e.Name()))
		}
	}
	// objects
	for i := 0; i < 256; i++ {
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		dir := s.path("objects", hex.EncodeToString([]byte{byte(i)}))
		ents, err := os.ReadDir(dir)
		if err != nil {
			return nil, err
		}
		for _, e := range ents {
			var d index.Digest
			if b, err := hex.DecodeString(e.Name()); err == nil && len(b) == len(d) {
				copy(d[:], b)
				if live.objects[d] {
					continue
				}
			}
			rm(filepath.Join(dir, e.Name()))
			rep.Objects++
		}
	}
	// staging files of writers that died
	ents, err = os.ReadDir(s.path("tmp"))
	if err != nil {
		return nil, err
	}
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "meta-") {
			if info, err := e.Info(); err != nil || time.Since(info.ModTime()) < staleMeta {
				continue
			}
		}
		if e.IsDir() {
			// An object batch's staging directory (objects.go).
			sub, _ := os.ReadDir(s.path("tmp", e.Name()))
			for _, f := range sub {
				rm(s.path("tmp", e.Name(), f.Name()))
			}
		}
		rm(s.path("tmp", e.Name()))
	}
	return rep, nil
}

type liveSet struct {
	blobs   map[digest.Digest]bool
	layers  map[digest.Digest]bool
	chains  map[string]bool
	objects map[index.Digest]bool
}

// mark finds everything reachable from index.json.
func (s *Store) mark(ctx context.Context) (*liveSet, error) {
	live := &liveSet{
		blobs: map[digest.Digest]bool{}, layers: map[digest.Digest]bool{},
		chains: map[string]bool{}, objects: map[index.Digest]bool{},
	}
	idx, err := s.readIndex()
	if err != nil {
		return nil, err
	}
	for _, desc := range idx.Manifests {
		if live.blobs[desc.Digest] {
			continue
		}
		live.blobs[desc.Digest] = true
		raw, err := s.readBlob(desc.Digest)
		if err != nil {
			return nil, err
		}
		var man ocispec.Manifest
		if err := json.Unmarshal(raw, &man); err != nil {
			return nil, err
		}
		live.blobs[man.Config.Digest] = true
		for _, l := range man.Layers {
			live.blobs[l.Digest] = true
		}
		rawCfg, err := s.readBlob(man.Config.Digest)
		if err != nil {
			return nil, err
		}
		var cfg ocispec.Image
		if err := json.Unmarshal(rawCfg, &cfg); err != nil {
			return nil, err
		}
		for i, d := range cfg.RootFS.DiffIDs {
			live.layers[d] = true
			live.chains[ChainID(cfg.RootFS.DiffIDs[:i+1]).Encoded()] = true
		}
	}
	for d := range live.layers {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		x, err := index.Load(s.layerIndexPath(d))
		if err != nil {
			if os.IsNotExist(err) {
				continue
			}
			return nil, err
		}
		for k := 0; k < x.NumDigests(); k++ {
			live.objects[x.DigestAt(k)] = true
		}
	}
	return live, nil
}

// ChainID is the OCI chain id of a stack of layers given bottom first: the
// name of the merged filesystem they make.
func ChainID(diffIDs []digest.Digest) digest.Digest {
	if len(diffIDs) == 0 {
		return ""
	}
	c := diffIDs[0]
	for _, d := range diffIDs[1:] {
		c = digest.FromString(c.String() + " " + d.String())
	}
	return c
}
