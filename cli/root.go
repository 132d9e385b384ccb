// Package cli is strata's command line: one file per command, each a thin
// layer over the store, the filesystem and the runtime. It is the only
// package that imports cobra and the only one that writes to the user.
package cli

import (
	"fmt"
	"os"
)

// Main runs the command line given in args (args[0] is the program name)
// and returns the process exit status.
func Main(args []string) int {
	fmt.Fprintln(os.Stderr, "strata: not implemented yet")
	return 1
}
