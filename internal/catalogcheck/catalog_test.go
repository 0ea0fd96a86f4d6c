package catalogcheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// languages are the catalogs every en.yaml must have beside it.
var languages = []string{"ms"}

// dynamicIDs lists the ids that the Go source builds at run time instead
// of naming them as a literal, each with the literal prefix the source
// uses. An id is accepted as used when its prefix appears as a string
// literal ("<prefix>") in the Go source. Keep the list short and justified.
var dynamicIDs = map[string]string{
	// adapters/telegram: setMyCommands describes the engine's own
	// commands by "telegram.command."+name (a flow's by its descriptor).
	"telegram.command.cancel":   "telegram.command.",
	"telegram.command.help":     "telegram.command.",
	"telegram.command.language": "telegram.command.",
	// adapters/slack: a flow's own secret kind names its modal by
	// "secret."+field+"."+part (flows/newphone's recovery code).
	"secret.recovery_code.title": "secret.",
	"secret.recovery_code.label": "secret.",
	// adapters/slack: staff usage texts by "slack.staff.usage_"+command.
	"slack.staff.usage_handoff": "slack.staff.usage_",
	"slack.staff.usage_audit":   "slack.staff.usage_",
	// adapters/slack: secret modals by "slack.modal."+part+"."+field
	// (part: title, label; field: password, sms_code, totp_code).
	"slack.modal.title.password":  "slack.modal.",
	"slack.modal.title.sms_code":  "slack.modal.",
	"slack.modal.title.totp_code": "slack.modal.",
	"slack.modal.label.password":  "slack.modal.",
	"slack.modal.label.sms_code":  "slack.modal.",
	"slack.modal.label.totp_code": "slack.modal.",
	// internal/mailtext: Render builds "mail."+kind+".subject" and
	// "mail."+kind+".body" (kind: alert, restored, confirmation, handoff).
	"mail.alert.subject":        "mail.",
	"mail.alert.body":           "mail.",
	"mail.restored.subject":     "mail.",
	"mail.restored.body":        "mail.",
	"mail.confirmation.subject": "mail.",
	"mail.confirmation.body":    "mail.",
	"mail.handoff.subject":      "mail.",
	"mail.handoff.body":         "mail.",
	// ... and the kinds paused, blocked and recovery_used; RenderIn
	// builds "mail.factor."+factor for their Factor.
	"mail.paused.subject":        "mail.",
	"mail.paused.body":           "mail.",
	"mail.blocked.subject":       "mail.",
	"mail.blocked.body":          "mail.",
	"mail.recovery_used.subject": "mail.",
	"mail.recovery_used.body":    "mail.",
	// ... and recovery_replaced and totp_replaced (moving the
	// authenticator app to a new phone).
	"mail.recovery_replaced.subject": "mail.",
	"mail.recovery_replaced.body":    "mail.",
	"mail.totp_replaced.subject":     "mail.",
	"mail.totp_replaced.body":        "mail.",
	"mail.handoff_newphone.subject":  "mail.",
	"mail.handoff_newphone.body":     "mail.",
	"mail.factor.password":           "mail.factor.",
	"mail.factor.sms":                "mail.factor.",
	"mail.factor.totp":               "mail.factor.",
	"mail.factor.recovery":           "mail.factor.",
}

// knownUnused lists ids that no source uses today, found by this test and
// left for their owners to remove or use (the English texts are not ours
// to change). The test fails once one of them is used, so that the list
// stays true.
var knownUnused = map[string]bool{
	// flows/totpswitch no longer ends a flow with this text; its lockout
	// paths use totp.locked and the per-step try counts.
	"totp.too_many_tries": true,
}

// root returns the module root (two levels above this package).
func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r, "go.mod")); err != nil {
		t.Fatalf("module root not found at %s: %v", r, err)
	}
	return r
}

// catalog reads a go-i18n YAML file into id -> plural form -> text; a
// plain text has the single form "".
func catalog(t *testing.T, path string) map[string]map[string]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]map[string]string{}
	for id, v := range raw {
		switch v := v.(type) {
		case string:
			out[id] = map[string]string{"": v}
		case map[string]any:
			forms := map[string]string{}
			for k, s := range v {
				str, ok := s.(string)
				if !ok {
					t.Errorf("%s: %s.%s is not a text", path, id, k)
				}
				forms[k] = str
			}
			out[id] = forms
		default:
			t.Errorf("%s: %s is neither a text nor plural forms", path, id)
		}
	}
	return out
}

// enCatalogs returns the paths of every locales/en.yaml in the tree.
func enCatalogs(t *testing.T, r string) []string {
	t.Helper()
	var paths []string
	err := filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (strings.HasPrefix(d.Name(), ".") || d.Name() == "node_modules") && p != r {
			return filepath.SkipDir
		}
		if !d.IsDir() && d.Name() == "en.yaml" {
			paths = append(paths, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no en.yaml found")
	}
	return paths
}

var fieldRE = regexp.MustCompile(`\.[A-Za-z_][A-Za-z0-9_]*`)
var actionRE = regexp.MustCompile(`\{\{[^}]*\}\}`)

// fields returns the sorted template actions' field references of s
// ({{.X}}, {{if .X}}), one per occurrence, so that a dropped or added
// placeholder shows.
func fields(s string) []string {
	var out []string
	for _, a := range actionRE.FindAllString(s, -1) {
		out = append(out, fieldRE.FindAllString(a, -1)...)
	}
	slices.Sort(out)
	return out
}

// TestCatalogsComplete fails when a key, a plural form or a template field
// differs between en.yaml and a translation beside it.
func TestCatalogsComplete(t *testing.T) {
	r := root(t)
	for _, enPath := range enCatalogs(t, r) {
		rel, _ := filepath.Rel(r, enPath)
		en := catalog(t, enPath)
		for _, lang := range languages {
			p := filepath.Join(filepath.Dir(enPath), lang+".yaml")
			if _, err := os.Stat(p); err != nil {
				t.Errorf("%s has no %s.yaml beside it", rel, lang)
				continue
			}
			tr := catalog(t, p)
			for id, forms := range en {
				tf, ok := tr[id]
				if !ok {
					t.Errorf("%s: %s missing from %s.yaml", rel, id, lang)
					continue
				}
				// Malay has a single plural category (CLDR "other"), but
				// keeping the same forms as English keeps go-i18n happy
				// whichever category it selects.
				if !slices.Equal(sortedKeys(forms), sortedKeys(tf)) {
					t.Errorf("%s: %s has forms %v in en, %v in %s", rel, id, sortedKeys(forms), sortedKeys(tf), lang)
					continue
				}
				for k, s := range forms {
					if a, b := fields(s), fields(tf[k]); !slices.Equal(a, b) {
						t.Errorf("%s: %s[%s] uses %v in en, %v in %s", rel, id, k, a, b, lang)
					}
					if strings.TrimSpace(tf[k]) == "" {
						t.Errorf("%s: %s[%s] is empty in %s", rel, id, k, lang)
					}
				}
			}
			for id := range tr {
				if _, ok := en[id]; !ok {
					t.Errorf("%s: %s is in %s.yaml but not in en.yaml", rel, id, lang)
				}
			}
		}
	}
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// TestCatalogKeysUsed fails when a key of an en.yaml is never named in the
// tree's non-test Go source: as a string literal "id" (a constant such as
// MsgXxx = "id" counts; html templates count), or through a prefix listed
// in dynamicIDs.
func TestCatalogKeysUsed(t *testing.T) {
	r := root(t)
	var src strings.Builder
	err := filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && strings.HasPrefix(d.Name(), ".") && p != r {
			return filepath.SkipDir
		}
		// Go source and the html/template files it embeds (internal/entry
		// names ids as {{.T "id"}}).
		if d.IsDir() || !(strings.HasSuffix(p, ".go") || strings.HasSuffix(p, ".html")) || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		src.Write(b)
		src.WriteByte('\n')
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	code := src.String()
	for _, enPath := range enCatalogs(t, r) {
		rel, _ := filepath.Rel(r, enPath)
		for id := range catalog(t, enPath) {
			base := id
			used := strings.Contains(code, `"`+base+`"`)
			if knownUnused[base] {
				if used {
					t.Errorf("%s: %s is used now: remove it from knownUnused", rel, id)
				}
				continue
			}
			if used {
				continue
			}
			if pre, ok := dynamicIDs[base]; ok && strings.Contains(code, `"`+pre) {
				continue
			}
			t.Errorf("%s: %s is never used in the Go source", rel, id)
		}
	}
}
