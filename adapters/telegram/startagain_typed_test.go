package telegram

import (
	"strconv"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
)

// TestTypedCodeClosesStartAgainOverTheBotAPI (issue 14 F6) drives the
// real adapter against the fake Bot API: /start at the code step asks
// first; a code typed instead (a wrong one, so the step stays) is deleted
// at once, answers the step, and the question's message is edited into
// engine.start_again_continued without its keyboard, in the same turn;
// the old "Start over" pressed afterwards is answered as stale on receipt
// and changes nothing (same session, step, version; the QR photo stays).
func TestTypedCodeClosesStartAgainOverTheBotAPI(t *testing.T) {
	h := newHarness(t, false)
	toSMSCode(t, h)
	h.text(h.env.LastSMSCode(t))
	h.press("disable")
	h.press("setup")
	h.press("app")
	h.wantState(totpswitch.StateAwaitingTOTPCode)
	photos := h.photos()
	if len(photos) != 1 {
		t.Fatalf("QR photos %+v", photos)
	}
	wrong := ""
	for _, c := range h.calls() {
		if c.Method == "sendPhoto" {
			code := h.env.TOTPCode(t, h.env.KeyFromQR(t, c.Files["photo"].Data), 0)
			// The right code with its last digit changed.
			wrong = code[:5] + string(rune((code[5]-'0'+5)%10+'0'))
		}
	}
	if wrong == "" {
		t.Fatal("no sendPhoto")
	}

	h.text("/start")
	qID, over := h.button("_start_over")
	_, cont := h.button("_continue")
	before := h.session()
	if before.PendingStart == nil || before.Messages["start_again"] != strconv.Itoa(qID) {
		t.Fatalf("question: pending %v messages %v, want start_again = %d", before.PendingStart, before.Messages, qID)
	}
	h.calls()

	codeMsg := h.text(wrong)
	cs := h.want("deleteMessage", "editMessageText", "sendMessage")
	if cs[0].Fields["message_id"] != strconv.Itoa(codeMsg.Message.ID) || cs[1].Fields["message_id"] != strconv.Itoa(qID) {
		t.Fatalf("deleted %s, edited %s; want the code %d deleted, the question %d edited", cs[0].Fields["message_id"], cs[1].Fields["message_id"], codeMsg.Message.ID, qID)
	}
	wantText(t, cs[1], h.msg(bot.MsgStartAgainContinued, nil))
	if rm := cs[1].Fields["reply_markup"]; rm != "" {
		t.Fatalf("the question kept a keyboard: %s", rm)
	}
	for _, m := range h.fake.Messages(h.chat.ID) {
		if m.ID == qID && len(m.ReplyMarkup) != 0 && string(m.ReplyMarkup) != "null" {
			t.Fatalf("question message %d still has reply markup %s", qID, m.ReplyMarkup)
		}
	}
	after := h.session()
	if after.ID != before.ID || after.State != totpswitch.StateAwaitingTOTPCode || after.PendingStart != nil || after.Messages["start_again"] != "" {
		t.Fatalf("after the typed code: session %s (was %s) state %q pending %v messages %v", after.ID, before.ID, after.State, after.PendingStart, after.Messages)
	}

	stale := h.msg(bot.MsgStaleButton, nil)
	for _, data := range []string{over, cont} {
		u := h.fake.Callback(h.chat, h.user, qID, data)
		h.deliver(u)
		cs := h.want("answerCallbackQuery")
		if cs[0].Fields["callback_query_id"] != u.CallbackQuery.ID || cs[0].Fields["text"] != stale {
			t.Fatalf("answer to the old %s: %v, want the stale-button text", data, cs[0].Fields)
		}
		if s := h.session(); s.ID != after.ID || s.Step != after.Step || s.Version != after.Version || s.State != after.State ||
			!h.fake.Exists(h.chat.ID, photos[0].ID) {
			t.Fatalf("the old %s changed the session: %s step %d version %d state %q (QR kept %v)", data, s.ID, s.Step, s.Version, s.State, h.fake.Exists(h.chat.ID, photos[0].ID))
		}
	}
}
