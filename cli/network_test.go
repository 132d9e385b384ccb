package cli

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/strata-engine/strata/network"
)

// testNetworkEnv gives this test process a default network of its own,
// for every strata it runs (scripts, the pty tests): a bridge and a /24
// derived from the pid, so that tests never use (or remove) a user's
// strata0 nor collide with another test process, and no change of the
// host's ip_forward. It returns the cleanup that removes the bridge and
// its IPAM record, to run when every test is done.
func testNetworkEnv() (cleanup func()) {
	if os.Getenv(network.EnvBridge) != "" {
		// A strata run by a script (this binary again), or a caller
		// that chose: the environment stands.
		return func() {}
	}
	pid := os.Getpid()
	bridge := fmt.Sprintf("stt%d", pid%1000000)
	os.Setenv(network.EnvBridge, bridge)
	os.Setenv(network.EnvSubnet, fmt.Sprintf("10.%d.%d.0/24", 200+pid%50, (pid/50)%256))
	os.Setenv("STRATA_NO_IP_FORWARD", "1")
	return func() {
		if err := network.DeleteBridge(bridge); err != nil {
			fmt.Fprintf(os.Stderr, "delete test bridge %s: %v\n", bridge, err)
		}
		for _, ext := range []string{".json", ".lock"} {
			os.Remove(filepath.Join(network.StateDir, bridge+ext))
		}
	}
}

// cleanupM runs a cleanup after the tests.
type cleanupM struct {
	m       interface{ Run() int }
	cleanup func()
}

func (c cleanupM) Run() int {
	defer c.cleanup()
	return c.m.Run()
}
