package main

import (
	"cmp"
	"fmt"
	"runtime"
	"runtime/debug"
)

// commit may be set at build time with -ldflags "-X main.commit=…" where
// the build has no VCS stamp (a Docker build without .git, a git worktree
// or GOFLAGS=-buildvcs=false).
var commit = ""

// noStamp ends "commit unknown" when the binary carries neither a VCS
// stamp nor main.commit, saying how to get one.
const noStamp = "unknown (no VCS stamp: build in a git clone, where go build stamps it, " +
	"or add -ldflags \"-X main.commit=$(git rev-parse HEAD)\")"

// versionText returns the `guidedfix version` text of this binary:
// versionFrom of runtime/debug.ReadBuildInfo.
func versionText() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		bi = nil
	}
	return versionFrom(bi, version, commit)
}

// versionFrom returns three lines: "guidedfix VERSION" (ldVersion from
// -ldflags "-X main.version=…" unless "dev", else the module version of
// bi when it is not "(devel)", else "dev"); "commit REVISION (TIME[,
// modified])" from bi's VCS stamp (vcs.revision, vcs.time, vcs.modified:
// go build's -buildvcs), else "commit REVISION" from ldCommit (-X
// main.commit=…), else "commit unknown (…how to stamp it)"; and
// "go GOVERSION". bi may be nil (no build information).
func versionFrom(bi *debug.BuildInfo, ldVersion, ldCommit string) string {
	v, c := cmp.Or(ldVersion, "dev"), cmp.Or(ldCommit, noStamp)
	if bi != nil {
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
		switch {
		case rev != "" && at != "":
			c = fmt.Sprintf("%s (%s%s)", rev, at, modified)
		case rev != "":
			c = rev + modified
		}
	}
	return fmt.Sprintf("guidedfix %s\ncommit %s\ngo %s\n", v, c, runtime.Version())
}
