package main

import (
	"strings"
	"testing"
)

// TestDebugListenLoopbackOnly (issue 11 item 11): --debug-listen takes a
// loopback address only, unless --debug-listen-public is given.
func TestDebugListenLoopbackOnly(t *testing.T) {
	for _, tc := range []struct {
		addr   string
		public bool
		ok     bool
	}{
		{"", false, true},
		{"127.0.0.1:6060", false, true},
		{"[::1]:6060", false, true},
		{"localhost:6060", false, true},
		{"127.0.0.2:0", false, true},
		{":6060", false, false}, // every interface
		{"0.0.0.0:6060", false, false},
		{"192.168.1.10:6060", false, false},
		{"debug.example.com:6060", false, false},
		{"0.0.0.0:6060", true, true},
		{"no-port", false, false},
	} {
		err := checkDebugListen(tc.addr, tc.public)
		if (err == nil) != tc.ok {
			t.Errorf("checkDebugListen(%q, %v) = %v, want ok %v", tc.addr, tc.public, err, tc.ok)
		}
		if err != nil && tc.addr != "no-port" && !strings.Contains(err.Error(), "--debug-listen-public") {
			t.Errorf("error %q does not name --debug-listen-public", err)
		}
	}
	out, err := runCLI(t, "", "serve", "--debug-listen", "0.0.0.0:6060")
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("serve --debug-listen 0.0.0.0:6060: %v\n%s", err, out)
	}
}
