// Package index is the metadata format of one layer, or of one image whose
// layers have been merged ("flattened"): every name in the tree with its type,
// mode, owner, times, size, device number, symlink target, xattrs, hard-link
// group, whiteout and opaque markers, and for regular files the sha256 of the
// content, which lives in the store's object store. No file data is held here.
//
// It is the one package that both the layer store (layers) and the union
// filesystem (fs) import, so it depends on nothing of the project.
//
// # Invariants
//
//   - Entry 0 is the root directory; its name is empty.
//   - Entries are in breadth-first order, so the children of every directory
//     are one contiguous run of entries, sorted by name (byte order). A lookup
//     is a binary search in that run; a readdir is a slice of it.
//   - Every entry's parent has a smaller number than the entry.
//   - Names are non-empty, contain neither '/' nor NUL, and are not "." or "..".
//   - A hard-link group is named by its leader, the entry with the smallest
//     number; each member's Link is the leader, and all members share the
//     leader's digest, size, mode, owner and xattrs.
//   - A flattened index holds no whiteouts and no opaque markers.
//
// Decode checks all of these, so code that reads a decoded Index may trust
// them and never needs to bounds-check.
//
// # Encoding (version 1)
//
// All integers are little-endian. The file is a 64-byte header, then four
// tables one after another, each starting where the previous one ends:
//
//	header   magic "STRATAIX", u32 version, u32 flags, u32 entries,
//	         u32 digests, u32 xattrs, u32 string bytes, u32 crc32c of
//	         everything after the header, 28 reserved zero bytes
//	entries  64 bytes each (see record offsets in encode.go)
//	digests  32 bytes each: raw sha256 of regular-file contents, unique
//	xattrs   16 bytes each: u32 key offset, u32 key length, u32 value offset,
//	         u32 value length into the string table
//	strings  names, symlink targets, xattr keys and values, concatenated
//
// The format is documented for people in docs/index-format.md.
package index
