package main

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/internal/entry"
)

// freeAddr returns a 127.0.0.1 address with a port the kernel just gave
// out (listened on port 0, then closed).
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// TestServeEntryPage runs `guidedfix serve` for Telegram with
// entry.public_url set: the password prompt carries a Mini App button to
// the page, which serve's own listener serves, and the page's POST goes
// into the conversation.
func TestServeEntryPage(t *testing.T) {
	fake := fakebotapi.New(fakebotapi.Options{Token: "123:TEST", BotUsername: "guidedfix_bot"})
	t.Cleanup(fake.Close)
	addr := freeAddr(t)
	t.Setenv("TELEGRAM_BOT_TOKEN", "123:TEST")
	t.Setenv("SLACK_BOT_TOKEN", "")
	t.Setenv("GUIDEDFIX_TELEGRAM__API_URL", fake.URL)
	t.Setenv("GUIDEDFIX_TELEGRAM__BOT_USERNAME", "guidedfix_bot")
	t.Setenv("GUIDEDFIX_LOG__LEVEL", "error")
	t.Setenv("GUIDEDFIX_ENTRY__PUBLIC_URL", "http://"+addr)
	t.Setenv("GUIDEDFIX_ENTRY__LISTEN", addr)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, &globalFlags{dataDir: t.TempDir()}, serveFlags{}) }()
	wait, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	if _, err := fake.WaitCalls(wait, "setMyCommands", 1); err != nil {
		t.Fatalf("setMyCommands never came: %v", err)
	}
	user := fakebotapi.User{ID: 4242, FirstName: "Ana"}
	chat := fakebotapi.PrivateChat(user)
	fake.Inject(fake.Text(chat, user, "/start"))
	if _, err := fake.WaitCalls(wait, "sendMessage", 2); err != nil {
		t.Fatal(err)
	}
	fake.Inject(fake.Text(chat, user, "ana@example.com"))
	calls, err := fake.WaitCalls(wait, "sendMessage", 3)
	if err != nil {
		t.Fatal(err)
	}
	var kb struct {
		InlineKeyboard [][]struct {
			WebApp *struct{ URL string } `json:"web_app"`
		} `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(calls[2].Fields["reply_markup"]), &kb); err != nil || len(kb.InlineKeyboard) == 0 ||
		kb.InlineKeyboard[0][0].WebApp == nil || !strings.HasPrefix(kb.InlineKeyboard[0][0].WebApp.URL, "http://"+addr+"/e/") {
		t.Fatalf("password prompt markup %s", calls[2].Fields["reply_markup"])
	}
	link := kb.InlineKeyboard[0][0].WebApp.URL
	resp, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("GET %d %v", resp.StatusCode, resp.Header)
	}
	initData := entry.SignInitData(map[string]string{"user": `{"id":4242,"first_name":"Ana"}`,
		"auth_date": strconv.FormatInt(time.Now().Unix(), 10)}, "123:TEST")
	resp, err = http.PostForm(link, url.Values{"secret": {"not-the-password"}, "init_data": {initData}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST %d", resp.StatusCode)
	}
	// The answer to the password arrives in the chat.
	if _, err := fake.WaitCalls(wait, "sendMessage", 4); err != nil {
		t.Fatal(err)
	}
	for _, c := range fake.Calls() {
		for _, v := range c.Fields {
			if strings.Contains(v, "not-the-password") {
				t.Fatalf("%s holds the password", c.Method)
			}
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
}
