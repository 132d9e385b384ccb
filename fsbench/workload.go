package fsbench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/strata-engine/strata/layers/index"
)

// A workload is one thing done to a mounted tree. Its phases run one after
// the other on the same mount; each returns a check value (entries seen,
// bytes read) that must be the same on every filesystem.
type workload struct {
	name  string
	about string
	// phases are "cold" then, for read-only workloads, "warm".
	phases []string
	run    func(ctx context.Context, mnt string, t *targets) (check int64, err error)
}

// Workloads lists the workloads by name, in the order they run.
func Workloads() []string {
	names := make([]string, len(workloads))
	for i, w := range workloads {
		names[i] = w.name
	}
	return names
}

// WorkloadAbout describes a workload for people, or "" for an unknown one.
func WorkloadAbout(name string) string {
	for _, w := range workloads {
		if w.name == name {
			return w.about
		}
	}
	return ""
}

var coldWarm = []string{"cold", "warm"}

var workloads = []workload{
	{"walk", "stat every name of the tree (find, du)", coldWarm, walk},
	{"readdir", "list the largest directory, names only (ls -f)", coldWarm, readdir},
	{"readsmall", "read every file under 1 MiB (tar, grep -r)", coldWarm, readSmall},
	{"seqread", "read the largest file in 1 MiB requests", coldWarm, seqRead},
	{"randread", "4 KiB reads at random offsets of the largest file", coldWarm, randRead},
	{"compile", "stat and read sources, write an output per source, stat them again (make)", []string{"cold"}, compile},
	{"write", "create and write 2000 files of 4 KiB in a new directory (untar)", []string{"cold"}, writeSmall},
	{"copyup", "append a byte to the 50 largest files (copy-up)", []string{"cold"}, copyUp},
	{"rmtree", "remove the largest directory tree (rm -rf)", []string{"cold"}, rmTree},
}

// targets are the paths the workloads use, found once in the image's
// merged index so that every filesystem gets the same work.
type targets struct {
	bigDir   string   // the directory with the most entries
	bigFile  string   // the largest regular file
	bigSize  int64    // its size
	small    []string // regular files under 1 MiB (all of them)
	sources  []string // up to 2000 small files of the directory tree with most of them
	largest  []string // the 50 largest regular files that have no other links
	rmTree   string   // the directory, two levels down at most, with the most descendants
	randSeed uint64
}

const (
	smallFile     = 1 << 20
	maxSources    = 2000
	copyUpFiles   = 50
	randReads     = 4000
	writeFiles    = 2000
	writeFileSize = 4096
)

// findTargets picks the workloads' paths from an image's merged index.
func findTargets(x *index.Index) (*targets, error) {
	t := &targets{randSeed: 1}
	type file struct {
		path   string
		size   int64
		linked bool // one of several hard links
	}
	var regular []file
	descendants := make([]int, x.Len()) // entries under each directory
	var bigDirN uint32
	err := x.Walk(func(i uint32, p string) error {
		if i != 0 {
			for d := x.Parent(i); ; d = x.Parent(d) {
				descendants[d]++
				if d == 0 {
					break
				}
			}
		}
		if x.IsDir(i) {
			if _, n := x.Children(i); n > bigDirN {
				bigDirN, t.bigDir = n, "/"+p
			}
			return nil
		}
		if x.Mode(i)&index.TypeMask == 0o100000 {
			regular = append(regular, file{"/" + p, x.Size(i), x.Nlink(i) > 1})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(regular) == 0 {
		return nil, errors.New("the image has no regular files to work on")
	}
	sort.Slice(regular, func(i, j int) bool {
		if regular[i].size != regular[j].size {
			return regular[i].size > regular[j].size
		}
		return regular[i].path < regular[j].path
	})
	t.bigFile, t.bigSize = regular[0].path, regular[0].size
	// Hard-linked files are left out of copy-up: overlayfs without its
	// index feature breaks the link on copy-up where Strata keeps it, and
	// the workload measures copying, not that difference.
	for k := 0; k < len(regular) && len(t.largest) < copyUpFiles; k++ {
		if !regular[k].linked {
			t.largest = append(t.largest, regular[k].path)
		}
	}
	for _, f := range regular {
		if f.size < smallFile {
			t.small = append(t.small, f.path)
		}
	}
	sort.Strings(t.small)

	// The tree removed is the directory at depth 1 or 2 with the most
	// below it; the sources the small files of the depth-1 tree that has
	// the most of them.
	best := 0
	bestSrc := map[string]int{}
	for i := uint32(1); int(i) < x.Len(); i++ {
		if !x.IsDir(i) {
			continue
		}
		depth := 0
		for d := i; d != 0; d = x.Parent(d) {
			depth++
		}
		if depth <= 2 && descendants[i] > best {
			best, t.rmTree = descendants[i], "/"+x.Path(i)
		}
	}
	for _, p := range t.small {
		top := strings.SplitN(p[1:], "/", 2)[0]
		bestSrc[top]++
	}
	srcTop, n := "", 0
	for top, c := range bestSrc {
		if c > n || (c == n && top < srcTop) {
			srcTop, n = top, c
		}
	}
	for _, p := range t.small {
		if strings.HasPrefix(p, "/"+srcTop+"/") && len(t.sources) < maxSources {
			t.sources = append(t.sources, p)
		}
	}
	if t.rmTree == "" {
		t.rmTree = t.bigDir
	}
	return t, nil
}

func walk(ctx context.Context, mnt string, _ *targets) (int64, error) {
	var n int64
	err := filepath.WalkDir(mnt, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if n%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return err
			}
		}
		if _, err := d.Info(); err != nil { // lstat
			return err
		}
		n++
		return nil
	})
	return n, err
}

func readdir(_ context.Context, mnt string, t *targets) (int64, error) {
	f, err := os.Open(filepath.Join(mnt, t.bigDir))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	return int64(len(names)), err
}

func readSmall(ctx context.Context, mnt string, t *targets) (int64, error) {
	buf := make([]byte, 128<<10)
	var total int64
	for k, p := range t.small {
		if k%256 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		n, err := readFile(filepath.Join(mnt, p), buf)
		if err != nil {
			return 0, err
		}
		total += n
	}
	return total, nil
}

func readFile(p string, buf []byte) (int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var total int64
	for {
		n, err := f.Read(buf)
		total += int64(n)
		if err == io.EOF {
			return total, nil
		}
		if err != nil {
			return total, err
		}
	}
}

func seqRead(_ context.Context, mnt string, t *targets) (int64, error) {
	return readFile(filepath.Join(mnt, t.bigFile), make([]byte, 1<<20))
}

func randRead(ctx context.Context, mnt string, t *targets) (int64, error) {
	f, err := os.Open(filepath.Join(mnt, t.bigFile))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	if t.bigSize < 4096 {
		return 0, fmt.Errorf("%s: %d bytes is too small for 4 KiB random reads", t.bigFile, t.bigSize)
	}
	rnd := rand.New(rand.NewPCG(t.randSeed, 0))
	buf := make([]byte, 4096)
	var sum int64
	blocks := t.bigSize / 4096
	for k := 0; k < randReads; k++ {
		if k%512 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		off := rnd.Int64N(blocks) * 4096
		n, err := f.ReadAt(buf, off)
		if err != nil && err != io.EOF {
			return 0, err
		}
		sum += int64(n)
	}
	return sum, nil
}

func compile(ctx context.Context, mnt string, t *targets) (int64, error) {
	out := filepath.Join(mnt, ".strata-bench-out")
	if err := os.Mkdir(out, 0o755); err != nil {
		return 0, err
	}
	buf := make([]byte, 128<<10)
	var total int64
	for k, p := range t.sources {
		if k%256 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		src := filepath.Join(mnt, p)
		if _, err := os.Stat(src); err != nil {
			return 0, err
		}
		n, err := readFile(src, buf)
		if err != nil {
			return 0, err
		}
		total += n
		obj := filepath.Join(out, fmt.Sprintf("%d.o", k))
		if err := os.WriteFile(obj, buf[:min(n, int64(len(buf)))], 0o644); err != nil {
			return 0, err
		}
	}
	// The up-to-date check of the next build: every source and output
	// stat'ed again.
	for k, p := range t.sources {
		if _, err := os.Stat(filepath.Join(mnt, p)); err != nil {
			return 0, err
		}
		if _, err := os.Stat(filepath.Join(out, fmt.Sprintf("%d.o", k))); err != nil {
			return 0, err
		}
	}
	return total, nil
}

func writeSmall(ctx context.Context, mnt string, _ *targets) (int64, error) {
	dir := filepath.Join(mnt, ".strata-bench-write")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return 0, err
	}
	data := make([]byte, writeFileSize)
	for k := range data {
		data[k] = byte(k)
	}
	for k := 0; k < writeFiles; k++ {
		if k%256 == 0 {
			if err := ctx.Err(); err != nil {
				return 0, err
			}
		}
		sub := filepath.Join(dir, fmt.Sprintf("d%02d", k%50))
		if k < 50 {
			if err := os.Mkdir(sub, 0o755); err != nil {
				return 0, err
			}
		}
		if err := os.WriteFile(filepath.Join(sub, fmt.Sprintf("f%04d", k)), data, 0o644); err != nil {
			return 0, err
		}
	}
	return writeFiles * writeFileSize, nil
}

func copyUp(ctx context.Context, mnt string, t *targets) (int64, error) {
	var total int64
	for _, p := range t.largest {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		f, err := os.OpenFile(filepath.Join(mnt, p), os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			return 0, err
		}
		_, err = f.Write([]byte{'\n'})
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return 0, err
		}
		st, err := os.Stat(filepath.Join(mnt, p))
		if err != nil {
			return 0, err
		}
		total += st.Size()
	}
	return total, nil
}

func rmTree(_ context.Context, mnt string, t *targets) (int64, error) {
	p := filepath.Join(mnt, t.rmTree)
	if err := os.RemoveAll(p); err != nil {
		return 0, err
	}
	if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
		return 0, fmt.Errorf("%s still there after removal: %v", t.rmTree, err)
	}
	return 1, nil
}
