package archive

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"testing"
	"testing/iotest"
)

func TestDiffIDReader(t *testing.T) {
	sizes := []int{0, 1, 511, diffIDChunk - 1, diffIDChunk, diffIDChunk + 1, 3*diffIDChunk + 7}
	wrappers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"plain", func(r io.Reader) io.Reader { return r }},
		{"one byte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
		{"data and EOF", iotest.DataErrReader},
	}
	for _, size := range sizes {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i * 7)
		}
		want := sha256.Sum256(data)
		for _, w := range wrappers {
			t.Run(fmt.Sprintf("%d/%s", size, w.name), func(t *testing.T) {
				d := newDiffIDReader(w.wrap(bytes.NewReader(data)))
				defer d.close()
				if err := iotest.TestReader(d, data); err != nil {
					t.Fatal(err)
				}
				if d.n != int64(size) {
					t.Errorf("n: got %d, want %d", d.n, size)
				}
				if got := d.sum(); !bytes.Equal(got, want[:]) {
					t.Errorf("sum: got %x, want %x", got, want)
				}
			})
		}
	}
}

func TestDiffIDReaderError(t *testing.T) {
	errRead := errors.New("read error")
	d := newDiffIDReader(io.MultiReader(bytes.NewReader(make([]byte, 1000)), iotest.ErrReader(errRead)))
	got, err := io.ReadAll(d)
	if !errors.Is(err, errRead) || len(got) != 1000 {
		t.Errorf("got %d bytes and %v, want 1000 and %v", len(got), err, errRead)
	}
	if d.srcErr != errRead {
		t.Errorf("srcErr: got %v, want %v", d.srcErr, errRead)
	}
	d.close()
	d.close() // twice is fine
}
