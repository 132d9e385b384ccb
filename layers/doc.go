// Package layers is Strata's image and layer store.
//
// The store root is a valid OCI image layout, so skopeo and umoci read it as
// oci:ROOT:NAME:TAG, with Strata's own metadata beside it:
//
//	oci-layout                  {"imageLayoutVersion": "1.0.0"}
//	index.json                  one manifest descriptor per tag; untagged
//	                            images have no ref.name annotation
//	blobs/sha256/<hex>          manifests, configs and layer tars as pulled,
//	                            loaded or written (gzip by default)
//	layers/sha256/<hex>.index   per layer (by diffID): its metadata index
//	layers/sha256/<hex>.json    per layer: size, entry and object counts
//	flat/sha256/<hex>.index     per image (by chainID of its layers): the
//	                            merged index a container root mounts; a cache
//	objects/<xx>/<hex>          each regular file's content, once, by sha256
//	holds/<holder>              the image a container (or build) is using
//	tmp/                        staging: everything is written here first
//	content.lock, index.lock    the two locks below
//
// # Invariants
//
//   - A name under blobs/, objects/ or layers/ only ever appears once its
//     content is complete, verified and on disk (written to tmp/, fsynced,
//     checked against its digest, renamed). Objects are made durable in
//     batches: a layer's new objects are renamed into place only after one
//     syncfs, and its index only after a second one.
//   - index.json is replaced whole (temp file, fsync, rename), so a reader
//     without a lock always sees a consistent list.
//   - Every blob, index and object reachable from index.json or a hold is
//     present. Anything else is garbage and GC may remove it.
//
// # Locks
//
// content.lock is taken shared by every operation that adds content (it
// may run alongside others), and exclusive by GC, which must not delete
// what an import is about to reference. index.lock is taken exclusive for
// the read-modify-write of index.json and holds. Order: content.lock, then
// index.lock.
package layers
