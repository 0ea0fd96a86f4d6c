package config

import (
	"strings"
	"testing"
)

func TestSecretEntry(t *testing.T) {
	c := Default()
	if got := c.SecretEntry("telegram"); got != EntryChat {
		t.Fatalf("without entry.public_url: %q, want chat", got)
	}
	c.Entry.PublicURL = "https://entry.example.com"
	c.Secrets.Entry.Slack = EntryChat
	if got := c.SecretEntry("telegram"); got != EntryPage {
		t.Fatalf("telegram with entry.public_url: %q, want page (the default)", got)
	}
	if got := c.SecretEntry("slack"); got != EntryChat {
		t.Fatalf("slack set to chat: %q", got)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
}

func TestSecretEntryFromFileAndEnv(t *testing.T) {
	path := writeFile(t, "entry:\n  public_url: https://entry.example.com/gf\n  listen: 127.0.0.1:9999\nsecrets:\n  entry:\n    slack: chat\n")
	c := mustLoad(t, path, "GUIDEDFIX_SECRETS__ENTRY__TELEGRAM=page")
	if c.Entry.PublicURL != "https://entry.example.com/gf" || c.Entry.Listen != "127.0.0.1:9999" ||
		c.Secrets.Entry.Telegram != EntryPage || c.Secrets.Entry.Slack != EntryChat {
		t.Fatalf("loaded %+v %+v", c.Entry, c.Secrets)
	}
}

func TestEntryValidation(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*Config)
		key  string
	}{
		{"plain http", func(c *Config) { c.Entry.PublicURL = "http://entry.example.com" }, "entry.public_url"},
		{"query", func(c *Config) { c.Entry.PublicURL = "https://entry.example.com/?a=1" }, "entry.public_url"},
		{"relative", func(c *Config) { c.Entry.PublicURL = "/entry" }, "entry.public_url"},
		{"listen", func(c *Config) { c.Entry.PublicURL, c.Entry.Listen = "https://e.example.com", "8090" }, "entry.listen"},
		{"page without url", func(c *Config) { c.Secrets.Entry.Telegram = EntryPage }, "secrets.entry.telegram"},
		{"unknown mode", func(c *Config) { c.Secrets.Entry.Slack = "modal" }, "secrets.entry.slack"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := Default()
			tc.set(&c)
			err := c.Validate()
			if err == nil || !strings.HasPrefix(err.Error(), tc.key+":") {
				t.Fatalf("Validate() = %v, want an error for %s", err, tc.key)
			}
		})
	}
	c := Default()
	c.Entry.PublicURL = "http://127.0.0.1:8090"
	if err := c.Validate(); err != nil {
		t.Fatalf("loopback http refused: %v", err)
	}
}
