// Package archive reads and writes layer tar streams: it detects and undoes
// their compression (compress.go), turns an uncompressed layer into an
// index plus objects in the object store (unpack.go, hashing the stream
// for its DiffID on a second goroutine: diffid.go), and turns an index
// back into a layer tar (write.go).
//
// Unpacking never touches the filesystem. Ownership, modes, device numbers,
// xattrs and whiteouts go into the index; regular files' contents go to a
// Sink, which the layer store backs with its object store. So no privilege
// is needed, and a hostile tar has nothing on disk to climb out of. It still
// refuses, whole, any layer that would be unsafe or ambiguous to apply:
//
//   - absolute names ("/etc/x"; "./etc/x" is fine) and ".." components,
//     in entry names and hard-link targets;
//   - a symlink, file or whiteout used as a directory on the way to a name
//     (a layer never writes through a symlink);
//   - hard links to directories or to names not seen earlier in the layer;
//   - the same non-directory twice (a directory may be named twice; the
//     later entry's metadata wins and the children stay);
//   - entry types other than regular, directory, symlink, hard link,
//     character or block device and fifo (global PAX headers are ignored);
//   - negative sizes, files over Options.MaxFileSize, more entries than
//     Options.MaxEntries, names the index cannot hold (NUL, over 4096 bytes);
//   - ".wh." names other than OCI whiteouts and the opaque marker;
//   - truncated streams and a stream of zero bytes (a tar with only its
//     end-of-archive blocks is a valid, empty layer).
//
// Errors for all of these wrap ErrInvalidLayer and name the entry.
//
// # Whiteouts
//
// OCI whiteouts (image-spec layer.md) are read as index whiteouts: ".wh.NAME"
// hides NAME in lower layers, and "DIR/.wh..wh..opq" makes DIR opaque. A
// whiteout affects lower layers only, so one naming an entry of its own
// layer makes a directory opaque and is redundant for anything else,
// whichever comes first in the tar. Write produces the same forms.
//
// # Digests
//
// The DiffID is the sha256 of the whole uncompressed stream as read,
// including whatever follows the end-of-archive blocks, which is what an
// image config's rootfs.diff_ids records. Unpack reads the stream to its
// end for that reason.
package archive
