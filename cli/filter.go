package cli

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// filterFlag is a repeatable -f/--filter flag of key=value conditions, as
// Docker's list and prune commands take them. Keys are case-insensitive;
// several values of one key are alternatives or all required, as each key
// defines.
type filterFlag struct {
	m    map[string][]string
	keys []string // in the order given, for stable messages
}

func (f *filterFlag) String() string { return "" }

func (f *filterFlag) Type() string { return "filter" }

func (f *filterFlag) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok {
		return fmt.Errorf("bad format of filter (expected name=value)")
	}
	f.add(strings.ToLower(strings.TrimSpace(k)), strings.TrimSpace(val))
	return nil
}

func (f *filterFlag) add(k, v string) {
	if f.m == nil {
		f.m = make(map[string][]string)
	}
	if _, ok := f.m[k]; !ok {
		f.keys = append(f.keys, k)
	}
	if !slices.Contains(f.m[k], v) {
		f.m[k] = append(f.m[k], v)
	}
}

// get returns the values given for key.
func (f *filterFlag) get(key string) []string { return f.m[key] }

// has reports whether key was given.
func (f *filterFlag) has(key string) bool { _, ok := f.m[key]; return ok }

// validate refuses keys outside allowed with Docker's message.
func (f *filterFlag) validate(allowed ...string) error {
	for _, k := range f.keys {
		if !slices.Contains(allowed, k) {
			return fmt.Errorf("invalid filter '%s'", k)
		}
	}
	return nil
}

// boolValue returns the one boolean value of key: "true"/"1" or
// "false"/"0".
func (f *filterFlag) boolValue(key string) (bool, error) {
	vs := f.m[key]
	if len(vs) != 1 {
		return false, fmt.Errorf("invalid filter '%s': one value expected, got %d", key, len(vs))
	}
	switch strings.ToLower(vs[0]) {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, fmt.Errorf("invalid filter '%s=%s'", key, vs[0])
}

// matchLabels reports whether labels satisfy every label filter: "key"
// requires the label, "key=value" requires that value.
func (f *filterFlag) matchLabels(labels map[string]string) bool {
	for _, cond := range f.m["label"] {
		k, v, hasValue := strings.Cut(cond, "=")
		got, ok := labels[k]
		if !ok || (hasValue && got != v) {
			return false
		}
	}
	return true
}

// parseUntil reads an "until" value as Docker does: a Unix timestamp
// (seconds, optionally with a fraction), an RFC 3339 date or date-time, or
// a Go duration counted back from now.
func parseUntil(v string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(v); err == nil {
		return now.Add(-d), nil
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		whole := int64(secs)
		return time.Unix(whole, int64((secs-float64(whole))*1e9)), nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, v, time.Local); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("invalid filter 'until=%s': not a timestamp or a duration", v)
}
