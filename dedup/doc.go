// Package dedup measures how much storage a set of images needs under
// different deduplication strategies, for people experimenting with layer
// deduplication. It reads the store and never changes it.
//
// The strategies, each applied to the same images:
//
//   - none: every image keeps every layer's files (a copy per image);
//   - layer: each distinct layer once, by diffID (what Docker's and
//     containerd's stores keep);
//   - file: each distinct file content once, by sha256 (what Strata's
//     object store keeps);
//   - fixed: each distinct fixed-size block of the distinct contents once;
//   - cdc: each distinct content-defined chunk once (FastCDC).
//
// The first three come from the layer indexes alone and cost no I/O beyond
// them. The chunk strategies read every distinct content once; chunking is
// per file (the object store holds files, not tar streams), and the chunk
// identity is its sha256.
//
// "Size" is always bytes of regular-file content: metadata, tar headers and
// the store's own indexes are left out so that the strategies compare the
// same thing. The compressed size of the layer blobs (what a registry
// stores) is reported beside them for reference.
package dedup
