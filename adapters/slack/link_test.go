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
	"guidedfix/internal/entry"
	"guidedfix/internal/testkit/scriptflow"
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
// with unfurling off; the QR code and the key go to a page too (no file,
// no key message); the page's POST moves the conversation on. The engine
// runs the scripted flow, whose Next step sends the QR image, the key and
// the password prompt in one turn.
func TestSecretPromptLinksToEntryPage(t *testing.T) {
	h := newHarness(t, scripted(setup{mode: slack.ModeHTTP}))
	web := httptest.NewServer(nil)
	t.Cleanup(web.Close)
	srv, err := entry.New(entry.Options{PublicURL: web.URL, Engine: h.env.Engine, Tokens: h.env.Store,
		Now: h.env.Clock.Now, Logger: slog.New(slog.NewTextHandler(h.env.Log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	web.Config.Handler = srv
	h.env.Engine.Register(slack.Channel, &entry.Deliverer{Inner: h.a, Server: srv})

	h.startScript()
	h.press(scriptflow.ActionGo)
	h.press(scriptflow.ActionNext)
	h.wantLast(scriptflow.MsgAskSecret, nil)
	h.wantLabels(h.text("entry.button.password", nil), "Enter password")
	link, params := linkURL(t, h)
	if !strings.HasPrefix(link, web.URL+"/e/") || params.Get("unfurl_links") != "false" || params.Get("unfurl_media") != "false" {
		t.Fatalf("link %q, unfurl_links %q, unfurl_media %q", link, params.Get("unfurl_links"), params.Get("unfurl_media"))
	}
	if n := len(h.fake.Calls("files.getUploadURLExternal", "upload", "files.completeUploadExternal")); n != 0 {
		t.Fatalf("%d file upload calls: the QR code became a Slack file", n)
	}
	var qrLink string
	for _, c := range h.fake.Calls("chat.postMessage") {
		if strings.Contains(c.Params.Get("blocks"), web.URL+"/q/") {
			qrLink = c.Params.Get("blocks")
		}
	}
	if qrLink == "" {
		t.Fatal("no message links to the QR page")
	}
	// Slack's own preview fetcher would GET it: nothing is spent.
	if resp, err := http.Get(link); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET %v %v", resp, err)
	}
	// A wrong answer on the page: the prompt is asked again, with a new
	// page of its own, where the right answer moves the flow on.
	resp, err := http.PostForm(link, url.Values{"secret": {"wrong-passphrase-1234"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("page POST %d", resp.StatusCode)
	}
	h.wantState(scriptflow.StateAsking)
	h.wantLast(scriptflow.MsgAskSecret, nil)
	again, _ := linkURL(t, h)
	if again == link || !strings.HasPrefix(again, web.URL+"/e/") {
		t.Fatalf("second prompt's link %q (first %q)", again, link)
	}
	resp, err = http.PostForm(again, url.Values{"secret": {scriptflow.Passphrase}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("page POST %d", resp.StatusCode)
	}
	h.wantState(scriptflow.StateVerified)
	h.wantLast(scriptflow.MsgSecretOK, nil)
	for _, out := range h.outbound() {
		if strings.Contains(out, scriptflow.Passphrase) || strings.Contains(out, scriptflow.Key) || strings.Contains(out, "otpauth") {
			t.Fatal("a secret reached Slack")
		}
	}
}
