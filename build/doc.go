// Package build makes images from Dockerfiles, as `docker build` (the
// classic builder) does. Dockerfiles are parsed with BuildKit's own parser,
// instruction types and shell lexer, so the grammar and the variable
// substitution are exactly Docker's. docs/build.md is the user's view.
//
// # Steps
//
// Every instruction is a step that ends in an image of the store, made in a
// layers.Tx: metadata instructions add an empty_layer history entry and no
// layer (meta.go); RUN runs in a container of package runtime on the
// parent image and turns its upper directory into the one new layer
// (run.go); COPY and ADD plan their sources (context.go, imagetree.go,
// copy.go) and write them as a tar straight into the layer, with no
// container (copystep.go). ARG scoping is in args.go.
//
// # Invariants
//
//   - The local context is read in place, through the ignore rules; no
//     source outside it, or reached through a symbolic link leaving it, is
//     ever read.
//   - A layer and the image listing it are written in the same Tx, so GC
//     never sees the layer unreferenced.
//   - Every step's image is recorded in the cache as the store hold
//     "buildcache-<key>" (layers.CacheHolderPrefix) before the next step
//     uses it; the base images of a running build are held as
//     "build-<pid>-<random>-<step>" until it returns (or, if it is killed,
//     until a later build or Prune sees its process gone).
//   - When Build returns, every container it created has been removed
//     (unless Options.Remove and ForceRemove are both false), and nothing
//     was tagged if it failed.
//
// # On disk
//
// Nothing of its own: step images are untagged images of the store, cache
// entries and build holds are files under holds/ (see package layers).
//
// # Locks
//
// Those of package layers: a Tx holds content.lock shared for one step's
// layer and image; CreateImage, Tag, Hold and Release take index.lock
// briefly inside it. The builder never runs GC while a Tx is open; Prune
// (builder prune) collects after releasing its holds.
package build
