package slack_test

import (
	"strings"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
)

// TestModalCodeClosesStartAgain (issue 14 F6) drives the real adapter
// against the fake Slack: /guidedfix without argument at the SMS code
// step asks "Continue" / "Start over"; a code submitted in the still open
// modal instead (a wrong one: shown on the modal, the step stays) answers
// the step, and the question's message is updated into
// engine.start_again_continued without buttons; its old "Start over"
// clicked afterwards gets the stale-button answer and changes nothing
// (same session, step, version). The
// right code then moves on.
func TestModalCodeClosesStartAgain(t *testing.T) {
	h := newHarness(t, setup{mode: slack.ModeHTTP})
	pw := h.start()
	v := h.enter()
	if a := h.submit(v.ID, pw); a.Action != "update" {
		t.Fatalf("answer to the password: %+v", a)
	}
	before := h.session()
	if before.State != totpswitch.StateAwaitingSMSCode {
		t.Fatalf("state %q, want the SMS code step", before.State)
	}
	h.tr.command(h.fake.Command(alice, h.dm(), "/guidedfix", ""))
	h.wantLast(bot.MsgStartAgain, nil)
	over := h.button("Start over", func(b fakeslack.Button) bool { return strings.HasPrefix(b.Value, "_start_over|") })
	if s := h.session(); s.PendingStart == nil || s.Messages["start_again"] != over.MessageTS {
		t.Fatalf("question: pending %v messages %v, want start_again = %s", s.PendingStart, s.Messages, over.MessageTS)
	}

	code := h.env.LastSMSCode(t)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if a := h.submit(v.ID, wrong); a.Action != "errors" || a.Errors["secret"] != h.text("totp.bad_sms_code", map[string]any{"Count": 2}) {
		t.Fatalf("answer to a wrong code: %+v", a)
	}
	slack.WaitIdle(h.a)
	var question *fakeslack.Message
	for _, m := range h.fake.History(h.dm()) {
		if m.TS == over.MessageTS {
			question = &m
		}
	}
	if question == nil {
		t.Fatalf("question message %s gone", over.MessageTS)
	}
	if question.Text != h.text(bot.MsgStartAgainContinued, nil) || strings.Contains(string(question.Blocks), `"actions"`) {
		t.Fatalf("question message after the code: %q %s, want %s without buttons", question.Text, question.Blocks, bot.MsgStartAgainContinued)
	}
	after := h.session()
	if after.ID != before.ID || after.State != totpswitch.StateAwaitingSMSCode || after.PendingStart != nil || after.Messages["start_again"] != "" {
		t.Fatalf("after the code: session %s (was %s) state %q pending %v", after.ID, before.ID, after.State, after.PendingStart)
	}

	h.tr.interact(h.fake.Click(alice, over))
	slack.WaitIdle(h.a)
	h.wantLast(bot.MsgStaleButton, nil)
	if s := h.session(); s.ID != after.ID || s.Step != after.Step || s.Version != after.Version || s.State != after.State {
		t.Fatalf("the old Start over changed the session: %s step %d version %d state %q", s.ID, s.Step, s.Version, s.State)
	}
	if a := h.submit(v.ID, code); a.Action != "" {
		t.Fatalf("answer to the right code: %+v", a)
	}
	if s := h.session(); s.ID != before.ID || s.State != totpswitch.StateConfirmDisable {
		t.Fatalf("after the right code: session %s state %q", s.ID, s.State)
	}
}
