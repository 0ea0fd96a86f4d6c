package slack_test

import (
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/entry"
	"guidedfix/internal/portal"
)

// linkURL returns the URL of the guidedfix_link button of the newest
// chat.postMessage call, and the call's parameters.
func linkURL(t *testing.T, h *harness) (string, url.Values) {
	t.Helper()
	calls := h.fake.Calls("chat.postMessage")
	if len(calls) == 0 {
		t.Fatal("nothing posted")
	}
	p := calls[len(calls)-1].Params
	var blocks []struct {
		Type     string `json:"type"`
		Elements []struct {
			ActionID string `json:"action_id"`
			URL      string `json:"url"`
		} `json:"elements"`
	}
	if err := json.Unmarshal([]byte(p.Get("blocks")), &blocks); err != nil {
		t.Fatal(err)
	}
	for _, b := range blocks {
		for _, el := range b.Elements {
			if el.ActionID == "guidedfix_link" {
				return el.URL, p
			}
		}
	}
	t.Fatalf("no link button in %s", p.Get("blocks"))
	return "", nil
}

// TestSecretPromptLinksToEntryPage: with secrets.entry "page", Slack's
// secret prompts carry a URL button to a one-time page, beside the modal,
// with unfurling off; the page's POST moves the conversation on.
func TestSecretPromptLinksToEntryPage(t *testing.T) {
	h := newHarness(t, setup{mode: slack.ModeHTTP})
	web := httptest.NewServer(nil)
	t.Cleanup(web.Close)
	srv, err := entry.New(entry.Options{PublicURL: web.URL, Engine: h.env.Engine, Tokens: h.env.Store,
		Now: h.env.Clock.Now, Logger: slog.New(slog.NewTextHandler(h.env.Log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	web.Config.Handler = srv
	h.env.Engine.Register(slack.Channel, &entry.Deliverer{Inner: h.a, Server: srv})
	pw := h.env.AddAccount(t, "alice@example.com", portal.MethodSMS)

	h.tr.command(h.fake.Command(alice, public, "/guidedfix", ""))
	h.wantLast("totp.ask_password", nil)
	h.wantLabels(h.text("entry.button.password", nil), "Enter password", h.text("totp.button.other_email", nil), h.text("totp.button.cancel", nil))
	link, params := linkURL(t, h)
	if !strings.HasPrefix(link, web.URL+"/e/") || params.Get("unfurl_links") != "false" || params.Get("unfurl_media") != "false" {
		t.Fatalf("link %q, unfurl_links %q, unfurl_media %q", link, params.Get("unfurl_links"), params.Get("unfurl_media"))
	}
	// Slack's own preview fetcher would GET it: nothing is spent.
	if resp, err := http.Get(link); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %v %v", resp, err)
	}
	resp, err := http.PostForm(link, url.Values{"secret": {pw}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("page POST %d", resp.StatusCode)
	}
	if s := h.session(); s == nil || s.State != totpswitch.StateAwaitingSMSCode {
		t.Fatalf("session %+v", s)
	}
	h.wantLast("totp.sms_sent", map[string]any{"Phone": "+60•••••6789"})
	smsLink, _ := linkURL(t, h)
	code := h.env.LastSMSCode(t)
	resp, err = http.PostForm(smsLink, url.Values{"secret": {code}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if s := h.session(); resp.StatusCode != 200 || s.State != totpswitch.StateConfirmDisable {
		t.Fatalf("code POST %d, state %q", resp.StatusCode, s.State)
	}
	// The QR code and key go to the page: no file upload, no key message.
	h.press("disable")
	h.press("setup")
	h.press("app")
	if s := h.session(); s.State != totpswitch.StateAwaitingTOTPCode {
		t.Fatalf("state %q", s.State)
	}
	if n := len(h.fake.Calls("files.getUploadURLExternal", "upload", "files.completeUploadExternal")); n != 0 {
		t.Fatalf("%d file upload calls: the QR code became a Slack file", n)
	}
	calls := h.fake.Calls("chat.postMessage")
	var qrLink string
	for _, c := range calls {
		if strings.Contains(c.Params.Get("blocks"), web.URL+"/q/") {
			qrLink = c.Params.Get("blocks")
		}
		if strings.Contains(c.Params.Get("text"), "otpauth") || strings.Contains(c.Params.Get("text"), h.text("totp.manual_key", nil)[:10]) {
			t.Fatalf("the key reached Slack: %q", c.Params.Get("text"))
		}
	}
	if qrLink == "" {
		t.Fatal("no message links to the QR page")
	}
	for _, out := range h.outbound() {
		if strings.Contains(out, pw) || strings.Contains(out, code) {
			t.Fatal("a secret reached Slack")
		}
	}
}
