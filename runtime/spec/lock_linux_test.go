package spec

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestMonitorLockNotCreated: readers never create monitor.lock, which in a
// directory that a --rm container's monitor is removing left the
// directory behind.
func TestMonitorLockNotCreated(t *testing.T) {
	tests := []struct {
		name string
		dir  func(t *testing.T) string
	}{
		{"no lock", func(t *testing.T) string { return t.TempDir() }},
		{"no directory", func(t *testing.T) string { return filepath.Join(t.TempDir(), "gone") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := tt.dir(t)
			if err := WaitMonitor(dir); err != nil {
				t.Errorf("WaitMonitor: got %v, want nil", err)
			}
			if MonitorAlive(dir) {
				t.Error("MonitorAlive: got true, want false")
			}
			if _, err := os.Stat(filepath.Join(dir, MonitorLock)); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("monitor.lock: got %v, want it absent", err)
			}
		})
	}
}

func TestMonitorAlive(t *testing.T) {
	dir := t.TempDir()
	f, ok, err := TryLock(filepath.Join(dir, MonitorLock))
	if err != nil || !ok {
		t.Fatalf("TryLock: got %v %v", ok, err)
	}
	if !MonitorAlive(dir) {
		t.Error("held: got not alive, want alive")
	}
	f.Close()
	if MonitorAlive(dir) {
		t.Error("released: got alive, want not alive")
	}
	if err := WaitMonitor(dir); err != nil {
		t.Errorf("WaitMonitor: got %v, want nil", err)
	}
}

func TestWriteJSONTransient(t *testing.T) {
	path := filepath.Join(t.TempDir(), StateFile)
	for _, want := range []State{{Status: Created}, {Status: Running, Pid: 7}} {
		if err := WriteJSONTransient(path, &want); err != nil {
			t.Fatal(err)
		}
		var got State
		if err := ReadJSON(path, &got); err != nil || got.Status != want.Status || got.Pid != want.Pid {
			t.Errorf("got %+v %v, want %+v", got, err, want)
		}
	}
	if ents, _ := os.ReadDir(filepath.Dir(path)); len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
}
