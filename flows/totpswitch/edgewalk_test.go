package totpswitch_test

import (
	"flag"
	"fmt"
	"os"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/testkit"
)

// unreachable lists the edges of the transition table that no test of
// this package takes, each with the reason; TestMain's edge walk fails on
// any other edge not taken, and on a listed one that is taken.
var unreachable = map[bot.Edge]string{}

// TestMain runs the package's tests, whose engines check every state
// change against the table (testkit.StateCheck, strict) and record it,
// and then walks the table: when the whole package ran (no -run, no
// -skip), every edge must have been taken at least once, in either order
// (totpswitch.OrderEnrollThenSwitch, the default, and
// OrderDisableThenEnroll), or be listed in unreachable with its reason.
func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if code == 0 && flag.Lookup("test.run").Value.String() == "" && flag.Lookup("test.skip").Value.String() == "" {
		if missing := walkEdges(); len(missing) > 0 {
			fmt.Fprintln(os.Stderr, "edge walk over the transition table failed (take each edge in a test, or list it in unreachable with the reason):")
			for _, e := range missing {
				fmt.Fprintln(os.Stderr, "   ", e)
			}
			code = 1
		}
	}
	os.Exit(code)
}

// walkEdges returns what the edge walk found wrong: edges not taken and
// not listed, listed edges that were taken, listed edges not in the table.
func walkEdges() []string {
	seen := testkit.SeenEdges(totpswitch.Name)
	var out []string
	inTable := map[bot.Edge]bool{}
	for _, e := range totpswitch.Table().Edges() {
		inTable[e] = true
		_, listed := unreachable[e]
		switch {
		case seen[e] == 0 && !listed:
			out = append(out, e.String())
		case seen[e] > 0 && listed:
			out = append(out, e.String()+" (listed as unreachable, but a test took it)")
		}
	}
	for e := range unreachable {
		if !inTable[e] {
			out = append(out, e.String()+" (listed as unreachable, but not in the table)")
		}
	}
	return out
}
