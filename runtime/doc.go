// Package runtime runs containers: it keeps their records on disk, starts
// a detached monitor per running container, and talks to it. It is
// daemonless, like Podman: every call works from the files below and the
// monitors' sockets, so any number of CLI processes may use one store.
//
// # On disk
//
// Under the store root (the layer store's root):
//
//	containers/.lock                 flock: name allocation, create, rename, remove
//	containers/<id>/                 id: 64 hex digits
//	    config.json                  spec.Config: what to run (rewritten only by rename)
//	    state.json                   spec.State: created|running|exited, pids, exit code, times
//	    lock                         flock: serialises state.json updates
//	    monitor.lock                 flock held by the live monitor for its whole life
//	    monitor.sock                 the monitor's socket (package proto)
//	    monitor.log                  the monitor's own diagnostics
//	    ctr.log                      the container's output, Docker json-file lines
//	    hosts, hostname, resolv.conf bound over the container's /etc files
//	    cgroup.json                  the container's cgroup (package cgroups), while it has one
//	    slirp.sock                   slirp4netns's API socket (unprivileged network), while it runs
//	    rootfs/                      mount point of the FUSE union (image containers)
//	    upper/, work/                the union's writable layer and its scratch space
//
// Every JSON file is replaced whole (temp file, fsync, rename); a --rm
// container's files other than config.json skip the fsync (its monitor
// deletes them at exit, and nobody needs them after a crash: a state.json
// lost in one reads as exited, 137). A container whose state says running
// but whose monitor.lock nobody holds lost its monitor: readers report it
// exited (137) and record that.
//
// # Processes
//
//	strata run ──fork/exec, setsid, CLONE_NEWNS [+NEWUSER rootless]──▶ monitor
//	    monitor: FUSE server, pty master or pipes, ctr.log, monitor.sock
//	    monitor ──CLONE_NEWNS|NEWPID|NEWUTS|NEWIPC|NEWNET──▶ init (pid 1, package sandbox)
//	        init ──fork/exec──▶ spawn ──execve──▶ the command (main and each exec)
//
// The monitor runs in a mount namespace of its own, so the union mount is
// invisible to the host and disappears with the monitor however it dies;
// init has SIGKILL as its parent-death signal, so the container dies with
// its monitor. Exec needs no setns: init, already inside, starts it.
//
// A start is mostly process start-up (the CLI, then the monitor and init:
// strata-runtime, or this binary again where it is not installed; see
// RuntimeBinary and package entry), so
// the monitor overlaps what it can: it clones init first thing, mounts the
// union while init starts, and hands init the union as a detached mount
// (open_tree(2), attached with move_mount(2)) since init's namespace was
// copied before the mount. Run hands the monitor a connection carrying its
// attach request (monitor.AttachFd), subscribed before the container
// starts: no output is lost, and nothing waits on a dial of monitor.sock.
//
// # Tracing
//
// STRATA_TRACE=1 makes the CLI, the monitor and init log a line per phase
// of a start and an exit (monotonic milliseconds and CPU time so far) to
// their standard error; STRATA_TRACE=/path appends them to a file, which
// --rm needs (the monitor's and init's standard error is monitor.log).
// See package phase.
//
// # Locks
//
// Order: containers/.lock, then containers/<id>/lock, then a bridge's
// lock (package network). monitor.lock is never
// waited for (only tested). A monitor takes only its container's lock,
// briefly, to write state.json; nothing holds a lock while waiting for a
// monitor.
package runtime
