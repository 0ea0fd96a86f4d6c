package testkit

import (
	"maps"
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
