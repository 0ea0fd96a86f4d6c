package config

import (
	"net/url"
)

// Where secrets are entered ([SecretsConfig]).
const (
	// EntryChat: in the chat (Telegram deletes the message, Slack uses a
	// modal).
	EntryChat = "chat"
	// EntryPage: on the secure entry page ([EntryConfig]); the chat stays
	// as the fallback.
	EntryPage = "page"
)

// EntryConfig configures the secure entry page (internal/entry), served
// by `guidedfix serve` on its own listener behind the operator's HTTPS
// terminator. It is on when PublicURL is set.
type EntryConfig struct {
	// Listen is the page's local address, host:port; default
	// "127.0.0.1:8090" (the HTTPS terminator in front connects to it).
	Listen string `koanf:"listen"`
	// PublicURL is the page's public https:// base URL, e.g.
	// "https://entry.example.com"; links are PublicURL + "/e/<token>".
	// Empty (default) turns the page off.
	PublicURL string `koanf:"public_url"`
}

// Enabled reports whether the entry page runs (PublicURL is set).
func (c EntryConfig) Enabled() bool { return c.PublicURL != "" }

// SecretsConfig chooses, per platform, where customers enter passwords
// and codes: [EntryChat] or [EntryPage]. Empty means page when
// entry.public_url is set and chat otherwise ([Config.SecretEntry]).
type SecretsConfig struct {
	// Entry holds the choice per platform: secrets.entry.telegram and
	// secrets.entry.slack.
	Entry SecretEntryConfig `koanf:"entry"`
}

// SecretEntryConfig is [SecretsConfig.Entry].
type SecretEntryConfig struct {
	// Telegram: "chat" or "page" (a Mini App button in the private chat).
	Telegram string `koanf:"telegram"`
	// Slack: "chat" (the modal) or "page" (a one-time link beside it).
	Slack string `koanf:"slack"`
}

// SecretEntry returns where secrets are entered on platform ("telegram"
// or "slack"): [EntryPage] or [EntryChat]. A platform set to page without
// entry.public_url gets chat (Validate reports that configuration).
func (c Config) SecretEntry(platform string) string {
	var v string
	switch platform {
	case "telegram":
		v = c.Secrets.Entry.Telegram
	case "slack":
		v = c.Secrets.Entry.Slack
	}
	if !c.Entry.Enabled() {
		return EntryChat
	}
	if v == "" {
		return EntryPage
	}
	return v
}

// validateEntry checks entry.* and secrets.entry.*: public_url is an
// https:// URL without query or fragment (http:// only for a loopback
// host, for local tests), listen is host:port, each platform's choice is
// chat or page, and page needs entry.public_url.
func (c Config) validateEntry(bad func(key, format string, args ...any)) {
	if c.Entry.PublicURL != "" {
		u, err := url.Parse(c.Entry.PublicURL)
		switch {
		case err != nil || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
			bad("entry.public_url", "%q is not an https:// URL without query or fragment", c.Entry.PublicURL)
		case u.Scheme == "http" && isLoopback(u.Hostname()):
		case u.Scheme != "https":
			bad("entry.public_url", "%q is not an https:// URL: the page takes passwords", c.Entry.PublicURL)
		}
		if err := checkListen(c.Entry.Listen); err != nil {
			bad("entry.listen", "%v", err)
		}
	}
	for key, v := range map[string]string{"secrets.entry.telegram": c.Secrets.Entry.Telegram, "secrets.entry.slack": c.Secrets.Entry.Slack} {
		switch v {
		case "", EntryChat:
		case EntryPage:
			if !c.Entry.Enabled() {
				bad(key, "page needs entry.public_url")
			}
		default:
			bad(key, "%q is not chat or page", v)
		}
	}
}
