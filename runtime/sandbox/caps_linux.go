package sandbox

import (
	"fmt"

	"github.com/moby/sys/capability"
)

// DefaultCaps is Docker's default capability set (moby's
// oci/caps/defaults.go): 0x00000000a80425fb.
var DefaultCaps = []capability.Cap{
	capability.CAP_CHOWN, capability.CAP_DAC_OVERRIDE, capability.CAP_FSETID,
	capability.CAP_FOWNER, capability.CAP_MKNOD, capability.CAP_NET_RAW,
	capability.CAP_SETGID, capability.CAP_SETUID, capability.CAP_SETFCAP,
	capability.CAP_SETPCAP, capability.CAP_NET_BIND_SERVICE, capability.CAP_SYS_CHROOT,
	capability.CAP_KILL, capability.CAP_AUDIT_WRITE,
}

// dropCaps reduces the calling thread to DefaultCaps: bounding, effective
// and permitted. Inheritable and ambient are left empty, as Docker does
// since CVE-2022-24769: a non-empty inheritable set would let a file's
// inheritable capabilities raise a non-root user's privileges on exec.
// Capabilities are per thread, so the caller must stay locked to its
// thread until it execs.
func dropCaps() error {
	c, err := capability.NewPid2(0)
	if err != nil {
		return fmt.Errorf("capabilities: %w", err)
	}
	c.Clear(capability.CAPS | capability.BOUNDS | capability.AMBS)
	c.Set(capability.BOUNDING|capability.EFFECTIVE|capability.PERMITTED, DefaultCaps...)
	// Apply drops the bounding set first, while CAP_SETPCAP is still
	// effective, then sets the others with capset(2).
	if err := c.Apply(capability.CAPS | capability.BOUNDS | capability.AMBS); err != nil {
		return fmt.Errorf("apply capabilities: %w", err)
	}
	return nil
}
