package catalogcheck

import (
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestNoChannelVariants fails when a catalog (every locales/*.yaml) has a
// key with "@": texts are not copied per platform ("<id>@slack"); the
// platform's words reach one text as template data ({{.W.Say.cancel}},
// bot/words.go, issue 12).
func TestNoChannelVariants(t *testing.T) {
	r := root(t)
	n := 0
	for _, enPath := range enCatalogs(t, r) {
		paths, err := filepath.Glob(filepath.Join(filepath.Dir(enPath), "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			rel, _ := filepath.Rel(r, p)
			for id := range catalog(t, p) {
				n++
				if strings.Contains(id, "@") {
					t.Errorf("%s: %s is a channel variant: word the one text with {{.W.…}} instead", rel, id)
				}
			}
		}
	}
	if n < 200 {
		t.Fatalf("read %d keys, want the whole tree's catalogs", n)
	}
}

// platformWording matches what only one platform says: a slash command
// ("/cancel") or the verb for pressing a button ("Tap", Malay "tekan"),
// outside the template actions that stand for them.
var platformWording = regexp.MustCompile(`(^|[\s("])/[a-z0-9]+|\b(?i:tap|tekan|menekan)\b`)

// platformWordingAllowed lists the engine and flow texts that may name a
// platform's way anyway, with the reason.
var platformWordingAllowed = map[string]bool{
	// Answered only where the bot cannot delete what the user typed (a
	// Slack DM, bot.Event.Undeletable), so the private form's button is
	// the one way in.
	"engine.typed_secret":   true,
	"engine.typed_password": true,
}

// TestEngineAndFlowTextsUsePlatformWords fails when a text of the engine
// (bot/locales) or of a flow (flows/*/locales), in any language, names a
// slash command or says "tap" itself instead of using the adapter's words
// ({{.W.Say.cancel}}, {{.W.Begin}}, {{.W.Tap}}, bot.Words): such a text
// is wrong on the other platforms (Slack's configured command, the
// console's "choose").
func TestEngineAndFlowTextsUsePlatformWords(t *testing.T) {
	r := root(t)
	dirs, err := filepath.Glob(filepath.Join(r, "flows", "*", "locales"))
	if err != nil {
		t.Fatal(err)
	}
	dirs = append(dirs, filepath.Join(r, "bot", "locales"))
	if len(dirs) < 3 {
		t.Fatalf("found %d catalog folders: %v", len(dirs), dirs)
	}
	checked := 0
	for _, d := range dirs {
		paths, err := filepath.Glob(filepath.Join(d, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range paths {
			rel, _ := filepath.Rel(r, p)
			for id, forms := range catalog(t, p) {
				if platformWordingAllowed[id] || strings.HasPrefix(id, "engine.words.") {
					continue
				}
				for form, s := range forms {
					checked++
					bare := actionRE.ReplaceAllString(s, "")
					if m := platformWording.FindString(bare); m != "" {
						t.Errorf("%s: %s[%s] says %q: use the platform's words ({{.W.…}})", rel, id, form, strings.TrimSpace(m))
					}
				}
			}
		}
	}
	if checked < 100 {
		t.Fatalf("checked %d texts", checked)
	}
}
