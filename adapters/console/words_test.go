package console

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/testkit"
)

// TestConsoleWords: the console supplies its own platform words
// (bot.WordSource): commands are typed lines "/<name>", and buttons are
// chosen, not tapped (a terminal has no buttons). A guided change run on
// the console shows them and never the engine's default words.
func TestConsoleWords(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	var out bytes.Buffer
	c := New(Options{In: strings.NewReader("/help\n"), Out: &out, QRDir: t.TempDir()})
	fsys, paths := c.Messages()
	if err := env.Engine.Catalog().Load(fsys, paths...); err != nil {
		t.Fatal(err)
	}
	def := env.Engine.Words("en", Channel) // before Register: bot.DefaultWording
	env.Engine.Register(Channel, c)
	cmds := env.Engine.Commands()
	for _, loc := range []string{"en", "ms"} {
		w, d := env.Engine.Words(loc, Channel), env.Engine.Words(loc, "no-such-channel")
		for _, cmd := range cmds {
			if got := w.Typed[cmd]; got != bot.Word("/"+cmd) {
				t.Errorf("%s: Typed[%s] = %q, want /%s", loc, cmd, got, cmd)
			}
			if s := w.Say[cmd]; !strings.HasSuffix(string(s), " /"+cmd) || s == d.Say[cmd] {
				t.Errorf("%s: Say[%s] = %q, want the console's own, ending in /%s (default %q)", loc, cmd, s, cmd, d.Say[cmd])
			}
		}
		if w.Tap == "" || w.Tap == d.Tap {
			t.Errorf("%s: Tap = %q, want the console's own verb, not the default %q", loc, w.Tap, d.Tap)
		}
		if !strings.HasSuffix(string(w.Begin), " /"+cmds[0]) {
			t.Errorf("%s: Begin = %q, want it to end in /%s", loc, w.Begin, cmds[0])
		}
	}
	w := env.Engine.Words("en", Channel)
	err := c.Run(context.Background(), env.Engine.Handle, func(ctx context.Context) (*bot.Session, error) {
		return env.Engine.Session(ctx, c.Conversation())
	})
	if err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if n := strings.Count(got, w.Say["cancel"].Cap()); n < 2 { // the welcome and the help
		t.Errorf("%d lines tell to %q, want the welcome and the help:\n%s", n, w.Say["cancel"].Cap(), got)
	}
	for _, other := range []bot.Word{def.Say["cancel"], def.Tap} {
		if strings.Contains(strings.ToLower(got), string(other)+" ") {
			t.Errorf("the console shows the default word %q:\n%s", other, got)
		}
	}
	if strings.Contains(got, "{{") || strings.Contains(got, "<no value>") {
		t.Errorf("a text was not rendered:\n%s", got)
	}
}
