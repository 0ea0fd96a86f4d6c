package newphone_test

import (
	"bytes"
	"os"
	"testing"

	"guidedfix/flows/newphone"
	"guidedfix/internal/flowgraph"
)

// TestStateMermaidFromTable checks that state.mermaid is the drawing of
// the transition table (regenerate with `guidedfix flows graph newphone`).
func TestStateMermaidFromTable(t *testing.T) {
	raw, err := os.ReadFile("state.mermaid")
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	g := flowgraph.Graph{Name: newphone.Name, Initial: newphone.StateAwaitingEmail, Transitions: newphone.States(),
		Note: []string{
			"Edges are single state changes (the engine checks each one against this table); a turn",
			"through a transient state (verifying_recovery, enrolling, replacing) takes two.",
			"Every non-terminal state may also go to blocked (the user blocked the bot) and expired (idle).",
		}}
	if err := g.Write(&want, "mermaid"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, want.Bytes()) {
		t.Fatalf("state.mermaid differs from the table; regenerate it with `guidedfix flows graph newphone > flows/newphone/state.mermaid`")
	}
}
