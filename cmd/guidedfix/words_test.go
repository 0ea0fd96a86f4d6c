package main

import (
	"context"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"guidedfix/adapters/console"
	"guidedfix/adapters/slack"
	"guidedfix/adapters/telegram"
)

// TestEveryTextRendersOnEveryPlatform renders every text of the engine
// and of every flow, in every language, on each platform as serve and
// demo wire them (Telegram, Slack with the slash command /helpdesk, the
// console): each renders (no "[id]", no "<no value>" from a platform word
// the texts lack), and no Slack text names the default /guidedfix.
func TestEveryTextRendersOnEveryPlatform(t *testing.T) {
	a, err := openApp(context.Background(), &globalFlags{dataDir: t.TempDir()}, openOptions{engine: true, logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	eng := a.engine
	if _, err := telegram.New(telegram.Options{Token: "123:test", Engine: eng}); err != nil {
		t.Fatal(err)
	}
	if _, err := slack.New(slack.Options{BotToken: "xoxb-test", AppToken: "xapp-test", Command: "/helpdesk", Engine: eng}); err != nil {
		t.Fatal(err)
	}
	con := console.New(console.Options{In: strings.NewReader(""), Out: io.Discard})
	fsys, paths := con.Messages()
	if err := eng.Catalog().Load(fsys, paths...); err != nil {
		t.Fatal(err)
	}
	eng.Register(console.Channel, con)

	ids := map[string]string{} // id -> the text, for its fields
	for _, dir := range []string{"../../bot/locales", "../../flows"} {
		err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || d.Name() != "en.yaml" {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			var m map[string]any
			if err := yaml.Unmarshal(b, &m); err != nil {
				return err
			}
			for id, v := range m {
				s, _ := v.(string)
				if f, ok := v.(map[string]any); ok {
					s, _ = f["other"].(string)
				}
				ids[id] = s
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(ids) < 140 {
		t.Fatalf("read %d ids", len(ids))
	}
	field := regexp.MustCompile(`\{\{[^}]*?\.([A-Z][A-Za-z0-9_]*)`)
	sorted := make([]string, 0, len(ids))
	for id := range ids {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	helpdesk := 0
	for _, id := range sorted {
		data := map[string]any{"Count": 2}
		for _, m := range field.FindAllStringSubmatch(ids[id], -1) {
			if m[1] != "W" && m[1] != "Count" {
				data[m[1]] = "v"
			}
		}
		for _, ch := range []string{telegram.Channel, slack.Channel, console.Channel} {
			for _, loc := range []string{"en", "ms"} {
				got := eng.Text(loc, ch, id, data)
				if strings.HasPrefix(got, "[") || strings.Contains(got, "<no value>") || strings.Contains(got, "{{") {
					t.Errorf("%s on %s in %s: %q", id, ch, loc, got)
				}
				if ch == slack.Channel {
					if strings.Contains(got, "/guidedfix") {
						t.Errorf("%s on Slack in %s names /guidedfix: %q", id, loc, got)
					}
					if strings.Contains(got, "/helpdesk") {
						helpdesk++
					}
				}
			}
		}
	}
	t.Logf("%d ids rendered on 3 platforms in 2 languages; %d Slack texts name /helpdesk", len(sorted), helpdesk)
	if helpdesk < 20 {
		t.Errorf("%d Slack texts name /helpdesk, want the command instructions of every flow", helpdesk)
	}
}
