package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	tg "github.com/go-telegram/bot"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/internal/procstat"
	"guidedfix/internal/testkit/contract"
	"guidedfix/internal/testkit/scriptflow"
)

// answers splits the recorded answerCallbackQuery calls of cs into those
// carried in a webhook's answer and those made as calls of their own.
func answers(cs []fakebotapi.Call) (inWebhook, apart []fakebotapi.Call) {
	for _, c := range cs {
		if c.Method != "answerCallbackQuery" {
			continue
		}
		if c.Webhook {
			inWebhook = append(inWebhook, c)
		} else {
			apart = append(apart, c)
		}
	}
	return inWebhook, apart
}

// TestWebhookReplyAnswersPress: with an inbox (the update held before the
// 200), a button press is answered by exactly one answerCallbackQuery
// carried in the webhook's response, with the press's callback_query_id
// and no text, and no separate answerCallbackQuery request; the turn's
// calls come after it. The response itself is application/json with the
// method and the id and nothing else.
func TestWebhookReplyAnswersPress(t *testing.T) {
	env, fake := newScriptEnv(t)
	h := start(t, env, fake, true, func(o *Options) { o.Inbox = env.Store })
	h.text("/start")
	h.calls()
	u := h.press(scriptflow.ActionGo)
	cs := h.want("answerCallbackQuery", "editMessageReplyMarkup", "editMessageText")
	in, apart := answers(cs)
	if len(in) != 1 || len(apart) != 0 {
		t.Fatalf("%d answers in the webhook response, %d apart; want 1 and 0", len(in), len(apart))
	}
	if f := in[0].Fields; f["callback_query_id"] != u.CallbackQuery.ID || f["text"] != "" || f["show_alert"] != "" || len(f) != 1 ||
		!in[0].JSON || in[0].ErrorCode != 0 {
		t.Fatalf("answer in the webhook response %v (json %v, error %d), want only callback_query_id %s",
			f, in[0].JSON, in[0].ErrorCode, u.CallbackQuery.ID)
	}
	h.wantState(scriptflow.StateEdited)

	// The wire form, read with a plain client: 200, application/json,
	// {"method":"answerCallbackQuery","callback_query_id":…}.
	id, data := h.button(scriptflow.ActionNext)
	u2 := fake.Callback(h.chat, h.user, id, data)
	raw, _ := json.Marshal(u2)
	req, _ := http.NewRequest(http.MethodPost, h.hook, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(SecretHeader, testSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	h.waitDone(u2.ID)
	h.waitIdle()
	var got map[string]any
	if err := json.Unmarshal(body, &got); err != nil || resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" ||
		len(got) != 2 || got["method"] != "answerCallbackQuery" || got["callback_query_id"] != u2.CallbackQuery.ID {
		t.Fatalf("webhook answered %d %q %s, want 200 application/json with answerCallbackQuery for %s",
			resp.StatusCode, resp.Header.Get("Content-Type"), body, u2.CallbackQuery.ID)
	}
	// Read by a plain client, the request was not performed: the press
	// has no answer at all, and no separate one.
	if in, apart := answers(h.calls()); len(in) != 0 || len(apart) != 0 {
		t.Fatalf("%d answers in webhook responses and %d apart after a plain client's post, want none", len(in), len(apart))
	}
}

// TestWebhookReplyStaleButton: a button of an earlier step pressed through
// the held webhook is answered in the webhook's response with the
// engine's stale-button text; nothing else is called and the session
// does not change.
func TestWebhookReplyStaleButton(t *testing.T) {
	env, fake := newScriptEnv(t)
	h := start(t, env, fake, true, func(o *Options) { o.Inbox = env.Store })
	h.text("/start")
	msgID, data := h.button(scriptflow.ActionGo)
	h.press(scriptflow.ActionGo)
	h.calls()
	before := h.session()
	u := fake.Callback(h.chat, h.user, msgID, data)
	h.deliver(u)
	cs := h.want("answerCallbackQuery")
	if !cs[0].Webhook || cs[0].Fields["callback_query_id"] != u.CallbackQuery.ID ||
		contract.NewResolver(env.Engine, "en", Channel).ID(cs[0].Fields["text"]) != staleID || cs[0].Fields["show_alert"] != "" {
		t.Fatalf("stale press answered %v (in the webhook response: %v), want %s's text for %s",
			cs[0].Fields, cs[0].Webhook, staleID, u.CallbackQuery.ID)
	}
	if after := h.session(); after.Version != before.Version || after.State != before.State {
		t.Fatalf("stale press changed the session: version %d → %d, state %q → %q", before.Version, after.Version, before.State, after.State)
	}
}

// TestAnswersApartWithoutWebhookReply: long polling, a webhook without an
// inbox (it answers after the turn) and Options.NoWebhookReply answer a
// press with a separate answerCallbackQuery request, first, with the
// press's id.
func TestAnswersApartWithoutWebhookReply(t *testing.T) {
	for _, tc := range []struct {
		name           string
		webhook, inbox bool
		off            bool
	}{
		{"polling", false, true, false},
		{"polling-no-inbox", false, false, false},
		{"webhook-no-inbox", true, false, false},
		{"webhook-reply-off", true, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env, fake := newScriptEnv(t)
			h := start(t, env, fake, tc.webhook, func(o *Options) {
				if tc.inbox {
					o.Inbox = env.Store
				}
				o.NoWebhookReply = tc.off
			})
			h.text("/start")
			h.calls()
			u := h.press(scriptflow.ActionGo)
			cs := h.want("answerCallbackQuery", "editMessageReplyMarkup", "editMessageText")
			in, apart := answers(cs)
			if len(in) != 0 || len(apart) != 1 || apart[0].Fields["callback_query_id"] != u.CallbackQuery.ID {
				t.Fatalf("%d answers in the webhook response, %d apart (%v); want 0 and 1 for %s", len(in), len(apart), apart, u.CallbackQuery.ID)
			}
			h.wantState(scriptflow.StateEdited)
		})
	}
}

// TestWebhookReplyRedelivery: a held press delivered again while (or
// after) its turn ran gets a plain 200, without a second answer.
func TestWebhookReplyRedelivery(t *testing.T) {
	env, fake := newScriptEnv(t)
	h := start(t, env, fake, true, func(o *Options) { o.Inbox = env.Store })
	h.text("/start")
	h.calls()
	u := h.press(scriptflow.ActionGo)
	h.calls()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if code, err := fake.Post(ctx, h.hook, testSecret, u); err != nil || code != 200 {
		t.Fatalf("redelivery: %d, %v", code, err)
	}
	if cs := h.calls(); len(cs) != 0 {
		t.Fatalf("a redelivered press made %d calls (%s first), want none", len(cs), cs[0].Method)
	}
}

// BenchmarkAnswer compares the two ways of answering a button press:
// "call" is answerCallbackQuery as a request of its own (jsonAPI over a
// kept-alive loopback connection to the in-process fake, whose side of
// the round trip is counted too: an upper bound for the adapter's share),
// "in-response" is the body the webhook's 200 carries instead
// (answerInResponse). cpu-µs/op is the process's user and system CPU
// time per answer.
func BenchmarkAnswer(b *testing.B) {
	fake := fakebotapi.New(fakebotapi.Options{})
	defer fake.Close()
	user := fakebotapi.User{ID: 7, FirstName: "U"}
	chat := fakebotapi.PrivateChat(user)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	api := newJSONAPI(fake.URL, testToken, &http.Client{Transport: tr})
	a := &Adapter{log: slog.New(slog.DiscardHandler)}
	b.Run("call", func(b *testing.B) {
		ids := make([]string, b.N)
		for i := range ids {
			ids[i] = fake.Callback(chat, user, 1, "x").CallbackQuery.ID
		}
		cpu0 := procstat.Total(b)
		b.ResetTimer()
		for i := range ids {
			if _, err := api.AnswerCallbackQuery(context.Background(), &tg.AnswerCallbackQueryParams{CallbackQueryID: ids[i]}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		b.ReportMetric(float64((procstat.Total(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
		fake.ResetCalls()
	})
	b.Run("in-response", func(b *testing.B) {
		cpu0 := procstat.Total(b)
		b.ResetTimer()
		for range b.N {
			cb := &callback{answered: make(chan struct{}), reply: &tg.AnswerCallbackQueryParams{CallbackQueryID: "cq1"}}
			a.answerInResponse(httptest.NewRecorder(), cb)
		}
		b.StopTimer()
		b.ReportMetric(float64((procstat.Total(b)-cpu0).Microseconds())/float64(b.N), "cpu-µs/op")
	})
}
