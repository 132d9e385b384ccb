package runtime

import (
	"os"
	"os/exec"
	"syscall"
)

// IDMappings returns the user namespace an unprivileged caller's
// containers run in (the caller as root, plus its /etc/subuid and
// /etc/subgid ranges when newuidmap and newgidmap can map them), or nil
// maps for root, whose containers share the host's ids. Tools that read a
// container's upper directory from outside (commit) map owners back with
// it.
func IDMappings() (uids, gids []syscall.SysProcIDMap) {
	uid, gid := os.Getuid(), os.Getgid()
	if uid == 0 {
		return nil, nil
	}
	uids = []syscall.SysProcIDMap{{ContainerID: 0, HostID: uid, Size: 1}}
	gids = []syscall.SysProcIDMap{{ContainerID: 0, HostID: gid, Size: 1}}
	subU, errU := subIDs("/etc/subuid", uid)
	subG, errG := subIDs("/etc/subgid", uid)
	_, errNU := exec.LookPath("newuidmap")
	_, errNG := exec.LookPath("newgidmap")
	if errU == nil && errG == nil && errNU == nil && errNG == nil {
		// As rootless maps them: container id 1 on is the first range.
		uids = append(uids, syscall.SysProcIDMap{ContainerID: 1, HostID: subU[0], Size: subU[1]})
		gids = append(gids, syscall.SysProcIDMap{ContainerID: 1, HostID: subG[0], Size: subG[1]})
	}
	return uids, gids
}
