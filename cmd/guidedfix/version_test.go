package main

import (
	"bytes"
	"runtime"
	"runtime/debug"
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

// TestVersionFromBuildInfo: the commit line comes from the VCS stamp of
// the build information (vcs.revision, vcs.time, vcs.modified), then from
// -X main.commit, and otherwise says it is unknown and how to stamp it.
func TestVersionFromBuildInfo(t *testing.T) {
	stamped := &debug.BuildInfo{Main: debug.Module{Path: "guidedfix", Version: "v0.0.0-20261202215853-2622ba213250"},
		Settings: []debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "2622ba2132509e2e04ef4e70fce78c0bcbd73be1"},
			{Key: "vcs.time", Value: "2026-12-02T21:58:53Z"}, {Key: "vcs.modified", Value: "true"}}}
	devel := &debug.BuildInfo{Main: debug.Module{Path: "guidedfix", Version: "(devel)"}}
	gov := "\ngo " + runtime.Version() + "\n"
	for _, tc := range []struct {
		name              string
		bi                *debug.BuildInfo
		ldVersion, commit string
		want              string
	}{
		{"stamped", stamped, "dev", "", "guidedfix v0.0.0-20261202215853-2622ba213250\ncommit 2622ba2132509e2e04ef4e70fce78c0bcbd73be1 (2026-12-02T21:58:53Z, modified)" + gov},
		{"stamped, ldflags version wins", stamped, "v1.4.0", "", "guidedfix v1.4.0\ncommit 2622ba2132509e2e04ef4e70fce78c0bcbd73be1 (2026-12-02T21:58:53Z, modified)" + gov},
		{"ldflags commit", devel, "v1.4.0", "abc1234", "guidedfix v1.4.0\ncommit abc1234" + gov},
		{"nothing", devel, "dev", "", "guidedfix dev\ncommit " + noStamp + gov},
		{"no build info", nil, "dev", "", "guidedfix dev\ncommit " + noStamp + gov},
	} {
		if got := versionFrom(tc.bi, tc.ldVersion, tc.commit); got != tc.want {
			t.Errorf("%s:\n%q\nwant\n%q", tc.name, got, tc.want)
		}
	}
}
