package runtime

import "syscall"

// errConnRefused is a socket whose monitor is gone.
var errConnRefused = syscall.ECONNREFUSED
