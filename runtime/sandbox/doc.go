// Package sandbox is the inside of a container: Init, the container's pid
// 1, an entry point of strata-runtime (or of the strata binary itself,
// re-executed by the monitor with spec.EntryEnv set; package entry). It
// never returns to the CLI.
//
//	monitor ──clone(NEWNS|NEWPID|NEWUTS|NEWIPC|NEWNET)──▶ Init (pid 1)
//	                    control socket (fd 3, SOCK_SEQPACKET, JSON + fds)
//	Init's main thread ──fork+exec──▶ the main command (pid 2), each exec
//
// Init sets up the root (mounts, /dev, pivot_root, masked and read-only
// paths, hostname), then restricts its locked main thread to what
// commands may have (Docker's capabilities, no_new_privs, the rlimits) and
// forks every command from that thread, so each inherits exactly that;
// the child switches uid/gid/groups and exec's (syscall.ForkExec). Nothing
// is re-executed inside the container: the runtime's binary may be
// dynamically linked, and its interpreter is not in the container's root.
//
// Init then stays: it forwards signals to the main command (as tini),
// reaps every orphan, and starts commands for `exec` on the monitor's
// request — being already in every namespace, it needs no setns(2), which
// a multithreaded Go process cannot do for mount, pid or user namespaces.
// When the main command exits, Init reports its status and exits with it;
// the kernel then kills whatever is left in the pid namespace.
//
// Init and its children are separate processes from the monitor, so they
// may use the monitor's FUSE mount freely (go-fuse's deadlocks concern
// only the serving process).
package sandbox
