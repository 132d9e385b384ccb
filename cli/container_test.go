package cli

import (
	"fmt"
	"testing"

	"github.com/strata-engine/strata/runtime"
)

func TestContainerError(t *testing.T) {
	tests := []struct {
		err  error
		want string
	}{
		{fmt.Errorf("%w: abc", runtime.ErrNotFound), "No such container: abc"},
		{fmt.Errorf("%w: abc matches 2 containers", runtime.ErrAmbiguous), "multiple IDs found with provided prefix: abc"},
		{fmt.Errorf("%w: x", runtime.ErrRunning), "container is running: x"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) {
			if got := containerError("abc", tt.err).Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
