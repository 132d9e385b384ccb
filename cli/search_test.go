package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/strata-engine/strata/cli/format"
	"github.com/strata-engine/strata/registry"
)

// TestSearchTable: Docker's columns, descriptions cut at 45 characters
// with "…" (one line, whatever the registry sent) unless --no-trunc,
// official images marked [OK].
func TestSearchTable(t *testing.T) {
	long := "An operating system\nbuilt from Debian, with a description longer than a column"
	rows := func(trunc bool) []searchRow {
		return []searchRow{
			{r: registry.SearchResult{Name: "ubuntu", Description: long, StarCount: 17000, IsOfficial: true}, trunc: trunc},
			{r: registry.SearchResult{Name: "me/tool", Description: "short", StarCount: 2}, trunc: trunc},
		}
	}
	for _, tc := range []struct {
		trunc bool
		want  []string
	}{
		{true, []string{
			"NAME      DESCRIPTION                                     STARS     OFFICIAL",
			"ubuntu    An operating system built from Debian, with …   17000     [OK]",
			"me/tool   short                                           2         ",
		}},
		{false, []string{
			"ubuntu    An operating system built from Debian, with a description longer than a column   17000     [OK]",
		}},
	} {
		var out bytes.Buffer
		if err := format.List(&out, searchTable, searchHeaders, rows(tc.trunc)); err != nil {
			t.Fatal(err)
		}
		for _, line := range tc.want {
			if !strings.Contains(out.String(), line+"\n") {
				t.Errorf("trunc=%v: output\n%s\nlacks the line %q", tc.trunc, out.String(), line)
			}
		}
	}
}
