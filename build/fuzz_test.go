package build

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/moby/buildkit/frontend/dockerfile/instructions"

	"github.com/opencontainers/go-digest"

	"github.com/strata-engine/strata/layers"
	"github.com/strata-engine/strata/layers/index"
)

// FuzzDispatch feeds any Dockerfile the parser accepts to the builder's
// handling of its instructions: expansion, ARG scoping, metadata changes,
// COPY/ADD planning and layer writing against a real store, and RUN's
// command line, environment and cache key (without starting a
// container). Nothing may panic, and whatever is refused is an error.
func FuzzDispatch(f *testing.F) {
	for _, seed := range []string{
		"FROM scratch\nENV A=1 B=$A\nLABEL x=\"$B\"\nCMD echo $A\n",
		"ARG V=1\nFROM scratch AS s\nARG V\nWORKDIR /w/$V\nCOPY a.txt ./\nCOPY --chmod=755 dir /d/\n",
		"FROM scratch\nSHELL [\"/bin/bash\", \"-c\"]\nRUN echo hi\nRUN [\"a\", \"b\"]\nENTRYPOINT x\n",
		"FROM scratch\nRUN <<EOF\necho a\nEOF\nCOPY <<X /f\n$HOME\nX\n",
		"FROM scratch\nEXPOSE 80/udp 1-2\nVOLUME [\"/v\"]\nUSER a:b\nSTOPSIGNAL 9\nHEALTHCHECK NONE\n",
		"FROM scratch\nONBUILD RUN x\nADD a.txt t.tar /\nCOPY --from=0 / /\nCOPY --chown=1:2 * /all/\n",
		"FROM scratch\nMAINTAINER me\nEXPOSE bogus\nCOPY ../x /\nADD http://x/y /\n",
	} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, dockerfile string) {
		stages, meta, err := Parse([]byte(dockerfile), "Dockerfile")
		if err != nil {
			return
		}
		dir := memDir(t)
		ctxDir := filepath.Join(dir, "ctx")
		os.MkdirAll(filepath.Join(ctxDir, "dir"), 0o755)
		os.WriteFile(filepath.Join(ctxDir, "a.txt"), []byte("a"), 0o644)
		os.WriteFile(filepath.Join(ctxDir, "dir", "b"), []byte("b"), 0o644)
		s, err := layers.Open(filepath.Join(dir, "store"))
		if err != nil {
			t.Fatal(err)
		}
		bc, err := openContext(ctxDir, "")
		if err != nil {
			t.Fatal(err)
		}
		b := &builder{store: s, opts: Options{BuildArgs: map[string]string{"V": "2"}, DockerfileName: "Dockerfile"},
			out: io.Discard, runOut: io.Discard, bc: bc, holder: "fuzz", used: map[string]bool{},
			images: map[digest.Digest]*layers.Image{}, flat: map[digest.Digest]*index.Index{}}
		if b.global, err = b.metaArgs(meta); err != nil {
			return
		}
		ctx := context.Background()
		for i := range stages {
			if len(stages) > 3 || len(stages[i].Commands) > 20 {
				return // keep an input cheap
			}
			st := &stage{name: stages[i].Name, args: newArgSet(), shell: append([]string{}, defaultShell...)}
			for _, cmd := range stages[i].Commands {
				if c, ok := cmd.(*instructions.RunCommand); ok {
					argv, err := b.runArgs(st, c)
					if err == nil && len(argv) == 0 {
						t.Errorf("RUN %q: no command line and no error", c.String())
					}
					b.runEnv(st)
					b.key(st, c, strings.Join(argv, " "))
					continue
				}
				b.dispatch(ctx, st, cmd)
			}
			b.stages = append(b.stages, st)
		}
	})
}

// memDir is a private directory on tmpfs when there is one: the store
// syncs the filesystem for every layer, which on a busy disk would make
// each input take seconds.
func memDir(t *testing.T) string {
	d, err := os.MkdirTemp("/dev/shm", "strata-fuzz-")
	if err != nil {
		return t.TempDir()
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}
