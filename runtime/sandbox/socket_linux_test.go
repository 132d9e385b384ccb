package sandbox

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestConnRecv sends messages of growing and shrinking sizes, with and
// without files, over one pair: Recv sizes its buffer from a peek.
func TestConnRecv(t *testing.T) {
	ours, theirs, err := Pair()
	if err != nil {
		t.Fatal(err)
	}
	defer ours.Close()
	peer := NewConn(int(theirs.Fd()))
	tests := []struct {
		name  string
		size  int
		files int
	}{
		{"small", 10, 0},
		{"large", 200 << 10, 0},
		{"small again, with files", 10, 2},
		{"large again, with a file", 150 << 10, 1}, // the socket buffer bounds a message too
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var files []*os.File
			for range tt.files {
				f, err := os.Open(os.DevNull)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				files = append(files, f)
			}
			want := strings.Repeat("x", tt.size)
			if err := peer.Send(&Message{Op: OpFailed, Error: want}, files...); err != nil {
				t.Fatal(err)
			}
			m, got, err := ours.Recv()
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range got {
				f.Close()
			}
			if m.Error != want || len(got) != tt.files {
				t.Errorf("got %d bytes and %d files, want %d and %d", len(m.Error), len(got), tt.size, tt.files)
			}
		})
	}
	t.Run("too long", func(t *testing.T) {
		if err := peer.Send(&Message{Op: OpFailed, Error: strings.Repeat("x", maxMessage)}); err != nil {
			t.Skipf("send: %v (the kernel's bound is lower)", err)
		}
		if _, _, err := ours.Recv(); err == nil {
			t.Error("got a message, want an error")
		}
	})
	t.Run("closed", func(t *testing.T) {
		theirs.Close()
		if _, _, err := ours.Recv(); !errors.Is(err, os.ErrClosed) {
			t.Errorf("got %v, want os.ErrClosed", err)
		}
	})
}
