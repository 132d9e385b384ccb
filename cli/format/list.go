package format

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"unicode"
)

// Format keywords accepted by --format besides templates.
const (
	// Table selects the command's default table; "table TEMPLATE" makes a
	// table of the given columns.
	Table = "table"
	// JSON prints one JSON object per row (per line).
	JSON = "json"
)

// IsTable reports whether format asks for a table with a header row.
func IsTable(format string) bool { return strings.HasPrefix(format, Table) }

// templateText turns a --format value into template text: "json" becomes
// {{json .}}, a "table" prefix is dropped, surrounding spaces are trimmed and
// the escapes \t and \n typed on a command line become a tab and a newline.
func templateText(format string) string {
	switch format {
	case JSON:
		return "{{json .}}"
	case Table:
		// Callers replace a bare "table" by their default table; what is
		// left is a table without columns.
		return ""
	}
	format = strings.TrimPrefix(format, Table)
	format = strings.Trim(format, " ")
	return strings.NewReplacer(`\t`, "\t", `\n`, "\n").Replace(format)
}

// Tabwriter settings matching Docker's tables: columns at least 10 wide,
// separated by 3 spaces.
const (
	minWidth = 10
	tabWidth = 1
	padding  = 3
)

// List writes rows through format, one line per row. Headers maps field
// names to column titles for table formats; a field without an entry gets
// its name split into upper-case words ("CreatedSince" → "CREATED SINCE").
//
// Nothing is written unless every row renders: a template error is returned
// (matching ErrTemplate) with the output untouched.
func List[T any](w io.Writer, format string, headers map[string]string, rows []T) error {
	tmpl, err := Parse(templateText(format))
	if err != nil {
		return err
	}
	var body bytes.Buffer
	for _, row := range rows {
		b, err := execute(tmpl, row)
		if err != nil {
			return err
		}
		body.Write(b)
		body.WriteByte('\n')
	}
	if !IsTable(format) {
		_, err := body.WriteTo(w)
		return err
	}

	// The header row is the same template run on the column titles. Like
	// Docker, a template that cannot run on titles (index on a string, say)
	// still gets whatever it produced before failing.
	var head bytes.Buffer
	_ = tmpl.Funcs(headerFuncs).Execute(&head, titles[T](headers))
	tw := tabwriter.NewWriter(w, minWidth, tabWidth, padding, ' ', 0)
	head.WriteByte('\n')
	if _, err := head.WriteTo(tw); err != nil {
		return err
	}
	if _, err := body.WriteTo(tw); err != nil {
		return err
	}
	return tw.Flush()
}

// titles builds the header values for row type T: the given titles plus a
// derived one for every other exported field or method of T.
func titles[T any](headers map[string]string) map[string]string {
	m := make(map[string]string)
	t := reflect.TypeFor[T]()
	for _, name := range memberNames(t) {
		m[name] = Title(name)
	}
	for k, v := range headers {
		m[k] = v
	}
	return m
}

// memberNames lists the exported fields and methods of t (or of what t
// points to).
func memberNames(t reflect.Type) []string {
	var names []string
	if t.Kind() != reflect.Pointer && t.Kind() != reflect.Interface {
		names = appendMethods(names, reflect.PointerTo(t))
	}
	names = appendMethods(names, t)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() == reflect.Struct {
		for _, f := range reflect.VisibleFields(t) {
			if f.IsExported() && !f.Anonymous {
				names = append(names, f.Name)
			}
		}
	}
	return names
}

func appendMethods(names []string, t reflect.Type) []string {
	for i := range t.NumMethod() {
		if m := t.Method(i); m.IsExported() && m.Name != "MarshalJSON" {
			names = append(names, m.Name)
		}
	}
	return names
}

// Title derives a column title from a field name: camel-case words split
// and upper-cased ("CreatedSince" → "CREATED SINCE", "ID" → "ID").
func Title(name string) string {
	rs := []rune(name)
	var b strings.Builder
	for i, r := range rs {
		if i > 0 && unicode.IsUpper(r) {
			prevLower := unicode.IsLower(rs[i-1]) || unicode.IsDigit(rs[i-1])
			acronymEnd := unicode.IsUpper(rs[i-1]) && i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if prevLower || acronymEnd {
				b.WriteByte(' ')
			}
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// Object marshals the exported fields of the struct v as a JSON object with
// sorted keys, the shape Docker gives list rows under {{json .}}. Row types
// call it from their MarshalJSON method.
func Object(v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	for rv.Kind() == reflect.Pointer {
		rv = rv.Elem()
	}
	if rv.Kind() != reflect.Struct {
		return nil, fmt.Errorf("format: object of %T: not a struct", v)
	}
	m := make(map[string]any)
	for _, f := range reflect.VisibleFields(rv.Type()) {
		if !f.IsExported() || f.Anonymous {
			continue
		}
		name := f.Name
		if tag, _, _ := strings.Cut(f.Tag.Get("json"), ","); tag == "-" {
			continue
		} else if tag != "" {
			name = tag
		}
		m[name] = rv.FieldByIndex(f.Index).Interface()
	}
	// encoding/json writes map keys sorted. It also escapes "<" and ">",
	// which Docker's rows show as \u003cnone\u003e; keep that.
	b, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	return b, nil
}
