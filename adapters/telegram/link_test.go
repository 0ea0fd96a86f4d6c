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

	"guidedfix/internal/entry"
	"guidedfix/internal/testkit/scriptflow"
)

// TestSecretPromptAsMiniApp: with secrets.entry "page", the secret
// prompt carries a web_app button to the entry page, previews off, and
// the QR code and the manual key go to the page instead of the chat; the
// page's POST with the Mini App's init data moves the conversation on.
// The engine runs the scripted flow, whose Next step sends the QR image,
// the key and the password prompt in one turn.
func TestSecretPromptAsMiniApp(t *testing.T) {
	h := newScriptHarness(t, false)
	web := httptest.NewServer(nil)
	t.Cleanup(web.Close)
	srv, err := entry.New(entry.Options{PublicURL: web.URL, Engine: h.env.Engine, Tokens: h.env.Store, TelegramToken: testToken,
		Now: h.env.Clock.Now, Logger: slog.New(slog.NewTextHandler(h.env.Log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	web.Config.Handler = srv
	h.env.Engine.Register(Channel, &entry.Deliverer{Inner: h.a, Server: srv, WebApp: true})
	h.calls()

	h.text("/start")
	h.want("sendMessage")
	h.press(scriptflow.ActionGo)
	h.calls()
	h.press(scriptflow.ActionNext)
	// The QR code and the key go to the page: one message points there.
	cs := h.want("answerCallbackQuery", "editMessageReplyMarkup", "sendMessage", "sendMessage")
	wantText(t, cs[2], h.msg("entry.qr_moved", nil))
	if !strings.Contains(cs[2].Fields["reply_markup"], `"web_app":{"url":"`+web.URL+`/q/`) || cs[2].Fields["protect_content"] != "true" {
		t.Fatalf("QR message %v", cs[2].Fields)
	}
	c := cs[3]
	wantText(t, c, h.msg(scriptflow.MsgAskSecret, nil))
	var kb struct {
		InlineKeyboard [][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(c.Fields["reply_markup"]), &kb); err != nil || len(kb.InlineKeyboard) < 1 {
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
	h.wantState(scriptflow.StateAsking)

	initData := entry.SignInitData(map[string]string{
		"user":      `{"id":` + strconv.FormatInt(h.user.ID, 10) + `,"first_name":"Alice+Bob 100%"}`,
		"auth_date": strconv.FormatInt(h.env.Clock.Now().Unix(), 10), "chat_type": "sender",
	}, testToken)
	resp, err := http.PostForm(app.URL, url.Values{"secret": {scriptflow.Passphrase}, "init_data": {initData}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("page POST %d", resp.StatusCode)
	}
	h.wantState(scriptflow.StateVerified)
	for _, call := range h.fake.Calls() {
		if call.Method == "sendPhoto" {
			t.Fatal("the QR code became a chat photo")
		}
		for k, v := range call.Fields {
			if strings.Contains(v, scriptflow.Passphrase) || strings.Contains(v, scriptflow.Key) {
				t.Fatalf("%s %s holds the passphrase or the key", call.Method, k)
			}
		}
	}
}
