package testkit

import (
	"flag"
	"fmt"
	"maps"
	"os"
	"slices"
	"sync"
	"testing"

	"guidedfix/bot"
)

// edgeLog holds every state change the engines of this test binary made,
// by flow (see StateCheck and SeenEdges).
var edgeLog = struct {
	mu    sync.Mutex
	edges map[string]map[bot.Edge]int
}{edges: map[string]map[bot.Edge]int{}}

// RecordEdge adds one state change of flow to the test binary's edge log
// (SeenEdges); StateCheck's Seen calls it, harnesses that build their own
// engine may too.
func RecordEdge(flow string, e bot.Edge) {
	edgeLog.mu.Lock()
	defer edgeLog.mu.Unlock()
	m := edgeLog.edges[flow]
	if m == nil {
		m = map[bot.Edge]int{}
		edgeLog.edges[flow] = m
	}
	m[e]++
}

// SeenEdges returns a copy of the state changes of flow recorded so far in
// this test binary, each with how many times it was made. An edge-walk
// test reads it in TestMain after m.Run.
func SeenEdges(flow string) map[bot.Edge]int {
	edgeLog.mu.Lock()
	defer edgeLog.mu.Unlock()
	return maps.Clone(edgeLog.edges[flow])
}

// StateCheck returns the engine's state-table check for tests: strict (a
// change the flow's transition table does not list fails the turn with
// bot.ErrUnlistedTransition), every change recorded in the edge log
// (SeenEdges), and an unlisted one reported with t.Errorf as well, so that
// a test that tolerates failed turns still fails.
func StateCheck(t testing.TB) bot.StateCheck {
	return bot.StateCheck{Strict: true, Seen: func(c bot.StateChange) {
		RecordEdge(c.Flow, c.Edge)
		if !c.Listed {
			t.Errorf("flow %s: state change %s is not in the transition table", c.Flow, c.Edge)
		}
	}}
}

// WalkEdges compares the state changes of flow recorded so far with tb:
// it returns, sorted, every edge of tb not taken and not in unreachable,
// every edge in unreachable that was taken, and every edge in
// unreachable that tb does not have. unreachable maps an edge to the
// reason no test can take it.
func WalkEdges(flow string, tb bot.Table, unreachable map[bot.Edge]string) []string {
	seen := SeenEdges(flow)
	var out []string
	inTable := map[bot.Edge]bool{}
	for _, e := range tb.Edges() {
		inTable[e] = true
		_, listed := unreachable[e]
		switch {
		case seen[e] == 0 && !listed:
			out = append(out, e.String())
		case seen[e] > 0 && listed:
			out = append(out, e.String()+" (listed as unreachable, but a test took it)")
		}
	}
	var stale []string
	for e := range unreachable {
		if !inTable[e] {
			stale = append(stale, e.String()+" (listed as unreachable, but not in the table)")
		}
	}
	slices.Sort(stale)
	return append(out, stale...)
}

// walkReport runs WalkEdges, prints its problems or its summary to
// stderr and returns 1 when there were problems, else 0.
func walkReport(flow string, tb bot.Table, unreachable map[bot.Edge]string) int {
	if problems := WalkEdges(flow, tb, unreachable); len(problems) > 0 {
		fmt.Fprintf(os.Stderr, "edge walk over the %s transition table failed (take each edge in a test, or list it as unreachable with the reason):\n", flow)
		for _, p := range problems {
			fmt.Fprintln(os.Stderr, "   ", p)
		}
		return 1
	}
	fmt.Fprintf(os.Stderr, "edge walk: %d edges of the %s transition table taken, %d listed as unreachable\n",
		len(tb.Edges())-len(unreachable), flow, len(unreachable))
	return 0
}

func flagSet(name string) bool {
	f := flag.Lookup(name)
	return f != nil && f.Value.String() != ""
}
