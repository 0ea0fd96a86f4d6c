package flowleak

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/flows/totpswitch"
)

// knownLeaks lists the files that still name a flow today, with the
// strings they name. The test fails on any new leak and when a listed one
// is gone (so the list shrinks); the descriptor work of issue 12 emptied
// it: the engine, adapters, support desk and metrics read the flows'
// bot.Descriptor instead.
var knownLeaks = map[string][]string{}

// generic are state names that are ordinary words of every flow and of the
// engine (event kinds, portal errors, session endings), not one flow's.
var generic = map[string]bool{"done": true, "cancelled": true, "expired": true, "blocked": true, "locked": true, "failed": true}

// flow is what the check knows of one flow: its name, transition table,
// descriptor and the prefix of its message ids.
type flow struct {
	name      string
	states    map[bot.State][]bot.State
	desc      bot.Descriptor
	msgPrefix string
}

// flows are the flows under flows/ (add a new one here).
func flows() []flow {
	return []flow{
		{totpswitch.Name, totpswitch.Transitions(), bot.Describe(totpswitch.New(totpswitch.Options{Core: struct{ totpswitch.Core }{}})), "totp."},
		{newphone.Name, newphone.States(), bot.Describe(newphone.New(newphone.Options{Core: struct{ newphone.Core }{}})), "newphone."},
	}
}

// TestNoFlowNamedOutsideItsFolder scans every non-test Go file outside
// flows/ and cmd/ for string literals equal to a flow's state (but the
// generic ones), its name, one of its start commands or its start-payload
// prefix, or starting with its message prefix ("totp.", "newphone.").
func TestNoFlowNamedOutsideItsFolder(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	var prefixes []string
	for _, f := range flows() {
		names[f.name] = true
		for s, next := range f.states {
			for _, n := range append(next, s) {
				if !generic[string(n)] {
					names[string(n)] = true
				}
			}
		}
		for _, c := range f.desc.Commands {
			names[c.Name] = true
		}
		if f.desc.PayloadPrefix != "" {
			names[f.desc.PayloadPrefix] = true
		}
		prefixes = append(prefixes, f.msgPrefix)
	}
	if len(names) < 25 {
		t.Fatalf("only %d names to look for: the flows' tables are not read", len(names))
	}
	hasPrefix := func(v string) bool {
		for _, p := range prefixes {
			if strings.HasPrefix(v, p) {
				return true
			}
		}
		return false
	}
	found := map[string][]string{}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == "flows" || rel == "cmd" || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		f, err := parser.ParseFile(token.NewFileSet(), rel, src, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		seen := map[string]bool{}
		ast.Inspect(f, func(n ast.Node) bool {
			lit, ok := n.(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				return true
			}
			v, err := strconv.Unquote(lit.Value)
			if err != nil {
				return true
			}
			if (names[v] || hasPrefix(v)) && !seen[v] {
				seen[v] = true
				found[rel] = append(found[rel], v)
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel, got := range found {
		sort.Strings(got)
		want := knownLeaks[rel]
		if strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s names a flow's %q (known: %q)", rel, got, want)
		}
	}
	for rel := range knownLeaks {
		if _, ok := found[rel]; !ok {
			t.Errorf("%s no longer names a flow: remove it from knownLeaks", rel)
		}
	}
}
