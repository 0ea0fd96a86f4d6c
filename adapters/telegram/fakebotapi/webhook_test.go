package fakebotapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	tg "github.com/go-telegram/bot"

	"guidedfix/adapters/telegram/fakebotapi"
)

// hook is a webhook endpoint answering with status, contentType and body,
// after making the calls of before (a bot that calls while it handles the
// update, before it answers).
func hook(t *testing.T, status int, contentType, body string, before func()) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if before != nil {
			before()
		}
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestPostPerformsWebhookReply: a 200 answer carrying a request, as JSON
// or as a url-encoded form, is performed as a call of that method
// (recorded with Webhook set, applied: a second answer to the same query
// is refused), OnCall sees it, and it is recorded at the place the
// delivery began, before the calls the bot made while handling it.
func TestPostPerformsWebhookReply(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	s := fakebotapi.New(fakebotapi.Options{OnCall: func(c fakebotapi.Call, applied bool) bool {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, c.Method+"/"+strconv.FormatBool(applied)+"/"+strconv.FormatBool(c.Webhook))
		return true
	}})
	defer s.Close()
	b := newBot(t, s)
	ctx := context.Background()
	user := fakebotapi.User{ID: 7, FirstName: "U"}
	u := s.Callback(fakebotapi.PrivateChat(user), user, 1, "x")
	id := u.CallbackQuery.ID
	url := hook(t, 200, "application/json", `{"method":"answerCallbackQuery","callback_query_id":"`+id+`","text":"old","show_alert":true}`, func() {
		if _, err := b.SendMessage(ctx, &tg.SendMessageParams{ChatID: 7, Text: "during"}); err != nil {
			t.Error(err)
		}
	})
	if code, err := s.Post(ctx, url, "sec", u); err != nil || code != 200 {
		t.Fatalf("Post: %d, %v", code, err)
	}
	cs := s.Calls()
	if len(cs) != 2 || cs[0].Method != "answerCallbackQuery" || !cs[0].Webhook || cs[1].Method != "sendMessage" || cs[1].Webhook {
		t.Fatalf("calls %+v, want the webhook's answerCallbackQuery, then the sendMessage made before it", cs)
	}
	if f := cs[0].Fields; f["callback_query_id"] != id || f["text"] != "old" || f["show_alert"] != "true" || len(f) != 3 || cs[0].ErrorCode != 0 || !cs[0].JSON {
		t.Fatalf("answer %v (error %d)", f, cs[0].ErrorCode)
	}
	mu.Lock()
	want := []string{"sendMessage/false/false", "sendMessage/true/false", "answerCallbackQuery/false/true", "answerCallbackQuery/true/true"}
	if len(seen) != len(want) {
		t.Fatalf("OnCall saw %q, want %q", seen, want)
	}
	for i := range want {
		if seen[i] != want[i] {
			t.Fatalf("OnCall saw %q, want %q", seen, want)
		}
	}
	mu.Unlock()

	// The same query answered again (a form this time): applied, so
	// refused as Telegram refuses a second answer; the result goes
	// nowhere and Post still reports the webhook's 200.
	form := hook(t, 200, "application/x-www-form-urlencoded", "method=answerCallbackQuery&callback_query_id="+id, nil)
	if code, err := s.Post(ctx, form, "", u); err != nil || code != 200 {
		t.Fatalf("Post: %d, %v", code, err)
	}
	cs = s.Calls("answerCallbackQuery")
	if len(cs) != 2 || !cs[1].Webhook || cs[1].JSON || cs[1].ErrorCode != 400 || cs[1].Fields["callback_query_id"] != id {
		t.Fatalf("second answer %+v, want a refused webhook answerCallbackQuery", cs)
	}
}

// TestPostIgnoresOtherAnswers: no request is performed for an answer
// that is not 2xx, is empty, names no method or does not decode.
func TestPostIgnoresOtherAnswers(t *testing.T) {
	s := fakebotapi.New(fakebotapi.Options{})
	defer s.Close()
	ctx := context.Background()
	user := fakebotapi.User{ID: 7, FirstName: "U"}
	u := s.Callback(fakebotapi.PrivateChat(user), user, 1, "x")
	reply := `{"method":"answerCallbackQuery","callback_query_id":"` + u.CallbackQuery.ID + `"}`
	for _, tc := range []struct {
		status      int
		contentType string
		body        string
	}{
		{500, "application/json", reply},
		{401, "application/json", reply},
		{200, "", ""},
		{200, "application/json", `{"callback_query_id":"x"}`},
		{200, "application/json", `not json`},
		{200, "text/plain", "ok"},
	} {
		code, err := s.Post(ctx, hook(t, tc.status, tc.contentType, tc.body, nil), "", u)
		if err != nil || code != tc.status {
			t.Fatalf("%d %q: Post %d, %v", tc.status, tc.body, code, err)
		}
		if cs := s.Calls(); len(cs) != 0 {
			t.Fatalf("%d %q: performed %+v", tc.status, tc.body, cs)
		}
	}
}
