package runtime

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/strata-engine/strata/runtime/monitor"
	"github.com/strata-engine/strata/runtime/spec"
)

// LogsOptions select what Logs writes.
type LogsOptions struct {
	Follow     bool
	Tail       int // last N lines; < 0 all
	Timestamps bool
	// Since and Until, when not zero, keep only the lines written in
	// [Since, Until]; a followed log ends once Until has passed.
	Since, Until time.Time
	Stdout       io.Writer
	Stderr       io.Writer
}

// followPoll is how often a followed log is checked for more output. It
// only paces the reader; no result depends on it.
const followPoll = 100 * time.Millisecond

// Logs writes a container's output from ctr.log. With Follow it keeps
// writing until the container stops or ctx ends.
func (r *Runtime) Logs(ctx context.Context, ref string, opts LogsOptions) error {
	c, err := r.Inspect(ctx, ref)
	if err != nil {
		return err
	}
	id := c.Config.ID
	f, err := os.Open(filepath.Join(r.dir(id), spec.LogFile))
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	if opts.Tail >= 0 {
		if err := seekTail(f, opts.Tail); err != nil {
			return err
		}
	}
	rd := bufio.NewReader(f)
	var partial []byte
	for {
		line, err := rd.ReadBytes('\n')
		partial = append(partial, line...)
		if err == nil {
			if past := writeEntry(partial, opts); past {
				return nil
			}
			partial = partial[:0]
			continue
		}
		if err != io.EOF {
			return err
		}
		if !opts.Follow || (!opts.Until.IsZero() && time.Now().After(opts.Until)) {
			return nil
		}
		// At the end: done once the container has stopped and every
		// last line it wrote has been read.
		if c, err := r.load(id); err != nil || c.State.Status != spec.Running {
			if n, _ := rd.Peek(1); len(n) == 0 {
				return nil
			}
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(followPoll):
		}
	}
}

// writeEntry writes one log line as opts ask, and reports whether it was
// written after opts.Until (the reader stops there: lines are in time
// order).
func writeEntry(line []byte, opts LogsOptions) (past bool) {
	var e monitor.LogEntry
	if json.Unmarshal(line, &e) != nil {
		return false
	}
	if !opts.Until.IsZero() && e.Time.After(opts.Until) {
		return true
	}
	if !opts.Since.IsZero() && e.Time.Before(opts.Since) {
		return false
	}
	w := opts.Stdout
	if e.Stream == "stderr" {
		w = opts.Stderr
	}
	if w == nil {
		return false
	}
	if opts.Timestamps {
		io.WriteString(w, e.Time.Format(time.RFC3339Nano)+" ")
	}
	io.WriteString(w, e.Log)
	return false
}

// seekTail positions f at the start of its last n lines.
func seekTail(f *os.File, n int) error {
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	end := fi.Size()
	pos := end
	buf := make([]byte, 32<<10)
	count := 0
	for pos > 0 {
		step := min(int64(len(buf)), pos)
		pos -= step
		if _, err := f.ReadAt(buf[:step], pos); err != nil {
			return err
		}
		chunk := buf[:step]
		for i := len(chunk) - 1; i >= 0; i-- {
			if chunk[i] != '\n' || pos+int64(i) == end-1 {
				continue
			}
			count++
			if count == n {
				_, err := f.Seek(pos+int64(i)+1, io.SeekStart)
				return err
			}
		}
	}
	if n == 0 {
		_, err = f.Seek(end, io.SeekStart)
		return err
	}
	_, err = f.Seek(0, io.SeekStart)
	return err
}
