package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/adapters/telegram/fakebotapi"
)

// TestServeTelegramLongPolling runs `guidedfix serve` with a bot token from
// the environment against the fake Bot API, starts a conversation and
// stops with a cancelled context (SIGTERM), which must return cleanly.
func TestServeTelegramLongPolling(t *testing.T) {
	fake := fakebotapi.New(fakebotapi.Options{Token: "123:TEST", BotUsername: "guidedfix_bot"})
	t.Cleanup(fake.Close)
	t.Setenv("TELEGRAM_BOT_TOKEN", "123:TEST")
	t.Setenv("GUIDEDFIX_TELEGRAM__API_URL", fake.URL)
	t.Setenv("GUIDEDFIX_TELEGRAM__BOT_USERNAME", "guidedfix_bot")
	t.Setenv("GUIDEDFIX_LOG__LEVEL", "error")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, &globalFlags{dataDir: t.TempDir()}, serveFlags{}) }()

	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	if _, err := fake.WaitCalls(wait, "setMyCommands", 1); err != nil {
		t.Fatalf("setMyCommands never came: %v", err)
	}
	user := fakebotapi.User{ID: 4242, FirstName: "Ana"}
	chat := fakebotapi.PrivateChat(user)
	fake.Inject(fake.Text(chat, user, "/start"))
	if _, err := fake.WaitCalls(wait, "sendMessage", 1); err != nil {
		t.Fatalf("no welcome: %v", err)
	}
	texts := ""
	for _, c := range fake.Calls("sendMessage") {
		texts += c.Fields["text"] + "\n"
	}
	if !strings.Contains(texts, "Which e-mail address") {
		t.Fatalf("sent %q", texts)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v after SIGTERM", err)
		}
	case <-time.After(70 * time.Second):
		t.Fatal("serve did not stop")
	}
}

func TestServeWithoutPlatformSaysWhatToDo(t *testing.T) {
	t.Setenv("TELEGRAM_BOT_TOKEN", "")
	t.Setenv("SLACK_BOT_TOKEN", "")
	err := runServe(context.Background(), &globalFlags{dataDir: t.TempDir()}, serveFlags{})
	if err == nil || !strings.Contains(err.Error(), "TELEGRAM_BOT_TOKEN") {
		t.Fatalf("err %v", err)
	}
	if errors.Is(err, context.Canceled) {
		t.Fatal("unexpected cancel")
	}
}

// TestServeWithoutPlatformFailsFirst: the missing platform is the first
// and only thing serve says — no warning about the file SMS phone (the
// embedded core with no gateway) or anything else comes before it, and
// no database is opened.
func TestServeWithoutPlatformFailsFirst(t *testing.T) {
	t.Setenv("TELEGRAM_BOT_TOKEN", "")
	t.Setenv("SLACK_BOT_TOKEN", "")
	t.Setenv("GUIDEDFIX_PORTAL__ARGON2__MEMORY_KIB", "1024") // below OWASP: would warn too
	t.Setenv("GUIDEDFIX_PORTAL__ARGON2__TIME", "1")
	dir := t.TempDir()
	var logs bytes.Buffer
	err := serve(context.Background(), &globalFlags{dataDir: dir}, serveFlags{}, serveOptions{logOut: &logs})
	if !errors.Is(err, errNoPlatform) {
		t.Fatalf("err %v, want errNoPlatform", err)
	}
	if logs.Len() != 0 {
		t.Fatalf("serve logged before refusing to start:\n%s", logs.String())
	}
	for _, f := range []string{"portal.db", "sessions.db", "support.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists (%v): serve opened the databases before its fatal check", f, err)
		}
	}
	// A platform, but a flag's value out of range: refused before any
	// warning as well.
	t.Setenv("TELEGRAM_BOT_TOKEN", procToken)
	err = serve(context.Background(), &globalFlags{dataDir: dir}, serveFlags{telegramWebhookURL: "http://bot.example.com/hook"}, serveOptions{logOut: &logs})
	if err == nil || !strings.Contains(err.Error(), "telegram.webhook_url") || logs.Len() != 0 {
		t.Fatalf("err %v, logs %q; want a telegram.webhook_url error and no log line", err, logs.String())
	}
}

// TestServeSlackSocketMode runs `guidedfix serve` with Slack tokens from
// the environment against the fake Slack (Socket Mode): a DM saying "2fa"
// starts the flow in the user's DM, with the profile e-mail proposed.
func TestServeSlackSocketMode(t *testing.T) {
	fake := fakeslack.New(fakeslack.Options{BotToken: "xoxb-test", AppToken: "xapp-test"})
	t.Cleanup(fake.Close)
	fake.AddUser(fakeslack.User{ID: "U1", Email: "staff@example.com", Locale: "en-US"})
	t.Setenv("TELEGRAM_BOT_TOKEN", "")
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-test")
	t.Setenv("SLACK_APP_TOKEN", "xapp-test")
	t.Setenv("GUIDEDFIX_SLACK__API_URL", fake.APIURL)
	t.Setenv("GUIDEDFIX_LOG__LEVEL", "error")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, &globalFlags{dataDir: t.TempDir()}, serveFlags{}) }()

	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	dm := fake.IM("U1")
	body, _ := fake.MessageEvent("U1", dm, "2fa")
	id, err := fake.Push(wait, "events_api", body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(wait, id); err != nil {
		t.Fatalf("no ack: %v", err)
	}
	for {
		var texts []string
		for _, m := range fake.History(dm) {
			texts = append(texts, m.Text)
		}
		if strings.Contains(strings.Join(texts, "\n"), "registered to staff@example.com") {
			break
		}
		select {
		case <-wait.Done():
			t.Fatalf("DM history %q", texts)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
}

// TestServeWebhookFlagMakesSecret runs serve with --telegram-webhook-url
// and no configured secret: it registers the webhook with a random one.
func TestServeWebhookFlagMakesSecret(t *testing.T) {
	fake := fakebotapi.New(fakebotapi.Options{Token: "123:TEST", BotUsername: "guidedfix_bot"})
	t.Cleanup(fake.Close)
	t.Setenv("TELEGRAM_BOT_TOKEN", "123:TEST")
	t.Setenv("SLACK_BOT_TOKEN", "")
	t.Setenv("GUIDEDFIX_TELEGRAM__API_URL", fake.URL)
	t.Setenv("GUIDEDFIX_LOG__LEVEL", "error")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, &globalFlags{dataDir: t.TempDir()},
			serveFlags{telegramWebhookURL: "https://bot.example.com/telegram", telegramListen: "127.0.0.1:0"})
	}()
	wait, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	calls, err := fake.WaitCalls(wait, "setWebhook", 1)
	if err != nil {
		t.Fatalf("no setWebhook: %v", err)
	}
	secret := calls[0].Fields["secret_token"]
	if len(secret) < 16 || strings.Trim(secret, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
		t.Fatalf("secret_token %q", secret)
	}
	if calls[0].Fields["url"] != "https://bot.example.com/telegram" {
		t.Fatalf("url %q", calls[0].Fields["url"])
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
