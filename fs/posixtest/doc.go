// Package posixtest is a conformance suite for union filesystems: a table
// of cases, each a stack of layers and checks made through a mount of
// them, run the same against any Setup. The references are a plain
// directory holding the flattened tree and kernel overlayfs; a union
// filesystem should give the same answers.
//
// Cases that mmap files run their checks in a child process (the test
// binary run again; call RunHelper from TestMain): a page fault on a FUSE
// mount served by the faulting process deadlocks it.
//
// The suite is Linux-only.
package posixtest
