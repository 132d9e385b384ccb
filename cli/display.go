package cli

import (
	"strings"
	"time"

	units "github.com/docker/go-units"

	"github.com/strata-engine/strata/cli/format"
)

// How list commands show ids, times and sizes: Docker's conventions, kept in
// one place so that every table agrees.

// shortID shows an id as Docker does: without its algorithm, 12 digits.
func shortID(id string) string {
	if _, hex, ok := strings.Cut(id, ":"); ok {
		id = hex
	}
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

// since is "2 hours ago", or "" for an unknown (zero) time.
func since(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return units.HumanDuration(time.Now().UTC().Sub(t)) + " ago"
}

// createdAt is the time as Docker's CreatedAt column prints it:
// "2024-05-01 10:00:00 +0200 CEST", in local time, whole seconds.
func createdAt(t time.Time) string {
	return time.Unix(t.Unix(), 0).String()
}

// size is a byte count in Docker's list precision: "4.26MB".
func size(n int64) string {
	return units.HumanSizeWithPrecision(float64(n), 3)
}

// totalSize is a byte count as Docker's summaries print it: "4.262MB".
func totalSize(n int64) string {
	return units.HumanSize(float64(n))
}

// listFormat picks a list command's format: the user's, else the table
// given; -q (quiet) replaces the default table by the IDs alone.
func listFormat(user, table string, quiet bool) string {
	if user == "" || user == format.Table {
		if quiet {
			return "{{.ID}}"
		}
		return table
	}
	return user
}

// Help texts of the --format flags.
const (
	formatHelp        = `Format the output: "table" (the default), "table TEMPLATE", "json" (one object per line) or a Go TEMPLATE`
	inspectFormatHelp = `Format the output: "json" (one line) or a Go TEMPLATE`
)
