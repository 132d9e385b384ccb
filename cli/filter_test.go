package cli

import (
	"testing"
	"time"
)

func TestFilterFlag(t *testing.T) {
	var f filterFlag
	for _, v := range []string{"dangling=true", "Label=a=b", "label=c", "label=c"} {
		if err := f.Set(v); err != nil {
			t.Fatalf("Set(%q): %v", v, err)
		}
	}
	if err := f.Set("nonsense"); err == nil {
		t.Error("Set(nonsense): got no error")
	}
	if got := f.get("label"); len(got) != 2 || got[0] != "a=b" || got[1] != "c" {
		t.Errorf("got labels %q, want [a=b c]", got)
	}
	if err := f.validate("dangling", "label"); err != nil {
		t.Errorf("validate: %v", err)
	}
	if err := f.validate("label"); err == nil || err.Error() != "invalid filter 'dangling'" {
		t.Errorf("got %v, want invalid filter 'dangling'", err)
	}
	tests := []struct {
		labels map[string]string
		want   bool
	}{
		{map[string]string{"a": "b", "c": ""}, true},
		{map[string]string{"a": "x", "c": ""}, false},
		{map[string]string{"a": "b"}, false},
		{nil, false},
	}
	for _, tt := range tests {
		if got := f.matchLabels(tt.labels); got != tt.want {
			t.Errorf("matchLabels(%v): got %v, want %v", tt.labels, got, tt.want)
		}
	}
}

func TestParseUntil(t *testing.T) {
	now := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2h", now.Add(-2 * time.Hour)},
		{"1700000000", time.Unix(1700000000, 0)},
		{"1700000000.5", time.Unix(1700000000, 5e8)},
		{"2024-01-02T03:04:05Z", time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := parseUntil(tt.in, now)
		if err != nil || !got.Equal(tt.want) {
			t.Errorf("parseUntil(%q): got %v, %v, want %v", tt.in, got, err, tt.want)
		}
	}
	if _, err := parseUntil("yesterday", now); err == nil {
		t.Error("parseUntil(yesterday): got no error")
	}
}
