package archive

import (
	"crypto/sha256"
	"hash"
	"io"
)

// diffIDReader buffers the layer stream and hashes it for the DiffID on a
// goroutine of its own, so that hashing the stream overlaps with parsing
// it and with the sink hashing file contents: on the import path those
// two hashes are most of the work.
//
// It reads r into two buffers in turn. The hasher is handed each chunk as
// it arrives and reads it while the caller copies out of it; both only read
// it. A buffer is refilled only once the hasher has acknowledged the chunk
// it held, which is the one before the chunk now being consumed. The
// caller's own slices are never shared with the hasher.
//
// Its owner must call close, on every path, to stop the goroutine.
type diffIDReader struct {
	r       io.Reader
	bufs    [2][]byte
	cur     int    // buffer being consumed
	data    []byte // what is left of it
	err     error  // sticky: what r returned last, io.EOF included
	srcErr  error  // the first error other than io.EOF from r
	n       int64  // bytes read from r
	pending int    // chunks handed to the hasher and not yet acknowledged

	h      hash.Hash
	work   chan []byte
	done   chan struct{} // one per chunk hashed; buffered so the hasher never waits
	exited chan struct{}
	closed bool
}

const diffIDChunk = 256 << 10

func newDiffIDReader(r io.Reader) *diffIDReader {
	d := &diffIDReader{
		r:      r,
		h:      sha256.New(),
		work:   make(chan []byte, 2),
		done:   make(chan struct{}, 2),
		exited: make(chan struct{}),
	}
	d.bufs[0] = make([]byte, diffIDChunk)
	d.bufs[1] = make([]byte, diffIDChunk)
	go d.hash(d.work)
	return d
}

// hash gets its channel as an argument: close may run before it starts.
func (d *diffIDReader) hash(work <-chan []byte) {
	defer close(d.exited)
	for chunk := range work {
		d.h.Write(chunk)
		d.done <- struct{}{}
	}
}

func (d *diffIDReader) Read(p []byte) (int, error) {
	if len(d.data) == 0 {
		if d.err != nil {
			return 0, d.err
		}
		d.fill()
		if len(d.data) == 0 {
			return 0, d.err
		}
	}
	n := copy(p, d.data)
	d.data = d.data[n:]
	return n, nil
}

// fill reads the next chunk into the other buffer, once the hasher is done
// with what that buffer held.
func (d *diffIDReader) fill() {
	next := 1 - d.cur
	for d.pending > 1 {
		<-d.done
		d.pending--
	}
	buf := d.bufs[next]
	// Gather a quarter buffer at least, as r may give little at a time
	// (a pipe gives 64 KiB), to hand the hasher fewer, larger chunks.
	n := 0
	for n < len(buf)/4 && d.err == nil {
		var m int
		m, d.err = d.r.Read(buf[n:])
		n += m
	}
	if d.err != nil && d.err != io.EOF && d.srcErr == nil {
		d.srcErr = d.err
	}
	d.n += int64(n)
	d.cur, d.data = next, buf[:n]
	if n > 0 {
		d.work <- buf[:n]
		d.pending++
	}
}

// sum waits for the hasher to finish what it was given and returns the
// digest of everything read. Call it only after reading to the end.
func (d *diffIDReader) sum() []byte {
	d.close()
	return d.h.Sum(nil)
}

// close stops the hasher and waits for it to exit. It may be called more
// than once.
func (d *diffIDReader) close() {
	if !d.closed {
		d.closed = true
		close(d.work)
		<-d.exited
	}
}
