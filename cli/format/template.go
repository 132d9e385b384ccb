// Package format renders command output the way Docker's --format flag does:
// Go templates with Docker's function set, "table" templates whose header row
// is derived from the column names, the "json" shorthand (one JSON object per
// line) and the indented JSON arrays of inspect.
//
// Every renderer executes the whole template into memory before writing
// anything, so a template that fails (unknown field, bad function argument)
// leaves the output untouched and the caller can report the error alone.
package format

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"text/template"
)

// ErrTemplate marks errors caused by the user's template, at parse or at
// execution time. Their text starts with "template parsing error: " as
// Docker's does.
var ErrTemplate = errors.New("template parsing error")

// templateError wraps an error from text/template so that it prints as
// Docker's "template parsing error: …" and matches ErrTemplate.
type templateError struct{ err error }

func (e *templateError) Error() string        { return "template parsing error: " + e.err.Error() }
func (e *templateError) Unwrap() error        { return e.err }
func (e *templateError) Is(target error) bool { return target == ErrTemplate }

// funcs are the functions every template gets, named and behaving as in
// Docker's templates so that existing --format strings keep working.
var funcs = template.FuncMap{
	"json":     jsonString,
	"join":     join,
	"split":    strings.Split,
	"upper":    strings.ToUpper,
	"lower":    strings.ToLower,
	"title":    title,
	"pad":      pad,
	"truncate": truncate,
}

// headerFuncs replace funcs while a table's header row is rendered: the
// header "value" of every column is its title, a string, so each function
// that would transform or reject a string returns it unchanged instead.
// pad is kept so that headers stay aligned with padded cells.
var headerFuncs = template.FuncMap{
	"json":     func(v string) string { return v },
	"join":     func(v, _ string) string { return v },
	"split":    func(v, _ string) string { return v },
	"upper":    func(v string) string { return v },
	"lower":    func(v string) string { return v },
	"title":    func(v string) string { return v },
	"truncate": func(v string, _ int) string { return v },
}

// Parse parses text as a template with Docker's functions. A syntax error
// is returned as "template parsing error: …" and matches ErrTemplate.
func Parse(text string) (*template.Template, error) {
	t, err := template.New("").Funcs(funcs).Parse(text)
	if err != nil {
		return nil, &templateError{err}
	}
	return t, nil
}

// execute runs t on data into a buffer, wrapping failures as template
// errors.
func execute(t *template.Template, data any) ([]byte, error) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		return nil, &templateError{err}
	}
	return buf.Bytes(), nil
}

// jsonString encodes v as one line of JSON without HTML escaping, so that
// "<none>" stays readable.
func jsonString(v any) (string, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// join joins the elements of a slice or array (formatted with fmt.Sprint)
// or the values of a map (sorted, so the output is stable) with sep.
func join(v any, sep string) (string, error) {
	if v == nil {
		return "", nil
	}
	if ss, ok := v.([]string); ok {
		return strings.Join(ss, sep), nil
	}
	rv := reflect.ValueOf(v)
	var parts []string
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		for i := range rv.Len() {
			parts = append(parts, fmt.Sprint(rv.Index(i).Interface()))
		}
	case reflect.Map:
		for _, k := range rv.MapKeys() {
			parts = append(parts, fmt.Sprint(rv.MapIndex(k).Interface()))
		}
		sort.Strings(parts)
	default:
		return "", fmt.Errorf("expected slice, got %T", v)
	}
	return strings.Join(parts, sep), nil
}

// title upper-cases the first letter of every space-separated word. It is
// meant for ASCII words such as states and types, like Docker's.
func title(s string) string {
	b := []byte(s)
	start := true
	for i, c := range b {
		if start && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		start = c == ' ' || c == '\t' || c == '\n'
	}
	return string(b)
}

// pad surrounds a non-empty s with prefix spaces before and suffix after.
func pad(s string, prefix, suffix int) string {
	if s == "" {
		return s
	}
	return strings.Repeat(" ", prefix) + s + strings.Repeat(" ", suffix)
}

// truncate cuts s to at most n bytes.
func truncate(s string, n int) string {
	if n < 0 || len(s) <= n {
		return s
	}
	return s[:n]
}

// Execute renders data through the template text once, as Docker does for
// formats that describe a whole report rather than one row. Nothing is
// written if the template fails.
func Execute(w io.Writer, text string, data any) error {
	t, err := Parse(text)
	if err != nil {
		return err
	}
	b, err := execute(t, data)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
