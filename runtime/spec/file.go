package spec

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// The files of a container directory.
const (
	ConfigFile  = "config.json"
	StateFile   = "state.json"
	LockFile    = "lock"         // flock: serialises state changes
	MonitorLock = "monitor.lock" // flock held by the live monitor
	SocketFile  = "monitor.sock"
	LogFile     = "ctr.log"
	MonitorLog  = "monitor.log" // the monitor's own diagnostics
	RootfsDir   = "rootfs"      // mount point of the union
	UpperDir    = "upper"
	WorkDir     = "work"
	HostsFile   = "hosts"
	HostnameF   = "hostname"
	ResolvConf  = "resolv.conf"
)

// WriteJSON writes v to path atomically: a temporary file in the same
// directory, fsynced, then renamed over path, so a reader sees the old or
// the new content, never a torn one.
func WriteJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return WriteFile(path, append(b, '\n'), 0o644)
}

// WriteFile writes b to path atomically (temp file, fsync, rename).
func WriteFile(path string, b []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// ReadJSON decodes the JSON file at path into v.
func ReadJSON(path string, v any) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return fmt.Errorf("decode %s: %w", path, err)
	}
	return nil
}
