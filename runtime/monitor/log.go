package monitor

import (
	"bytes"
	"encoding/json"
	"os"
	"sync"
	"time"
)

// LogEntry is one line of ctr.log, in the shape of Docker's json-file
// driver so that tools reading those logs read ours.
type LogEntry struct {
	Log    string    `json:"log"`
	Stream string    `json:"stream"`
	Time   time.Time `json:"time"`
}

// maxPartial is where a line without a newline is cut into its own entry,
// as Docker does at 16 KiB.
const maxPartial = 16 << 10

// logWriter appends entries to ctr.log, one per line of output.
type logWriter struct {
	mu      sync.Mutex
	f       *os.File
	partial map[string][]byte
}

func openLog(path string) (*logWriter, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return nil, err
	}
	return &logWriter{f: f, partial: map[string][]byte{}}, nil
}

func (l *logWriter) write(stream string, p []byte) {
	l.mu.Lock()
	defer l.mu.Unlock()
	buf := append(l.partial[stream], p...)
	for {
		i := bytes.IndexByte(buf, '\n')
		if i < 0 {
			break
		}
		l.entry(stream, buf[:i+1])
		buf = buf[i+1:]
	}
	if len(buf) >= maxPartial {
		l.entry(stream, buf)
		buf = nil
	}
	l.partial[stream] = append([]byte(nil), buf...)
}

// flush writes out what is left without a newline.
func (l *logWriter) flush() {
	l.mu.Lock()
	defer l.mu.Unlock()
	for stream, buf := range l.partial {
		if len(buf) > 0 {
			l.entry(stream, buf)
		}
		delete(l.partial, stream)
	}
}

func (l *logWriter) entry(stream string, line []byte) {
	b, _ := json.Marshal(LogEntry{Log: string(line), Stream: stream, Time: time.Now().UTC()})
	l.f.Write(append(b, '\n'))
}

func (l *logWriter) close() error {
	l.flush()
	return l.f.Close()
}

func parseJSON(p []byte, v any) error { return json.Unmarshal(p, v) }
