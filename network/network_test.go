package network

import "testing"

func TestValidName(t *testing.T) {
	for s, want := range map[string]bool{
		"": false, "a": true, "bridge": true, "my_net.1-x": true, "9": true,
		"-a": false, "_a": false, ".a": false, "a b": false, "a/b": false, "é": false, "a$": false,
	} {
		if got := validName(s); got != want {
			t.Errorf("validName(%q) = %v, want %v", s, got, want)
		}
	}
	if !validBridge("strata0") || !validBridge("abcdefghijklmno") || validBridge("abcdefghijklmnop") || validBridge("-x") {
		t.Error("validBridge: wrong on the 15-byte limit or the first character")
	}
}
