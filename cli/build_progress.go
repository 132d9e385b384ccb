package cli

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
)

// ttyView is build's progress view on a terminal: the step lines as in
// plain mode, but each RUN's output shown in a window of its last few
// lines that collapses when the step ends. A failed step's whole output
// is printed when the build ends.
type ttyView struct {
	mu      sync.Mutex
	w       io.Writer
	partial []byte       // step text not yet ending in a newline
	runBuf  bytes.Buffer // the current RUN's whole output
	window  []string     // its last lines, as drawn
	drawn   int          // lines of the window on screen
}

const ttyWindow = 6

func newTTYView(w io.Writer) *ttyView { return &ttyView{w: w} }

// Write takes the builder's step lines.
func (v *ttyView) Write(p []byte) (int, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.partial = append(v.partial, p...)
	for {
		i := bytes.IndexByte(v.partial, '\n')
		if i < 0 {
			break
		}
		line := string(v.partial[:i])
		v.partial = v.partial[i+1:]
		v.clear()
		if strings.HasPrefix(line, "Step ") {
			v.runBuf.Reset()
			v.window = nil
		}
		fmt.Fprintln(v.w, line)
		v.draw()
	}
	return len(p), nil
}

// run returns the writer for RUN output.
func (v *ttyView) run() io.Writer { return runWriter{v} }

type runWriter struct{ v *ttyView }

func (r runWriter) Write(p []byte) (int, error) {
	v := r.v
	v.mu.Lock()
	defer v.mu.Unlock()
	v.runBuf.Write(p)
	lines := strings.Split(strings.TrimRight(v.runBuf.String(), "\n"), "\n")
	if len(lines) > ttyWindow {
		lines = lines[len(lines)-ttyWindow:]
	}
	v.clear()
	v.window = lines
	v.draw()
	return len(p), nil
}

// clear erases the window from the screen.
func (v *ttyView) clear() {
	for ; v.drawn > 0; v.drawn-- {
		fmt.Fprint(v.w, "\x1b[1A\x1b[2K")
	}
}

func (v *ttyView) draw() {
	for _, l := range v.window {
		if len(l) > 100 {
			l = l[:100]
		}
		fmt.Fprintf(v.w, "\x1b[2m │ %s\x1b[0m\n", strings.ReplaceAll(l, "\r", ""))
		v.drawn++
	}
}

// close collapses the window; after a failure it prints the failed
// step's whole output.
func (v *ttyView) close(failed bool) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.clear()
	if failed && v.runBuf.Len() > 0 {
		v.w.Write(v.runBuf.Bytes())
	}
}
