// Package fsbench measures union filesystems on the layers of an image:
// Strata's own, kernel overlayfs and fuse-overlayfs, on the same data, in
// the same run, interleaved, so that their figures can be compared.
//
// # How a run goes
//
// The image's layers are laid out once as overlayfs lower directories
// (whiteouts as 0:0 character devices, opaque directories marked with
// trusted.overlay.opaque), which both overlayfs and fuse-overlayfs mount;
// Strata mounts the image from the store's index, as a container's root,
// by running `strata mount --upper --work` (its FUSE server is a process
// of its own, as in a container's monitor, not the benchmark's).
//
// Each repetition runs every workload once on every contender, the
// contenders in a rotating order. Every (workload, contender) run gets a
// fresh mount on an empty upper directory; its "cold" phase runs right
// after the mount (and, as root, after dropping the kernel's page, dentry
// and inode caches), its "warm" phase right after the cold one. Workloads
// that change the tree (writes, copy-up, removal) have only a cold phase.
// Each phase also checks its result (entries seen, bytes read) against
// the other contenders', so a filesystem that is fast because it is wrong
// is reported as an error, not as a winner.
//
// # Cleaning up
//
// Everything lives under one scratch directory. Every mount is undone
// (lazily if it is busy) and the scratch directory removed when the run
// ends, fails or is cancelled.
package fsbench
