package newphone_test

import (
	"testing"

	"guidedfix/flows/newphone"
	"guidedfix/internal/flowgraph"
	"guidedfix/internal/testkit"
)

// TestStateMermaidFromTable checks that state.mermaid is the drawing of
// the transition table (regenerate with `guidedfix flows graph newphone`).
func TestStateMermaidFromTable(t *testing.T) {
	g := flowgraph.Graph{Name: newphone.Name, Initial: newphone.StateAwaitingEmail, Transitions: newphone.States(),
		Note: []string{
			"Edges are single state changes (the engine checks each one against this table); a turn",
			"through a transient state (verifying_recovery, enrolling, replacing) takes two.",
			"Every non-terminal state may also go to blocked (the user blocked the bot) and expired (idle).",
		}}
	testkit.CheckMermaid(t, "state.mermaid", g, "guidedfix flows graph newphone > flows/newphone/state.mermaid")
}
