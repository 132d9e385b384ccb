// Command strata is a daemonless container engine whose root filesystems are
// served by its own FUSE union filesystem.
package main

import (
	"os"

	"github.com/strata-engine/strata/cli"
)

func main() {
	os.Exit(cli.Main(os.Args))
}
