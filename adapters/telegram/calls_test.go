package telegram

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"testing"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/qr"
	"guidedfix/internal/testkit"
)

// chatCalls are the Bot API methods that touch a chat (or answer a
// button pressed in it): what a completed flow spends of Telegram's
// limits (issue 14).
var chatCalls = []string{"sendMessage", "sendPhoto", "editMessageText", "editMessageCaption",
	"editMessageReplyMarkup", "deleteMessage", "deleteMessages", "answerCallbackQuery"}

// countCalls returns the calls of cs by method, chat-touching methods only.
func countCalls(cs []fakebotapi.Call) map[string]int {
	out := map[string]int{}
	for _, c := range cs {
		if slices.Contains(chatCalls, c.Method) {
			out[c.Method]++
		}
	}
	return out
}

// TestDefaultFlowCallBudget runs one completed flow in the default order
// (enroll-then-switch) through the real adapter and the fake Bot API, in
// both modes, and pins what it costs by method: at most 9 messages sent
// and 17 chat-touching calls (issue 14), with every secret still deleted
// and the QR code's message protected. The webhook holds its updates in
// the inbox, as `guidedfix serve` does, so the 4 callback answers of the
// 17 go in the webhook's responses (webhookreply.go), not as requests
// of their own; with long polling all 17 are requests.
func TestDefaultFlowCallBudget(t *testing.T) {
	for _, tc := range []struct {
		webhook bool
		lang    string
	}{{false, "en"}, {true, "en"}, {false, "ms"}} {
		t.Run(fmt.Sprintf("webhook=%v,%s", tc.webhook, tc.lang), func(t *testing.T) {
			webhook, en := tc.webhook, tc.lang == "en"
			env := testkit.New(t, testkit.Options{})
			fake := fakebotapi.New(fakebotapi.Options{Token: testToken, BotUsername: botName})
			t.Cleanup(fake.Close)
			h := start(t, env, fake, webhook, func(o *Options) { o.Inbox = env.Store })
			// Malay texts are longer: the joined QR caption must still
			// fit (1024 UTF-16 code units).
			h.user.LanguageCode = tc.lang
			pw := env.AddAccount(t, "alice@example.com", portal.MethodSMS)
			h.calls()

			var all []fakebotapi.Call
			turn := func() []fakebotapi.Call { cs := h.calls(); all = append(all, cs...); return cs }
			h.text("/start")
			cs := turn()
			if en {
				wantText(t, cs[0], h.welcome())
			}
			h.text("alice@example.com")
			turn()
			pwMsg := h.text(pw)
			turn()
			smsMsg := h.text(env.LastSMSCode(t))
			turn()
			h.wantState(totpswitch.StateConfirmDisable)
			confirmID, _ := h.button("disable")
			h.press("disable")
			cs = turn()
			if cs[1].Method != "editMessageText" || cs[1].Fields["message_id"] != strconv.Itoa(confirmID) ||
				(en && cs[1].Fields["text"] != h.msg("totp.swap_kept", nil)+"\n\n"+h.msg("totp.offer_setup", nil)) {
				t.Fatalf("after Disable 2FA: %s %v, want the pressed message %d edited into the next step", cs[1].Method, cs[1].Fields, confirmID)
			}
			h.press("setup")
			turn()
			h.press("app")
			cs = turn()
			photo := cs[len(cs)-1]
			if photo.Method != "sendPhoto" || photo.Fields["protect_content"] != "true" {
				t.Fatalf("QR step ends in %s %v, want a protected sendPhoto", photo.Method, photo.Fields)
			}
			key := env.KeyFromQR(t, photo.Files["photo"].Data)
			grouped := qr.ManualKey(key.Secret())
			caption := photo.Fields["caption"]
			if !strings.Contains(caption, grouped) || (en && !strings.Contains(caption, h.msg("totp.ask_totp", map[string]any{"Issuer": "IP ServerOne"}))) {
				t.Fatalf("QR caption %q lacks the manual key or the code request", caption)
			}
			var ents []struct {
				Type           string
				Offset, Length int
			}
			if err := json.Unmarshal([]byte(photo.Fields["caption_entities"]), &ents); err != nil || len(ents) != 1 || ents[0].Type != "code" ||
				ents[0].Offset != utf16Len(caption[:strings.Index(caption, grouped)]) || ents[0].Length != len(grouped) {
				t.Fatalf("caption_entities %q (%v), want one code entity on the key", photo.Fields["caption_entities"], err)
			}
			codeMsg := h.text(env.TOTPCode(t, key, 0))
			cs = turn()
			if cs[0].Method != "deleteMessages" || cs[0].Fields["message_ids"] != fmt.Sprintf("[%d,%d]", codeMsg.Message.ID, photo.MessageID()) {
				t.Fatalf("after the code: %s %v, want the code and the QR deleted in one call", cs[0].Method, cs[0].Fields)
			}
			h.press("okay")
			turn()
			if s := h.session(); s.State != totpswitch.StateDone || !s.Done || s.Locale != tc.lang {
				t.Fatalf("final state %q done %v locale %q", s.State, s.Done, s.Locale)
			}
			if a, _ := env.Core.LookupAccount(context.Background(), "alice@example.com"); a.Method != portal.MethodTOTP {
				t.Fatalf("final method %q", a.Method)
			}
			for _, id := range []int{pwMsg.Message.ID, smsMsg.Message.ID, codeMsg.Message.ID, photo.MessageID()} {
				if h.fake.Exists(h.chat.ID, id) {
					t.Errorf("message %d is still in the chat", id)
				}
			}

			got := countCalls(all)
			want := map[string]int{"sendMessage": 5, "sendPhoto": 1, "editMessageText": 3, "editMessageReplyMarkup": 1,
				"deleteMessage": 2, "deleteMessages": 1, "answerCallbackQuery": 4}
			total := 0
			for _, n := range got {
				total += n
			}
			inWebhook, _ := answers(all)
			t.Logf("calls per completed flow: %v (total %d, messages %d, %d in webhook responses)", got, total, got["sendMessage"]+got["sendPhoto"], len(inWebhook))
			if !maps.Equal(got, want) {
				t.Fatalf("calls by method %v\nwant %v", got, want)
			}
			wantInWebhook := 0
			if webhook {
				wantInWebhook = 4
			}
			replies := 0
			for _, c := range all {
				if c.Webhook {
					replies++
				}
			}
			if len(inWebhook) != wantInWebhook || replies != wantInWebhook {
				t.Fatalf("%d answerCallbackQuery (%d calls) in webhook responses, want %d", len(inWebhook), replies, wantInWebhook)
			}
			if sent := got["sendMessage"] + got["sendPhoto"]; sent > 9 || total > 17 {
				t.Fatalf("%d messages, %d calls: over the budget of 9 and 17", sent, total)
			}
		})
	}
}

// TestCancelAtQRStepDeletesItAtOnce: Cancel pressed on the QR code's
// message deletes it (one call, no keyboard removal first) and says so
// in a new message; SMS 2FA stays as it was (enroll-then-switch).
func TestCancelAtQRStepDeletesItAtOnce(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	fake := fakebotapi.New(fakebotapi.Options{Token: testToken, BotUsername: botName})
	t.Cleanup(fake.Close)
	h := start(t, env, fake, false)
	pw := env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	h.text("/start")
	h.text("alice@example.com")
	h.text(pw)
	h.text(env.LastSMSCode(t))
	h.press("disable")
	h.press("setup")
	h.press("app")
	photo := h.fake.Calls("sendPhoto")[0]
	h.calls()
	h.press("cancel")
	cs := h.want("answerCallbackQuery", "deleteMessage", "sendMessage")
	if cs[1].Fields["message_id"] != strconv.Itoa(photo.MessageID()) {
		t.Fatalf("deleted %v, want the QR code %d", cs[1].Fields, photo.MessageID())
	}
	wantText(t, cs[2], h.msg("totp.cancelled_unchanged", nil))
	h.wantState(totpswitch.StateCancelled)
	for _, m := range h.fake.Messages(h.chat.ID) {
		if m.HasProtectedContent || len(m.Photo) > 0 {
			t.Errorf("sensitive message %d left in the chat", m.ID)
		}
	}
	if a, _ := env.Core.LookupAccount(context.Background(), "alice@example.com"); a.Method != portal.MethodSMS {
		t.Fatalf("method %q after a cancel, want SMS kept", a.Method)
	}
}
