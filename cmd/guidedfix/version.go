package main

import (
	"cmp"
	"fmt"
	"runtime"
	"runtime/debug"
)

// commit may be set at build time with -ldflags "-X main.commit=…" where
// the build has no VCS stamp (a Docker build without .git).
var commit = ""

// versionText returns three lines: "guidedfix VERSION" (-ldflags
// "-X main.version=…", else the module version, else "dev"), "commit
// REVISION (TIME[, modified])" from the build's VCS stamp
// (runtime/debug.ReadBuildInfo, go build's -buildvcs), else "commit
// REVISION" from main.commit, or "commit unknown", and "go GOVERSION".
func versionText() string {
	v, commit := version, cmp.Or(commit, "unknown")
	if bi, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
			v = bi.Main.Version
		}
		var rev, at, modified string
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.time":
				at = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = ", modified"
				}
			}
		}
		if rev != "" {
			commit = fmt.Sprintf("%s (%s%s)", rev, at, modified)
		}
	}
	return fmt.Sprintf("guidedfix %s\ncommit %s\ngo %s\n", v, commit, runtime.Version())
}
