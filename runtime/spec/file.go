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

// WriteJSON writes v to path atomically and durably: a temporary file in
// the same directory, fsynced, then renamed over path, so a reader sees the
// old or the new content, never a torn one, and so does the next boot.
func WriteJSON(path string, v any) error { return writeJSON(path, v, true) }

// WriteJSONTransient is WriteJSON without the fsync: readers still see the
// old or the new content (rename is atomic), but after a crash the file
// may hold either, or be empty on file systems that do not flush a
// renamed file's data first. It is for records nobody needs after a
// crash: those of a --rm container, which its monitor deletes at exit.
// An fsync costs one journal commit (milliseconds) on the start path.
func WriteJSONTransient(path string, v any) error { return writeJSON(path, v, false) }

func writeJSON(path string, v any, sync bool) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode %s: %w", path, err)
	}
	return writeFile(path, append(b, '\n'), 0o644, sync)
}

// WriteFile writes b to path atomically and durably (temp file, fsync,
// rename).
func WriteFile(path string, b []byte, mode os.FileMode) error {
	return writeFile(path, b, mode, true)
}

// WriteFileTransient is WriteFile without the fsync (see
// WriteJSONTransient).
func WriteFileTransient(path string, b []byte, mode os.FileMode) error {
	return writeFile(path, b, mode, false)
}

func writeFile(path string, b []byte, mode os.FileMode, sync bool) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	_, err = f.Write(b)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil && sync {
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
