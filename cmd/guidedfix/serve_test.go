package main

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

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
	if _, err := fake.WaitCalls(wait, "sendMessage", 2); err != nil {
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
