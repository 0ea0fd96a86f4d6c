package main

import (
	"bytes"
	"runtime"
	"strings"
	"testing"
)

// TestVersion: version, commit and Go version, one line each (a test
// binary carries no VCS stamp).
func TestVersion(t *testing.T) {
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"version"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 || lines[0] != "guidedfix "+version || !strings.HasPrefix(lines[1], "commit ") || lines[2] != "go "+runtime.Version() {
		t.Fatalf("version printed %q", out.String())
	}
}
