package console

import (
	"context"
	"path/filepath"
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/testkit"
)

var noteIDs = []string{MsgIdleHint, MsgQRRemoved, MsgKeyRemoved, MsgInputEnded, MsgDemoOutbox, MsgDemoRemote}

// TestNotesAreLocalized: every console note exists in en and ms (no
// "[id]"), the Malay one differs from the English one, and the idle hint
// names the console's start command through the platform words, with the
// engine's Text as with the console's own catalog.
func TestNotesAreLocalized(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	withEngine := New(Options{Text: env.Engine.Text})
	fsys, paths := withEngine.Messages()
	if err := env.Engine.Catalog().Load(fsys, paths...); err != nil {
		t.Fatal(err)
	}
	env.Engine.Register(Channel, withEngine)
	own := New(Options{})
	for name, c := range map[string]*Console{"engine": withEngine, "own": own} {
		for _, id := range noteIDs {
			data := map[string]any{"Mail": "m", "SMS": "s", "Log": "l", "Portal": "p"}
			c.setLocale("en")
			en := c.Note(id, data)
			c.setLocale("ms")
			ms := c.Note(id, data)
			if strings.HasPrefix(en, "[") && strings.HasSuffix(en, "]") || strings.HasPrefix(ms, "[") && strings.HasSuffix(ms, "]") || en == ms {
				t.Errorf("%s: %s: en %q, ms %q", name, id, en, ms)
			}
			if strings.Contains(ms, "<no value>") || strings.Contains(en, "<no value>") {
				t.Errorf("%s: %s renders a missing field: %q / %q", name, id, en, ms)
			}
		}
		c.setLocale("ms")
		if hint := c.Note(MsgIdleHint, nil); !strings.Contains(hint, "/start") {
			t.Errorf("%s: idle hint %q does not name /start", name, hint)
		}
	}
}

// TestNotesFollowSessionLocale: with a Malay session, the idle hint, the
// QR and key removal notes and the input-ended note are printed as their
// Malay texts (exactly Note's rendering in ms, which differs from en).
func TestNotesFollowSessionLocale(t *testing.T) {
	out := &testkit.SafeBuffer{}
	c := New(Options{In: strings.NewReader(""), Out: out, QRDir: t.TempDir()})
	s := &bot.Session{Locale: "ms", Done: true}
	handled := 0
	handle := func(ctx context.Context, ev bot.Event) error { handled++; return nil }
	session := func(ctx context.Context) (*bot.Session, error) { return s, nil }
	if err := c.Run(context.Background(), handle, session); err != nil {
		t.Fatal(err)
	}
	ms := c.Note(MsgIdleHint, nil)
	c.setLocale("en")
	if en := c.Note(MsgIdleHint, nil); strings.Contains(out.String(), en) || !strings.Contains(out.String(), ms) {
		t.Fatalf("idle hint: printed %q, want the ms %q", out.String(), ms)
	}
	c.setLocale("ms")
	png := filepath.Join(t.TempDir(), "qr.png")
	// The manual key is the message printed with copyable code (its id is
	// what the engine deletes), whatever the flow calls its reference.
	keyID, err := c.Deliver(context.Background(), c.Conversation(), bot.Reply{Op: bot.OpSend, Text: "key", Code: []string{"ABCD"}, Ref: "any"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []bot.Reply{{Op: bot.OpDelete, MessageID: png}, {Op: bot.OpDelete, MessageID: keyID}} {
		if _, err := c.Deliver(context.Background(), c.Conversation(), r); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range []string{MsgQRRemoved, MsgKeyRemoved} {
		if !strings.Contains(out.String(), c.Note(id, nil)) {
			t.Errorf("%s not printed in ms: %q", id, out.String())
		}
	}

	// Input ends in an unfinished Malay session: the note, then /cancel.
	out2 := &testkit.SafeBuffer{}
	c2 := New(Options{In: strings.NewReader(""), Out: out2})
	s2 := &bot.Session{Locale: "ms", State: "asking"}
	if err := c2.Run(context.Background(), handle, func(ctx context.Context) (*bot.Session, error) { return s2, nil }); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out2.String(), c2.Note(MsgInputEnded, nil)) {
		t.Fatalf("input ended: printed %q, want the ms %q", out2.String(), c2.Note(MsgInputEnded, nil))
	}
	if handled != 3 { // two starts, one /cancel
		t.Fatalf("handled %d events, want 3", handled)
	}
}
