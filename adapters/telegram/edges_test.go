package telegram

import (
	"strconv"
	"testing"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/flows/totpswitch"
)

// photos returns the ids of the photo messages in the chat.
func (h *harness) photos() []fakebotapi.Message {
	var out []fakebotapi.Message
	for _, m := range h.fake.Messages(h.chat.ID) {
		if len(m.Photo) > 0 {
			out = append(out, m)
		}
	}
	return out
}

// TestShowQRAgainAndStartAgainOverTheBotAPI drives the real adapter
// against the fake Bot API: "Show the QR code again" deletes the QR photo
// and sends a new protected one; /start at the code step asks first,
// "Continue" keeps the step and sends the QR photo again the same way
// (issue 14 F8: one protected photo in the chat, the new one), "Start
// over" deletes the photo and begins a new conversation.
func TestShowQRAgainAndStartAgainOverTheBotAPI(t *testing.T) {
	h := newHarness(t, false)
	toSMSCode(t, h)
	h.text(h.env.LastSMSCode(t))
	h.press("disable")
	h.press("setup")
	h.press("app")
	h.wantState(totpswitch.StateAwaitingTOTPCode)
	first := h.photos()
	if len(first) != 1 || !first[0].HasProtectedContent {
		t.Fatalf("QR photos %+v, want one protected", first)
	}
	step := h.session().Step

	h.press("show_qr")
	again := h.photos()
	if len(again) != 1 || again[0].ID == first[0].ID || !again[0].HasProtectedContent || h.fake.Exists(h.chat.ID, first[0].ID) {
		t.Fatalf("after Show the QR code again: photos %+v (first %d still there: %v)", again, first[0].ID, h.fake.Exists(h.chat.ID, first[0].ID))
	}
	if s := h.session(); s.Messages["qr"] != strconv.Itoa(again[0].ID) || s.Step != step {
		t.Fatalf("session qr message %q step %d, want %d step %d", s.Messages["qr"], s.Step, again[0].ID, step)
	}

	h.text("/start")
	h.press("_continue")
	resumed := h.photos()
	if len(resumed) != 1 || resumed[0].ID == again[0].ID || !resumed[0].HasProtectedContent || h.fake.Exists(h.chat.ID, again[0].ID) {
		t.Fatalf("after Continue: photos %+v (previous %d still there: %v)", resumed, again[0].ID, h.fake.Exists(h.chat.ID, again[0].ID))
	}
	if s := h.session(); s.State != totpswitch.StateAwaitingTOTPCode || s.Step != step || s.Messages["qr"] != strconv.Itoa(resumed[0].ID) {
		t.Fatalf("after Continue: state %q step %d qr message %q, want %q step %d qr %d", s.State, s.Step, s.Messages["qr"],
			totpswitch.StateAwaitingTOTPCode, step, resumed[0].ID)
	}
	old := h.session().ID
	h.text("/start")
	h.press("_start_over")
	if s := h.session(); s.ID == old || s.State != totpswitch.StateAwaitingEmail || h.fake.Exists(h.chat.ID, resumed[0].ID) {
		t.Fatalf("after Start over: session %s state %q, photo kept %v", s.ID, s.State, h.fake.Exists(h.chat.ID, resumed[0].ID))
	}
}
