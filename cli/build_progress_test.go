package cli

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// stripWindow replays the view's output the way a terminal shows it:
// "cursor up, erase line" removes the line above.
func stripWindow(s string) []string {
	var lines []string
	for _, l := range strings.SplitAfter(s, "\n") {
		for strings.HasPrefix(l, "\x1b[1A\x1b[2K") {
			l = strings.TrimPrefix(l, "\x1b[1A\x1b[2K")
			lines = lines[:len(lines)-1]
		}
		if l != "" {
			lines = append(lines, strings.TrimSuffix(l, "\n"))
		}
	}
	return lines
}

func TestTTYView(t *testing.T) {
	for _, failed := range []bool{false, true} {
		t.Run(fmt.Sprint("failed=", failed), func(t *testing.T) {
			var buf bytes.Buffer
			v := newTTYView(&buf)
			run := v.run()
			fmt.Fprint(v, "Step 1/2 : RUN seq 10\n ---> Running in abc\n")
			for i := 1; i <= 10; i++ {
				fmt.Fprintf(run, "line %d\n", i)
			}
			// While it runs, the window shows the last lines only.
			shown := strings.Join(stripWindow(buf.String()), "\n")
			if !strings.Contains(shown, "line 10") || strings.Contains(shown, "line 4\x1b") {
				t.Errorf("window while running: got %q, want the last %d lines", shown, ttyWindow)
			}
			if !failed {
				fmt.Fprint(v, "Removing intermediate container abc\n ---> def\n")
			}
			v.close(failed)
			got := stripWindow(buf.String())
			want := []string{"Step 1/2 : RUN seq 10", " ---> Running in abc", "Removing intermediate container abc", " ---> def"}
			if failed {
				want = []string{"Step 1/2 : RUN seq 10", " ---> Running in abc"}
				for i := 1; i <= 10; i++ {
					want = append(want, fmt.Sprintf("line %d", i))
				}
			}
			if strings.Join(got, "\n") != strings.Join(want, "\n") {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}
