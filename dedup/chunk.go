package dedup

import (
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"runtime"
	"sync"

	chunkers "github.com/PlakarKorp/go-cdc-chunkers"
	_ "github.com/PlakarKorp/go-cdc-chunkers/chunkers/fastcdc" // registers "fastcdc-v1.0.0"
	_ "github.com/PlakarKorp/go-cdc-chunkers/chunkers/fixed"   // registers "fixed-v1.0.0"
	units "github.com/docker/go-units"

	"github.com/strata-engine/strata/layers/index"
)

// ChunkOptions set the chunk strategies' parameters.
type ChunkOptions struct {
	// Size is the fixed strategy's block size and the content-defined
	// strategy's target (normal) chunk size; its chunks range from Size/4
	// to Size×4, FastCDC's usual spread.
	Size int
	// Workers read and chunk contents in parallel; 0 means one per CPU.
	Workers int
}

// DefaultChunkSize is the chunk size when none is given: 64 KiB, the
// middle of what backup tools and chunked image formats use.
const DefaultChunkSize = 64 << 10

// minChunkSize keeps FastCDC's minimum (Size/4) above what the library
// accepts and the experiment above pathological chunk counts.
const minChunkSize = 1 << 10

// chunkStats is one strategy's tally: each distinct chunk's size by its
// sha256.
type chunkStats struct {
	chunks map[[sha256.Size]byte]int64
	total  int64 // chunks cut, duplicates included
}

func (c *chunkStats) add(sum [sha256.Size]byte, n int64) {
	c.chunks[sum] = n
	c.total++
}

func (c *chunkStats) merge(o *chunkStats) {
	for k, v := range o.chunks {
		c.chunks[k] = v
	}
	c.total += o.total
}

func (c *chunkStats) stored() int64 {
	var n int64
	for _, v := range c.chunks {
		n += v
	}
	return n
}

// chunkAll cuts every content with both chunkers and returns the fixed
// and cdc strategies.
func chunkAll(ctx context.Context, s Store, digests []index.Digest, o ChunkOptions) ([]Strategy, error) {
	if o.Size == 0 {
		o.Size = DefaultChunkSize
	}
	if o.Size < minChunkSize*4 || o.Size&(o.Size-1) != 0 {
		// FastCDC's masks need a power of two.
		return nil, fmt.Errorf("chunk size %s: want a power of two of at least %s",
			units.BytesSize(float64(o.Size)), units.BytesSize(float64(minChunkSize*4)))
	}
	workers := o.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	fixedOpts := &chunkers.ChunkerOpts{MinSize: o.Size, NormalSize: o.Size, MaxSize: o.Size}
	cdcOpts := &chunkers.ChunkerOpts{MinSize: o.Size / 4, NormalSize: o.Size, MaxSize: o.Size * 4}

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	work := make(chan index.Digest)
	type result struct {
		fixed, cdc *chunkStats
		err        error
	}
	results := make(chan result, workers)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res := result{
				fixed: &chunkStats{chunks: map[[sha256.Size]byte]int64{}},
				cdc:   &chunkStats{chunks: map[[sha256.Size]byte]int64{}},
			}
			buf := make([]byte, cdcOpts.MaxSize*2)
			for d := range work {
				if res.err != nil {
					continue // drain
				}
				for _, c := range []struct {
					algo  string
					opts  *chunkers.ChunkerOpts
					stats *chunkStats
				}{{"fixed-v1.0.0", fixedOpts, res.fixed}, {"fastcdc-v1.0.0", cdcOpts, res.cdc}} {
					if err := chunkOne(s, d, c.algo, c.opts, buf, c.stats); err != nil {
						res.err = err
						cancel()
						break
					}
				}
			}
			results <- res
		}()
	}
feed:
	for _, d := range digests {
		select {
		case work <- d:
		case <-ctx.Done():
			break feed
		}
	}
	close(work)
	wg.Wait()
	close(results)

	fixed := &chunkStats{chunks: map[[sha256.Size]byte]int64{}}
	cdc := &chunkStats{chunks: map[[sha256.Size]byte]int64{}}
	var firstErr error // one is enough: the others are often the same
	for res := range results {
		if res.err != nil {
			if firstErr == nil {
				firstErr = res.err
			}
			continue
		}
		fixed.merge(res.fixed)
		cdc.merge(res.cdc)
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	size := units.BytesSize(float64(o.Size))
	return []Strategy{
		{Name: "fixed", Description: size + " blocks of the contents, each distinct block once",
			Stored: fixed.stored(), Units: int64(len(fixed.chunks))},
		{Name: "cdc", Description: "FastCDC chunks (" + size + " average) of the contents, each distinct chunk once",
			Stored: cdc.stored(), Units: int64(len(cdc.chunks))},
	}, nil
}

func chunkOne(s Store, d index.Digest, algo string, opts *chunkers.ChunkerOpts, buf []byte, st *chunkStats) error {
	r, err := s.OpenObject(d)
	if err != nil {
		return fmt.Errorf("read content sha256:%x: %w", d[:], err)
	}
	defer r.Close()
	optsCopy := *opts // the library fills in and keeps its options
	c, err := chunkers.NewChunkerBuffer(algo, r, &optsCopy, buf)
	if err != nil {
		return fmt.Errorf("chunk content sha256:%x: %w", d[:], err)
	}
	for {
		chunk, err := c.Next()
		if len(chunk) > 0 {
			st.add(sha256.Sum256(chunk), int64(len(chunk)))
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("chunk content sha256:%x: %w", d[:], err)
		}
	}
}
