// Command strata is a daemonless container engine whose root filesystems are
// served by its own FUSE union filesystem.
package main

import (
	"os"

	"github.com/strata-engine/strata/cli"
	"github.com/strata-engine/strata/runtime"
)

func main() {
	// The runtime re-executes this binary as a container's monitor, its
	// init and its exec stage; those never reach the command line.
	if runtime.MaybeRunInit() {
		return
	}
	os.Exit(cli.Main(os.Args))
}
