package totpswitch_test

import (
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/flowgraph"
	"guidedfix/internal/testkit"
)

// TestStateMermaidFromTable checks that state.mermaid is the drawing of
// the transition table with its labels, as `guidedfix flows graph
// totpswitch` prints it (regenerate with `go run ./cmd/guidedfix flows
// graph totpswitch > flows/totpswitch/state.mermaid`).
func TestStateMermaidFromTable(t *testing.T) {
	g := flowgraph.Graph{Name: totpswitch.Name, Initial: totpswitch.StateAwaitingEmail, Transitions: totpswitch.Transitions(),
		Labels: totpswitch.EdgeLabels(),
		Note: []string{
			"Edges are single state changes (the engine checks each one against this table);",
			"a turn through a transient state (sending_sms, disabling, enrolling, verifying) takes two.",
			"Once a disable was tried and no app is verified, an ending passes through restoring,",
			"which turns SMS 2FA back on first.",
		}}
	testkit.CheckMermaid(t, "state.mermaid", g, "go run ./cmd/guidedfix flows graph totpswitch > flows/totpswitch/state.mermaid")
}

// TestEveryEdgeLabelled: each edge of the table says what makes it, and
// no label names an edge the table lacks.
func TestEveryEdgeLabelled(t *testing.T) {
	labels := totpswitch.EdgeLabels()
	tb := totpswitch.Table()
	n := 0
	for from, next := range tb.Next {
		for _, to := range next {
			n++
			if labels[bot.Edge{From: from, To: to}] == "" {
				t.Errorf("edge %s -> %s has no label", from, to)
			}
		}
	}
	if len(labels) != n+1 { // + the start edge
		t.Errorf("%d labels for %d edges and the start", len(labels), n)
	}
}
