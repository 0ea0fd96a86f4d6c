// Package flowgraph draws a flow's state machine from its transition
// table, as a Mermaid state diagram (stateDiagram-v2,
// https://mermaid.js.org/syntax/stateDiagram.html) or a Graphviz DOT
// digraph (https://graphviz.org/doc/info/lang.html).
package flowgraph

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"guidedfix/bot"
)

// Graph is a flow's state machine.
type Graph struct {
	// Name is the flow's name (a comment in the output).
	Name string
	// Initial is the state a new session starts in.
	Initial bot.State
	// Transitions maps each state to the states it may move to; a state
	// with no exits is terminal.
	Transitions map[bot.State][]bot.State
	// Note is printed as comment lines above the diagram (implicit exits
	// the table leaves out).
	Note []string
	// Labels, if set, label edges with what makes them (the start edge's
	// From is ""); an edge without a label is drawn bare.
	Labels map[bot.Edge]string
}

// label returns ": label" (Mermaid) for the edge from -> to, or "".
func (g Graph) label(from, to bot.State) string {
	if l := g.Labels[bot.Edge{From: from, To: to}]; l != "" {
		return ": " + l
	}
	return ""
}

// dotLabel returns ` [label="…"]` (DOT) for the edge from -> to, or "".
func (g Graph) dotLabel(from, to bot.State) string {
	if l := g.Labels[bot.Edge{From: from, To: to}]; l != "" {
		return fmt.Sprintf(" [label=%q]", l)
	}
	return ""
}

// Formats are the output formats [Graph.Write] accepts.
var Formats = []string{"mermaid", "dot"}

// Write prints g in format ("mermaid" or "dot") to w, states and edges in
// sorted order so that the output is stable. It returns an error for
// another format or when w fails.
func (g Graph) Write(w io.Writer, format string) error {
	var b strings.Builder
	states := make([]bot.State, 0, len(g.Transitions))
	for s := range g.Transitions {
		states = append(states, s)
	}
	slices.Sort(states)
	switch format {
	case "mermaid":
		fmt.Fprintf(&b, "%%%% %s flow, drawn from its transition table.\n", g.Name)
		for _, n := range g.Note {
			fmt.Fprintf(&b, "%%%% %s\n", n)
		}
		b.WriteString("stateDiagram-v2\n")
		fmt.Fprintf(&b, "    [*] --> %s%s\n", g.Initial, g.label("", g.Initial))
		for _, s := range states {
			for _, to := range sortedCopy(g.Transitions[s]) {
				fmt.Fprintf(&b, "    %s --> %s%s\n", s, to, g.label(s, to))
			}
		}
		for _, s := range states {
			if len(g.Transitions[s]) == 0 {
				fmt.Fprintf(&b, "    %s --> [*]\n", s)
			}
		}
	case "dot":
		fmt.Fprintf(&b, "// %s flow, drawn from its transition table.\n", g.Name)
		for _, n := range g.Note {
			fmt.Fprintf(&b, "// %s\n", n)
		}
		fmt.Fprintf(&b, "digraph %q {\n    rankdir=TB;\n    node [shape=box, style=rounded];\n", g.Name)
		b.WriteString("    start [shape=point];\n")
		for _, s := range states {
			if len(g.Transitions[s]) == 0 {
				fmt.Fprintf(&b, "    %q [peripheries=2];\n", s)
			}
		}
		fmt.Fprintf(&b, "    start -> %q%s;\n", g.Initial, g.dotLabel("", g.Initial))
		for _, s := range states {
			for _, to := range sortedCopy(g.Transitions[s]) {
				fmt.Fprintf(&b, "    %q -> %q%s;\n", s, to, g.dotLabel(s, to))
			}
		}
		b.WriteString("}\n")
	default:
		return fmt.Errorf("unknown format %q: want mermaid or dot", format)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func sortedCopy(s []bot.State) []bot.State {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}
