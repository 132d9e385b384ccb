package cli

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-engine/strata/network"
)

// testBridge gives this test process a default network of its own, so
// that scripts never use (or remove) a user's strata0, nor collide with
// another test process: a bridge and a /24 derived from the pid, and no
// change of the host's ip_forward. The bridge, whatever NAT table is
// left and the IPAM record are removed when the test ends.
func testBridge(t *testing.T) (bridge, subnet string) {
	pid := os.Getpid()
	bridge = fmt.Sprintf("stt%d", pid%1000000)
	subnet = fmt.Sprintf("10.%d.%d.0/24", 200+pid%50, (pid/50)%256)
	t.Cleanup(func() {
		if err := network.DeleteBridge(bridge); err != nil {
			t.Errorf("delete test bridge %s: %v", bridge, err)
		}
		for _, ext := range []string{".json", ".lock"} {
			os.Remove(filepath.Join(network.StateDir, bridge+ext))
		}
	})
	return bridge, subnet
}
