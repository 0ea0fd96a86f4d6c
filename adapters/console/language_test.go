package console

import (
	"bytes"
	"strings"
	"testing"

	"guidedfix/bot"
)

// TestLanguageCommandAtASecretPrompt: "/language" (with or without an
// argument) is a command also while a password is expected, so it is
// never taken for the password; the language buttons are picked by
// label or number like any other.
func TestLanguageCommandAtASecretPrompt(t *testing.T) {
	c := New(Options{In: strings.NewReader(""), Out: &bytes.Buffer{}})
	for _, line := range []string{"/language", "/Language ms"} {
		ev := c.event(line, bot.SecretPassword)
		if ev.Kind != bot.KindCommand || ev.Command != bot.CommandLanguage || ev.Secret != "" {
			t.Fatalf("%q read as %s %q", line, ev.Kind, ev.Command)
		}
	}
	if ev := c.event("/language ms", bot.SecretNone); ev.Text != "ms" {
		t.Fatalf("argument %q", ev.Text)
	}
	c.buttons = []bot.Button{{Label: "English", Data: "lang.en"}, {Label: "Bahasa Melayu", Data: "lang.ms"}}
	for _, line := range []string{"2", "bahasa melayu"} {
		if ev := c.event(line, bot.SecretNone); ev.Kind != bot.KindButton || ev.Data != "lang.ms" {
			t.Fatalf("%q read as %s %q", line, ev.Kind, ev.Data)
		}
	}
}
