package runtime

import "github.com/strata-engine/strata/runtime/entry"

// MaybeRunInit runs one of the runtime's hidden entry points (the monitor,
// the container's init, the exec stage) when the runtime re-executed this
// binary for it, and then exits the process. Otherwise it returns false at
// once. The main package — and TestMain of any test that starts containers
// — must call it first thing. See package entry.
func MaybeRunInit() bool { return entry.Run() }
