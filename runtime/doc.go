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
//	    rootfs/                      mount point of the FUSE union (image containers)
//	    upper/, work/                the union's writable layer and its scratch space
//
// Every JSON file is replaced whole (temp file, fsync, rename). A
// container whose state says running but whose monitor.lock nobody holds
// lost its monitor: readers report it exited (137) and record that.
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
// # Locks
//
// Order: containers/.lock, then containers/<id>/lock. monitor.lock is never
// waited for (only tested). A monitor takes only its container's lock,
// briefly, to write state.json; nothing holds a lock while waiting for a
// monitor.
package runtime
