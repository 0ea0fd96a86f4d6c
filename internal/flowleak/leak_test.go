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

	"guidedfix/flows/totpswitch"
)

// knownLeaks lists the files that still name totpswitch today, with the
// strings they name; the descriptor work of issue 12 removes them. The test
// fails on any new leak and when a listed one is gone (so the list shrinks).
var knownLeaks = map[string][]string{
	"internal/metrics/metrics.go":           {"restoring"},
	"internal/store/storetest/storetest.go": {"awaiting_password", "awaiting_sms_code", "totpswitch"},
	"internal/support/desk.go": {"activated", "already_totp", "awaiting_email", "awaiting_password", "awaiting_reauth",
		"awaiting_sms_code", "awaiting_totp_code", "choose_method", "confirm_disable", "disabling", "enrolling",
		"offer_setup", "restoring", "sending_sms", "showing_recovery_codes", "totpswitch", "verifying"},
}

// generic are state names that are ordinary words of every flow and of the
// engine (event kinds, portal errors, session endings), not totpswitch's.
var generic = map[string]bool{"done": true, "cancelled": true, "expired": true, "blocked": true, "locked": true, "failed": true}

// TestNoFlowNamedOutsideItsFolder scans every non-test Go file outside
// flows/ and cmd/ for string literals equal to a totpswitch state, its flow
// name, or starting with its message prefix "totp.".
func TestNoFlowNamedOutsideItsFolder(t *testing.T) {
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{totpswitch.Name: true}
	for s, next := range totpswitch.Transitions() {
		for _, n := range append(next, s) {
			if !generic[string(n)] {
				names[string(n)] = true
			}
		}
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
			if (names[v] || strings.HasPrefix(v, "totp.")) && !seen[v] {
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
			t.Errorf("%s names totpswitch's %q (known: %q)", rel, got, want)
		}
	}
	for rel := range knownLeaks {
		if _, ok := found[rel]; !ok {
			t.Errorf("%s no longer names totpswitch: remove it from knownLeaks", rel)
		}
	}
}
