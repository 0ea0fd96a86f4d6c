package main

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// readmeGraphStart and readmeGraphEnd enclose the README's copy of
// `guidedfix flows graph totpswitch` (a ```mermaid block).
const (
	readmeGraphStart = "<!-- guidedfix flows graph totpswitch: begin -->\n```mermaid\n"
	readmeGraphEnd   = "```\n<!-- guidedfix flows graph totpswitch: end -->"
)

// TestReadmeFlowGraphIsCurrent: the diagram in README.md is exactly what
// `guidedfix flows graph totpswitch` prints from the transition table.
func TestReadmeFlowGraphIsCurrent(t *testing.T) {
	var out bytes.Buffer
	cmd := newRootCmd()
	cmd.SetOut(&out)
	cmd.SetArgs([]string{"flows", "graph", "totpswitch"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), readmeGraphStart)
	embedded, _, ok2 := strings.Cut(rest, readmeGraphEnd)
	if !ok || !ok2 {
		t.Fatalf("README.md has no block between %q and %q", readmeGraphStart, readmeGraphEnd)
	}
	if embedded != out.String() {
		t.Fatalf("README.md's flow graph is stale; replace it with the output of `guidedfix flows graph totpswitch`:\n%s", out.String())
	}
}
