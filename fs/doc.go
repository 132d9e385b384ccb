// Package fs is Strata's union filesystem: read-only lower layers under a
// writable upper directory, merged the way overlayfs merges them and
// served through FUSE (github.com/hanwen/go-fuse/v2), so that it mounts
// wherever FUSE does, as root or as root of a user namespace.
//
// # Layers
//
// A Lower is either an indexed layer (NewIndexLower: a *index.Index in
// memory, normally the flattened index of an image, with file content in
// the object store) or a plain directory (NewDirLower: fuse-overlayfs and
// overlayfs lowers, whiteouts as character devices 0:0 or OCI ".wh.NAME"
// files, opaque directories by trusted.overlay.opaque or
// user.overlay.opaque = "y" or a ".wh..wh..opq" file). Any number stack,
// top first. The upper is a real directory; WorkDir, on the same
// filesystem, holds our "strata-work" directory where copies are built.
//
// A name is looked up top-down: the upper, then each lower, stopping at a
// whiteout, a non-directory, or an opaque directory; directories found on
// the way merge. Readdir merges the same way and sorts by name, so every
// reader sees one order. Names beginning ".wh." are never shown.
//
// # On-disk format of the upper
//
// What a diff of the upper must understand (the layer store's commit):
//
//   - ".wh.NAME" (an empty regular file) hides NAME of the lowers; an
//     upper NAME beside it wins, and if a directory, hides the lowers'
//     NAME as an opaque one does. Overlayfs whiteouts (character devices
//     0:0) are read too, never written.
//   - ".wh..wh..opq" in a directory makes it opaque; the overlay opaque
//     xattrs are read too.
//   - user.strata.origin = decimal inode number the object had in the
//     union before it was copied up (see below).
//   - user.strata.metacopy = hex sha256 of the object in the store that
//     holds the file's content: a metadata-only copy-up. The upper file
//     has the right size but no data (a hole); a diff must take the
//     content from the object. It goes away (data copied in place, then
//     the xattr removed) on the first write.
//   - user.strata.stat = "uid:gid:mode[:rdev]" (mode octal, with the type
//     bits) overrides what the upper file says: used when the server may
//     not chown (an unprivileged server, a user namespace that maps one
//     id) or mknod (a device is then an empty regular file).
//
// Only regular files and directories can hold user.* xattrs: a copied-up
// symlink or device gets a new inode number, and an owner the server may
// not give a symlink is lost.
//
// # Copy-up
//
// A write, truncation, chmod, chown, utimes, xattr change, link or rename
// of a lower object first copies it up: the copy (with xattrs, owner,
// mode, times and the origin xattr) is built in the work directory and
// renamed into the upper with RENAME_NOREPLACE, after its parent
// directories. A regular file of an indexed layer is copied by metadata
// only unless data is needed (an open for writing without O_TRUNC, a
// truncation to a non-zero size); its data is copied in place later, in
// the same inode, sparse (SEEK_DATA/SEEK_HOLE). Data copies are fsynced
// unless Options.Volatile. A directory that merges lower directories is
// copied whole when it is renamed or exchanged (subdirectories anew,
// upper files hard-linked, lower files by metadata), then swapped in with
// RENAME_EXCHANGE and made opaque; EXDEV is never returned.
//
// Removing a name the lowers also have makes the whiteout first, then
// removes the upper entry (a directory by renaming it into the work
// directory, where it is deleted). So a server killed at any point leaves
// an upper that shows either the old or the new state, plus leftovers in
// the work directory, which the next mount deletes.
//
// # Inode numbers
//
// st_ino is unique across layers and stable across copy-up, rename and
// remount: the top 16 bits name the layer (0 the upper, 1+i lower i), the
// low 48 bits are the layer's own number: an indexed layer's entry number
// (of the hard-link leader) plus one, a directory layer's st_ino (with the
// device folded in), the upper's st_ino. An upper object with an origin
// xattr has the number it had before copy-up. Upper objects without one
// carry a generation from their birth time, so a number the upper
// filesystem reuses is not mistaken for the old object.
//
// # Caching and passthrough
//
// Lookups, attributes and negative lookups of lower objects may be cached
// by the kernel for LowerTimeout (a day), of upper ones for UpperTimeout
// (a second): every change goes through the kernel, which updates its own
// caches. Lower files open with FOPEN_KEEP_CACHE, read-only opens with
// FOPEN_NOFLUSH. Directories are never opened at all: the first OPENDIR is
// refused with ENOSYS, so the kernel sends neither OPENDIR nor RELEASEDIR
// again and keeps every listing cached until a change through the mount
// drops it (noopendir_linux.go says why that is safe). READDIRPLUS is
// answered from the merged listing without a second lookup. We cache too,
// since lowers never change: a node keeps its lower attributes and extended
// attributes, so GETATTR and GETXATTR of a lower object make no system
// call; listing a lower directory stats entries relative to it and tests a
// directory for an opaque marker only when a layer below has it too; an
// unlink of a lower file whose node is known asks no layer. Requests are
// up to 1 MiB. With Options.Passthrough and a privileged server (probed
// at mount on a throwaway file), the kernel reads and writes upper files
// itself, and reads lower files that execve(2) opens straight from their
// objects; other opens of lower files are cached opens, and a node keeps
// all its opens in one I/O mode (see file_linux.go). POSIX ACLs are the
// kernel's to enforce and cache (FUSE_POSIX_ACL). Locks are left to the
// kernel, local to the mount.
//
// # Lock order
//
// node.mu before handle.mu. A node's mu is held across its own copy-up;
// copying up one name of a hard-link group then takes the locks of
// directory nodes, each briefly, to link the other names. No code holds a
// directory node's lock while it takes another node's, so there is no
// cycle. go-fuse's own locks are never held when it calls us, and we call
// into go-fuse (tree lookups, NewInode) holding at most node locks.
//
// # Deadlocks
//
// A process that serves the mount must not touch it in ways that block a
// thread the Go runtime counts on (see go-fuse's package doc): no exec of
// binaries on the mount, no chdir into it for a child, no mmap of its
// files. The monitor that owns the server must leave the mount to the
// container's processes.
package fs
