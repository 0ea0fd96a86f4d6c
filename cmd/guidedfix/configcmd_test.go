package main

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	tg "github.com/go-telegram/bot"
	slackapi "github.com/slack-go/slack"

	"guidedfix/internal/config"
)

// TestConfigExampleThenCheck follows the README: `config example >
// guidedfix.yaml`, edit, `config check`; a bad edit is reported with the
// key and exit status 1.
func TestConfigExampleThenCheck(t *testing.T) {
	t.Setenv("GUIDEDFIX_OPS__LISTEN", "")
	path := filepath.Join(t.TempDir(), "guidedfix.yaml")
	if err := os.WriteFile(path, []byte(config.Example()), 0o600); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := runConfigCheck(&out, path); err != nil {
		t.Fatalf("check of the example: %v\n%s", err, out.String())
	}
	want := "configuration OK (" + path + " and the environment): telegram off, slack off, e-mail to the .eml outbox, ops listener 127.0.0.1:9464\n"
	if out.String() != want {
		t.Fatalf("output %q\nwant %q", out.String(), want)
	}
	b, _ := os.ReadFile(path)
	b = bytes.Replace(b, []byte("  idle_timeout: 15m0s"), []byte("  idle_timeout: soon"), 1)
	b = bytes.Replace(b, []byte("  format: text"), []byte("  format: xml"), 1)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out.Reset()
	err := runConfigCheck(&out, path)
	if err == nil || err.Error() != "2 problem(s) in the configuration" {
		t.Fatalf("err %v", err)
	}
	if want := "config: flow.idle_timeout: \"soon\" is not a duration such as 90s, 15m or 1h30m\nlog.format: \"xml\" is not text or json\n"; out.String() != want {
		t.Fatalf("output %q\nwant %q", out.String(), want)
	}
}

// TestStartupErrorSaysWhatToCheck: a refused token names the variable to
// check, once, without repeated prefixes.
func TestStartupErrorSaysWhatToCheck(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"telegram", fmt.Errorf("telegram: getMe: %w", tg.ErrorUnauthorized),
			"Telegram refused the token (401): check TELEGRAM_BOT_TOKEN (telegram.token) from @BotFather: telegram: getMe: unauthorized"},
		{"slack", fmt.Errorf("slack: auth.test: %w", slackapi.SlackErrorResponse{Err: "invalid_auth"}),
			"Slack refused the bot token (invalid_auth): check SLACK_BOT_TOKEN (slack.bot_token), the app's Bot User OAuth Token: slack: auth.test: invalid_auth"},
		{"telegram", errors.New("telegram: webhook listen: address in use"), "telegram: webhook listen: address in use"},
		{"sweeper", errors.New("store closed"), "sweeper: store closed"},
	} {
		if got := startupError(tc.name, tc.err).Error(); got != tc.want {
			t.Errorf("startupError(%s, %v) = %q\nwant %q", tc.name, tc.err, got, tc.want)
		}
	}
}
