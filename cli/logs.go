package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/strata-engine/strata/runtime"
)

type logsOptions struct {
	follow       bool
	tail         string
	timestamps   bool
	since, until string
}

func (a *app) newLogsCommand() *cobra.Command {
	var o logsOptions
	c := &cobra.Command{
		Use:   "logs [OPTIONS] CONTAINER",
		Short: "Fetch the logs of a container",
		Args:  exactArgs(1),
		Annotations: map[string]string{
			annotAliases: "strata container logs, strata logs",
		},
		RunE: func(c *cobra.Command, args []string) error {
			tail := -1
			if o.tail != "all" {
				n, err := strconv.Atoi(o.tail)
				if err != nil {
					return fmt.Errorf("invalid value for \"tail\": %q: must be a number or \"all\"", o.tail)
				}
				if n >= 0 {
					tail = n
				}
			}
			now := time.Now()
			since, err := parseLogTime("since", o.since, now)
			if err != nil {
				return err
			}
			until, err := parseLogTime("until", o.until, now)
			if err != nil {
				return err
			}
			rt, _, err := a.runtime()
			if err != nil {
				return err
			}
			ctr, err := lookup(c.Context(), rt, args[0])
			if err != nil {
				return err
			}
			return rt.Logs(c.Context(), ctr.ID(), runtime.LogsOptions{
				Follow: o.follow, Tail: tail, Timestamps: o.timestamps, Since: since, Until: until,
				Stdout: a.out, Stderr: a.err,
			})
		},
	}
	f := c.Flags()
	f.BoolVarP(&o.follow, "follow", "f", false, "Follow log output")
	f.StringVarP(&o.tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	f.BoolVarP(&o.timestamps, "timestamps", "t", false, "Show timestamps")
	f.StringVar(&o.since, "since", "", `Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	f.StringVar(&o.until, "until", "", `Show logs before a timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	return c
}

// parseLogTime reads a --since or --until value as Docker does: a
// duration before now ("42m", "1h30m"), Unix seconds with an optional
// fraction ("1700000000.5"), or a date and time, RFC 3339 or without its
// zone (local time) or seconds or time. "" is no bound.
func parseLogTime(flag, v string, now time.Time) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if sec, frac, ok := strings.Cut(v, "."); isDigits(sec) && (!ok || isDigits(frac)) {
		s, err := strconv.ParseInt(sec, 10, 64)
		if err == nil {
			ns := int64(0)
			if ok {
				frac = (frac + "000000000")[:9]
				ns, _ = strconv.ParseInt(frac, 10, 64)
			}
			return time.Unix(s, ns), nil
		}
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05Z07:00"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02T15:04:05.999999999", "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &usageError{fmt.Sprintf("invalid value for %q: %q is neither a timestamp nor a duration", flag, v)}
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
