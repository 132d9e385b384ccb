// Command strata-runtime runs the monitors and inits of strata's
// containers. It holds the same code as the hidden entry points of the
// strata binary (package runtime/entry) but links nothing else, so it
// starts several times faster; strata uses it when it is installed in the
// same directory (make install does that) and itself otherwise. It is
// started by strata only.
package main

import (
	"fmt"
	"os"

	"github.com/strata-engine/strata/runtime/entry"
)

func main() {
	if entry.Run() {
		return
	}
	fmt.Fprintln(os.Stderr, "strata-runtime runs the containers of strata; it is started by strata, not by hand")
	os.Exit(2)
}
