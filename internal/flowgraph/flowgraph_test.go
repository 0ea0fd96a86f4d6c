package flowgraph

import (
	"strings"
	"testing"

	"guidedfix/bot"
)

func TestWrite(t *testing.T) {
	g := Graph{Name: "tiny", Initial: "ask", Transitions: map[bot.State][]bot.State{
		"ask": {"done", "ask"}, "done": nil}, Note: []string{"a note"}}
	for format, want := range map[string]string{
		"mermaid": "%% tiny flow, drawn from its transition table.\n%% a note\nstateDiagram-v2\n" +
			"    [*] --> ask\n    ask --> ask\n    ask --> done\n    done --> [*]\n",
		"dot": "// tiny flow, drawn from its transition table.\n// a note\ndigraph \"tiny\" {\n    rankdir=TB;\n" +
			"    node [shape=box, style=rounded];\n    start [shape=point];\n    \"done\" [peripheries=2];\n" +
			"    start -> \"ask\";\n    \"ask\" -> \"ask\";\n    \"ask\" -> \"done\";\n}\n",
	} {
		var b strings.Builder
		if err := g.Write(&b, format); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("%s:\n%s\nwant\n%s", format, b.String(), want)
		}
	}
	g.Labels = map[bot.Edge]string{{To: "ask"}: "/start", {From: "ask", To: "done"}: "answers"}
	for format, want := range map[string]string{
		"mermaid": "%% tiny flow, drawn from its transition table.\n%% a note\nstateDiagram-v2\n" +
			"    [*] --> ask: /start\n    ask --> ask\n    ask --> done: answers\n    done --> [*]\n",
		"dot": "// tiny flow, drawn from its transition table.\n// a note\ndigraph \"tiny\" {\n    rankdir=TB;\n" +
			"    node [shape=box, style=rounded];\n    start [shape=point];\n    \"done\" [peripheries=2];\n" +
			"    start -> \"ask\" [label=\"/start\"];\n    \"ask\" -> \"ask\";\n    \"ask\" -> \"done\" [label=\"answers\"];\n}\n",
	} {
		var b strings.Builder
		if err := g.Write(&b, format); err != nil {
			t.Fatal(err)
		}
		if b.String() != want {
			t.Errorf("labelled %s:\n%s\nwant\n%s", format, b.String(), want)
		}
	}
	if err := g.Write(&strings.Builder{}, "svg"); err == nil || err.Error() != `unknown format "svg": want mermaid or dot` {
		t.Fatalf("svg: %v", err)
	}
}
