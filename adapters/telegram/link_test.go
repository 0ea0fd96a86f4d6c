package telegram

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"guidedfix/flows/totpswitch"
	"guidedfix/internal/entry"
	"guidedfix/internal/portal"
)

// TestSecretPromptAsMiniApp: with secrets.entry "page", the password
// prompt carries a web_app button to the entry page, previews off; the
// page's POST with the Mini App's init data moves the conversation on,
// and the QR code goes to the page instead of becoming a chat photo.
func TestSecretPromptAsMiniApp(t *testing.T) {
	h := newHarness(t, false)
	web := httptest.NewServer(nil)
	t.Cleanup(web.Close)
	srv, err := entry.New(entry.Options{PublicURL: web.URL, Engine: h.env.Engine, Tokens: h.env.Store, TelegramToken: testToken,
		Now: h.env.Clock.Now, Logger: slog.New(slog.NewTextHandler(h.env.Log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	web.Config.Handler = srv
	h.env.Engine.Register(Channel, &entry.Deliverer{Inner: h.a, Server: srv, WebApp: true})
	pw := h.env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	h.calls()

	h.text("/start")
	// The entry page's deliverer is no bot.Joiner: the welcome and step 1
	// stay two messages.
	h.want("sendMessage", "sendMessage")
	h.text("alice@example.com")
	c := h.want("sendMessage")[0]
	wantText(t, c, h.msg("totp.ask_password", nil))
	var kb struct {
		InlineKeyboard [][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(c.Fields["reply_markup"]), &kb); err != nil || len(kb.InlineKeyboard) < 2 {
		t.Fatalf("reply_markup %s", c.Fields["reply_markup"])
	}
	var app struct{ URL string }
	first := kb.InlineKeyboard[0][0]
	if err := json.Unmarshal(first["web_app"], &app); err != nil || !strings.HasPrefix(app.URL, web.URL+"/e/") || len(first) != 2 {
		t.Fatalf("first button %s, want a web_app button to the entry page", c.Fields["reply_markup"])
	}
	if c.Fields["link_preview_options"] != `{"is_disabled":true}` {
		t.Fatalf("link_preview_options %q", c.Fields["link_preview_options"])
	}
	if strings.Contains(c.Fields["text"], app.URL) {
		t.Fatal("the link is in the message text")
	}

	initData := entry.SignInitData(map[string]string{
		"user":      `{"id":` + strconv.FormatInt(h.user.ID, 10) + `,"first_name":"Alice+Bob 100%"}`,
		"auth_date": strconv.FormatInt(h.env.Clock.Now().Unix(), 10), "chat_type": "sender",
	}, testToken)
	resp, err := http.PostForm(app.URL, url.Values{"secret": {pw}, "init_data": {initData}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("page POST %d", resp.StatusCode)
	}
	h.wantState(totpswitch.StateAwaitingSMSCode)
	if sms := h.want("sendMessage")[0]; !strings.Contains(sms.Fields["reply_markup"], `"web_app":{"url":"`+web.URL+`/e/`) {
		t.Fatalf("SMS prompt without a Mini App button: %v", sms.Fields)
	}

	h.text(h.env.LastSMSCode(t)) // the chat path stays as the fallback
	h.want("deleteMessage", "sendMessage")
	h.press("disable")
	h.calls()
	h.press("setup")
	h.calls()
	h.press("app")
	cs := h.want("answerCallbackQuery", "editMessageReplyMarkup", "sendMessage", "sendMessage")
	wantText(t, cs[2], h.msg("entry.qr_moved", nil))
	if !strings.Contains(cs[2].Fields["reply_markup"], `"web_app":{"url":"`+web.URL+`/q/`) || cs[2].Fields["protect_content"] != "true" {
		t.Fatalf("QR message %v", cs[2].Fields)
	}
	h.wantState(totpswitch.StateAwaitingTOTPCode)
	for _, call := range h.fake.Calls() {
		if call.Method == "sendPhoto" {
			t.Fatal("the QR code became a chat photo")
		}
		for k, v := range call.Fields {
			if strings.Contains(v, pw) {
				t.Fatalf("%s %s holds the password", call.Method, k)
			}
		}
	}
}
