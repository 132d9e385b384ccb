// Package cgroups puts a container under the limits of its --memory,
// --memory-swap, --cpus, --cpu-shares and --pids-limit flags, reads its
// usage for `stats`, and tells whether the kernel's OOM killer struck.
//
// One cgroup per container, made by the container's monitor after it
// cloned init and before init forks the container's command, removed by
// the monitor when init has exited (and by `rm` when a monitor died
// without removing it). Its directories are recorded in the container's
// directory (File), so that any later CLI process finds them.
//
// # Hierarchies
//
// cgroup v2 is used when /sys/fs/cgroup is the unified hierarchy: the
// container's cgroup is /sys/fs/cgroup/strata/<id>, with the memory, cpu,
// pids and io controllers enabled down to it. Otherwise the v1
// hierarchies are used, each controller's found in /proc/self/mountinfo:
// the cgroup is <the monitor's own cgroup in that hierarchy>/strata/<id>,
// so that a container never escapes the limits its caller runs under.
// A host that mounts both (hybrid: v1 controllers, cgroup2 at
// /sys/fs/cgroup/unified with none enabled) is a v1 host.
//
// # Init's threads and --pids-limit
//
// Init (package sandbox) is a Go program with a handful of threads, and it
// forks every command from its main thread. The pids controller counts
// tasks, so putting all of init in the cgroup would make --pids-limit 5
// mean "5 minus init's threads", which varies. Under v1 a single thread
// may be moved (its tid written to "tasks"): only init's main thread, the
// one that forks, goes into the pids cgroup (it moves itself, see
// ThreadTasks), and --pids-limit N allows N tasks of the container's own,
// as in Docker. v2 allows moving threads
// only within threaded subtrees, which memory cannot be part of: there
// init's whole process joins, and its threads count against the limit.
//
// # Lifetime
//
// Create makes the directories and writes the limits; Enter moves init
// in, and init's main thread joins ThreadTasks; Remove deletes the
// directories (retrying while the last tasks of a dying pid namespace
// leave) and the "strata" parents once empty, so that nothing stays
// after the last container (Create retries its mkdir when a concurrent
// Remove took a parent away). Nothing here holds a lock: the cgroup is
// owned by the container's monitor, and read by anyone.
package cgroups
