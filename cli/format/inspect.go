package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"text/template"
)

// Inspector renders objects the way Docker's inspect commands do: with no
// format, an indented JSON array of all objects; with "json", the same array
// on one line; otherwise the template once per object, one line each.
// Objects are collected by Add and written by Flush.
type Inspector struct {
	w    io.Writer
	tmpl *template.Template // nil for the JSON forms
	json bool               // compact JSON
	objs []any              // JSON forms
	buf  bytes.Buffer       // template form
}

// NewInspector returns an Inspector writing to w. A template that does not
// parse is reported now (matching ErrTemplate), before any output.
func NewInspector(w io.Writer, format string) (*Inspector, error) {
	in := &Inspector{w: w}
	switch format {
	case "":
	case JSON:
		in.json = true
	default:
		t, err := Parse(format)
		if err != nil {
			return nil, err
		}
		in.tmpl = t
	}
	return in, nil
}

// Add renders obj. A template is run first on obj itself and, if that fails
// (a key that only exists in the JSON form, such as a label name), on obj's
// JSON form decoded into maps, where a missing key is an error rather than
// "<no value>". The error of that second run is the one returned.
func (in *Inspector) Add(obj any) error {
	if in.tmpl == nil {
		in.objs = append(in.objs, obj)
		return nil
	}
	b, err := execute(in.tmpl, obj)
	if err != nil {
		raw, merr := json.Marshal(obj)
		if merr != nil {
			return err
		}
		var generic any
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if derr := dec.Decode(&generic); derr != nil {
			return fmt.Errorf("read inspect data: %w", derr)
		}
		strict, cerr := in.tmpl.Clone()
		if cerr != nil {
			return err
		}
		b, err = execute(strict.Option("missingkey=error"), generic)
		if err != nil {
			return err
		}
	}
	in.buf.Write(b)
	in.buf.WriteByte('\n')
	return nil
}

// Flush writes what Add collected. With no objects the JSON forms write
// "[]" and the template form an empty line, as Docker does.
func (in *Inspector) Flush() error {
	if in.tmpl != nil {
		if in.buf.Len() == 0 {
			_, err := io.WriteString(in.w, "\n")
			return err
		}
		_, err := in.buf.WriteTo(in.w)
		return err
	}
	objs := in.objs
	if objs == nil {
		objs = []any{}
	}
	var (
		b   []byte
		err error
	)
	if in.json {
		b, err = json.Marshal(objs)
	} else {
		b, err = json.MarshalIndent(objs, "", "    ")
	}
	if err != nil {
		return err
	}
	_, err = in.w.Write(append(b, '\n'))
	return err
}
