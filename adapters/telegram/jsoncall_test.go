package telegram

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"

	tg "github.com/go-telegram/bot"

	"guidedfix/adapters/telegram/fakebotapi"
)

// hotMethods are the methods jsoncall.go sends as JSON.
var hotMethods = map[string]bool{"sendMessage": true, "editMessageText": true, "editMessageReplyMarkup": true,
	"deleteMessage": true, "deleteMessages": true, "answerCallbackQuery": true}

// TestHotCallsAreJSON (issue 14): over a whole flow through the fake Bot
// API, every sendMessage, edit, delete and callback answer is an
// application/json body and the QR code's sendPhoto a multipart upload;
// the fake read the same fields either way (the flow completes, the
// keyboard and message ids arrive).
func TestHotCallsAreJSON(t *testing.T) {
	h := newHarness(t, false)
	happyPath(t, h)
	seen := map[string]int{}
	for _, c := range h.fake.Calls() {
		switch {
		case hotMethods[c.Method]:
			seen[c.Method]++
			if !c.JSON {
				t.Errorf("%s was not sent as JSON", c.Method)
			}
		case c.Method == "sendPhoto":
			seen[c.Method]++
			if c.JSON || len(c.Files["photo"].Data) == 0 {
				t.Errorf("sendPhoto: JSON %v, %d photo bytes; want a multipart upload", c.JSON, len(c.Files["photo"].Data))
			}
		}
	}
	for _, m := range []string{"sendMessage", "sendPhoto", "answerCallbackQuery", "editMessageReplyMarkup"} {
		if seen[m] == 0 {
			t.Errorf("no %s call in the flow (calls %v)", m, seen)
		}
	}
	for _, c := range h.fake.Calls("sendMessage") {
		if c.Fields["chat_id"] != "4242" || c.Fields["text"] == "" {
			t.Fatalf("sendMessage fields %v", c.Fields)
		}
	}
}

// TestJSONCallErrors: the JSON caller answers with go-telegram/bot's
// error values, which Adapter.call and apiError rely on: 429 with
// retry_after, 403, a 400 with its description; and a transport error
// never shows the token.
func TestJSONCallErrors(t *testing.T) {
	fake := fakebotapi.New(fakebotapi.Options{Token: testToken})
	t.Cleanup(fake.Close)
	api := newJSONAPI(fake.URL, testToken, http.DefaultClient)
	ctx := context.Background()
	msg := &tg.SendMessageParams{ChatID: int64(7), Text: "hi"}

	m, err := api.SendMessage(ctx, msg)
	if sent := fake.Calls("sendMessage"); err != nil || len(sent) != 1 || m.ID == 0 || m.ID != sent[0].MessageID() {
		t.Fatalf("SendMessage: %+v, %v; want the id of the fake's message", m, err)
	}
	fake.FailNext("sendMessage", 429, "Too Many Requests: retry after 3", 3)
	_, err = api.SendMessage(ctx, msg)
	var tooMany *tg.TooManyRequestsError
	if !errors.As(err, &tooMany) || tooMany.RetryAfter != 3 {
		t.Fatalf("429: %v, want a TooManyRequestsError with RetryAfter 3", err)
	}
	fake.FailNext("sendMessage", 403, "Forbidden: bot was blocked by the user", 0)
	if _, err = api.SendMessage(ctx, msg); !errors.Is(err, tg.ErrorForbidden) {
		t.Fatalf("403: %v", err)
	}
	_, err = api.EditMessageText(ctx, &tg.EditMessageTextParams{ChatID: int64(7), MessageID: 999, Text: "x"})
	if !apiError(err, "message to edit not found") {
		t.Fatalf("edit of a missing message: %v", err)
	}
	if ok, err := api.DeleteMessage(ctx, &tg.DeleteMessageParams{ChatID: int64(7), MessageID: m.ID}); err != nil || !ok {
		t.Fatalf("DeleteMessage: %v, %v", ok, err)
	}
	if _, err := api.DeleteMessages(ctx, &tg.DeleteMessagesParams{ChatID: int64(7), MessageIDs: []int{m.ID}}); !apiError(err, "message to delete not found") {
		t.Fatalf("DeleteMessages of a deleted message: %v", err)
	}
	bad := newJSONAPI("http://"+closedAddr(t), testToken, http.DefaultClient)
	_, err = bad.SendMessage(ctx, msg)
	if err == nil || strings.Contains(err.Error(), testToken) || !transient(ctx, err) {
		t.Fatalf("transport error %v: want one without the token, worth retrying", err)
	}
}

// closedAddr returns a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}
