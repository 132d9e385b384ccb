package format

import (
	"errors"
	"strings"
	"testing"
)

type row struct {
	ID           string
	Repository   string
	Tag          string
	CreatedSince string
	Labels       map[string]string
	Names        []string
}

func (r row) MarshalJSON() ([]byte, error) { return Object(r) }

func (r row) Short() string { return r.ID[:3] }

var rows = []row{
	{ID: "abcdef", Repository: "busybox", Tag: "latest", CreatedSince: "2 hours ago",
		Labels: map[string]string{"b": "2", "a": "1"}, Names: []string{"x", "y"}},
	{ID: "123456", Repository: "<none>", Tag: "<none>", CreatedSince: "3 days ago"},
}

var headers = map[string]string{"ID": "IMAGE ID", "CreatedSince": "CREATED"}

func TestList(t *testing.T) {
	tests := []struct {
		name, format, want string
	}{
		{"plain", `{{.ID}} {{.Repository}}`, "abcdef busybox\n123456 <none>\n"},
		{"escapes", `{{.ID}}\t{{.Tag}}`, "abcdef\tlatest\n123456\t<none>\n"},
		{"table", `table {{.Repository}}\t{{.Tag}}\t{{.ID}}\t{{.CreatedSince}}`,
			"REPOSITORY   TAG       IMAGE ID   CREATED\n" +
				"busybox      latest    abcdef     2 hours ago\n" +
				"<none>       <none>    123456     3 days ago\n"},
		{"table derived title and method", `table {{.Short}}\t{{.CreatedSince}}`,
			"SHORT     CREATED\nabc       2 hours ago\n123       3 days ago\n"},
		{"table funcs keep titles", `table {{upper .Repository}}\t{{join .Names ","}}\t{{json .Labels}}\t{{truncate .ID 2}}`,
			"REPOSITORY   NAMES     LABELS              IMAGE ID\n" +
				"BUSYBOX      x,y       {\"a\":\"1\",\"b\":\"2\"}   ab\n" +
				"<NONE>                 null                12\n"},
		{"json", "json",
			`{"CreatedSince":"2 hours ago","ID":"abcdef","Labels":{"a":"1","b":"2"},"Names":["x","y"],"Repository":"busybox","Tag":"latest"}` + "\n" +
				`{"CreatedSince":"3 days ago","ID":"123456","Labels":null,"Names":null,"Repository":"\u003cnone\u003e","Tag":"\u003cnone\u003e"}` + "\n"},
		{"funcs", `{{lower "ABC"}} {{title "up to date"}} {{split "a:b" ":"}} {{pad .Tag 1 2}}| {{println "x"}}`,
			"abc Up To Date [a b]  latest  | x\n\n" + "abc Up To Date [a b]  <none>  | x\n\n"},
		{"join map sorted", `{{join .Labels "+"}}`, "1+2\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := List(&b, tt.format, headers, rows); err != nil {
				t.Fatalf("List: %v", err)
			}
			if got := b.String(); got != tt.want {
				t.Errorf("got\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestListEmptyTable(t *testing.T) {
	var b strings.Builder
	if err := List(&b, "table {{.ID}}\t{{.Tag}}", headers, []row(nil)); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "IMAGE ID   TAG\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestListErrors(t *testing.T) {
	tests := []struct {
		name, format, want string
	}{
		{"parse", `{{.ID`, `template parsing error: template: :1: unclosed action`},
		{"unknown field", `table {{.Nope}}`, `template parsing error: template: :1:2: executing "" at <.Nope>: can't evaluate field Nope in type format.row`},
		{"unknown function", `{{nope .ID}}`, `template parsing error: template: :1: function "nope" not defined`},
		{"bad argument", `{{join .ID ","}}`, `template parsing error: template: :1:2: executing "" at <join .ID ",">: error calling join: expected slice, got string`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			err := List(&b, tt.format, headers, rows)
			if err == nil {
				t.Fatalf("got no error, want %q", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("got error %q, want %q", err, tt.want)
			}
			if !errors.Is(err, ErrTemplate) {
				t.Errorf("got %v, want an error matching ErrTemplate", err)
			}
			if b.Len() != 0 {
				t.Errorf("got output %q, want none", b.String())
			}
		})
	}
}

func TestTitle(t *testing.T) {
	for in, want := range map[string]string{
		"ID": "ID", "CreatedSince": "CREATED SINCE", "RepoTags": "REPO TAGS",
		"HTTPServer": "HTTP SERVER", "Size": "SIZE", "IPv4": "I PV4", "LocalVolumes": "LOCAL VOLUMES",
	} {
		if got := Title(in); got != want {
			t.Errorf("Title(%q): got %q, want %q", in, got, want)
		}
	}
}

type obj struct {
	Id     string
	Config struct {
		Labels map[string]string
		Cmd    []string
	}
}

func TestInspect(t *testing.T) {
	a := obj{Id: "sha256:aa"}
	a.Config.Labels = map[string]string{"k": "v"}
	a.Config.Cmd = []string{"sh"}
	b := obj{Id: "sha256:bb"}

	tests := []struct {
		name, format string
		objs         []any
		want         string
	}{
		{"default", "", []any{a}, "[\n    {\n        \"Id\": \"sha256:aa\",\n        \"Config\": {\n            \"Labels\": {\n                \"k\": \"v\"\n            },\n            \"Cmd\": [\n                \"sh\"\n            ]\n        }\n    }\n]\n"},
		{"default empty", "", nil, "[]\n"},
		{"json", "json", []any{a, b}, `[{"Id":"sha256:aa","Config":{"Labels":{"k":"v"},"Cmd":["sh"]}},{"Id":"sha256:bb","Config":{"Labels":null,"Cmd":null}}]` + "\n"},
		{"json empty", "json", nil, "[]\n"},
		{"template", "{{.Id}} {{json .Config.Cmd}}", []any{a, b}, "sha256:aa [\"sh\"]\nsha256:bb null\n"},
		{"template label", "{{.Config.Labels.k}}", []any{a}, "v\n"},
		{"template missing label", "{{.Config.Labels.x}}", []any{a}, "<no value>\n"},
		{"template empty", "{{.Id}}", nil, "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			in, err := NewInspector(&out, tt.format)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range tt.objs {
				if err := in.Add(o); err != nil {
					t.Fatal(err)
				}
			}
			if err := in.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := out.String(); got != tt.want {
				t.Errorf("got\n%s\nwant\n%s", got, tt.want)
			}
		})
	}
}

func TestInspectErrors(t *testing.T) {
	if _, err := NewInspector(&strings.Builder{}, "{{.Id"); err == nil || !errors.Is(err, ErrTemplate) {
		t.Errorf("got %v, want a template parsing error", err)
	}
	var out strings.Builder
	in, err := NewInspector(&out, "{{.Config.Nope}}")
	if err != nil {
		t.Fatal(err)
	}
	err = in.Add(obj{Id: "x"})
	want := `template parsing error: template: :1:9: executing "" at <.Config.Nope>: map has no entry for key "Nope"`
	if err == nil || err.Error() != want {
		t.Errorf("got %v, want %s", err, want)
	}
	if out.Len() != 0 {
		t.Errorf("got output %q, want none", out.String())
	}
}
