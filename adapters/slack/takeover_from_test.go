package slack_test

import (
	"slices"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/bot"
)

// TestTakeOverFrom: issue 11 item 10 through the real slack-go client on
// fakeslack. Only the agent holding a conversation hands it back; another
// staff member's hand-back is refused and audited; "Take over from
// <agent>" moves the conversation to them, tells the previous agent in the
// thread and is audited under the account; the previous agent can then no
// longer hand it back, and a stale "Take over from" changes nothing.
func TestTakeOverFrom(t *testing.T) {
	h, d := newStaffHarness(t, slack.ModeHTTP)
	h.start()
	h.press("_human")
	h.wantLast(bot.MsgEscalated, nil)
	take := h.supportButton("guidedfix_takeover")
	thread, conv := take.MessageTS, "slack:"+h.dm()
	account := h.session().Tags["account"]
	if account == "" {
		t.Fatal("the session has no account")
	}
	stats := h.env.Core.Stats()
	if got := h.clickAs(staffer, take); got != "" {
		t.Fatalf("take-over answered %q", got)
	}
	samBack := h.supportButton("guidedfix_handback")
	samFrom := h.supportButton("guidedfix_takeover_from")
	if samFrom.Value != conv+"|"+staffer || samFrom.Text != "Take over from Sam" || samFrom.MessageTS != samBack.MessageTS || samBack.Value != conv {
		t.Fatalf("the take-over note's buttons: %+v %+v", samBack, samFrom)
	}

	// The holder's own "Take over from" changes nothing; a non-staff
	// member is refused (audited under the account).
	if got := h.clickAs(staffer, samFrom); got != h.text("slack.staff.you_have_it", nil) {
		t.Fatalf("take over from oneself: %q", got)
	}
	if got := h.clickAs(alice, samFrom); got != h.text("slack.staff.refused", map[string]any{"What": "take a conversation over"}) {
		t.Fatalf("take over from by a non-staff member: %q", got)
	}
	if d.lastAccount() != account {
		t.Fatalf("refusal recorded under %q, want %q", d.lastAccount(), account)
	}
	// Another agent's plain hand-back is refused, points to "Take over
	// from" and is audited.
	if got := h.clickAs(grouped, samBack); got != h.text("slack.staff.not_your_hand_back", map[string]any{"Holder": staffer}) {
		t.Fatalf("hand-back by another agent: %q", got)
	}
	if got := h.clickAs(grouped, take); got != h.text("slack.staff.already_taken", map[string]any{"Holder": staffer}) {
		t.Fatalf("take-over by another agent: %q", got)
	}
	if s := h.session(); s.Agent != "Sam" {
		t.Fatalf("agent %q after the refusals", s.Agent)
	}

	// "Take over from Sam" by Gil moves it.
	if got := h.clickAs(grouped, samFrom); got != "" {
		t.Fatalf("take over from answered %q", got)
	}
	if d.lastAccount() != account {
		t.Fatalf("take over from recorded under %q, want %q", d.lastAccount(), account)
	}
	if _, holder, _ := d.Thread(t.Context(), supportCh, thread); holder != grouped {
		t.Fatalf("holder %q, want %q", holder, grouped)
	}
	if s := h.session(); s.Agent != "Gil" || s.Expect != bot.SecretNone || s.HeldExpect != bot.SecretPassword {
		t.Fatalf("after take over from: agent %q, expect %q, held %q", s.Agent, s.Expect, s.HeldExpect)
	}
	h.wantLast(bot.MsgTakenOver, map[string]any{"Agent": "Gil"})
	texts := h.threadTexts(thread)
	if texts[0] != h.text("slack.staff.took_over_moved", map[string]any{"User": staffer, "To": grouped}) ||
		texts[len(texts)-1] != h.text("slack.staff.took_over_from", map[string]any{"User": grouped, "From": staffer, "Name": "Gil"}) {
		t.Fatalf("thread after take over from %q", texts)
	}
	gilBack := h.supportButton("guidedfix_handback")
	gilFrom := h.supportButton("guidedfix_takeover_from")
	if gilBack.MessageTS == samBack.MessageTS || gilFrom.MessageTS != gilBack.MessageTS || gilFrom.Value != conv+"|"+grouped || gilFrom.Text != "Take over from Gil" {
		t.Fatalf("the new note's buttons: %+v %+v", gilBack, gilFrom)
	}
	if n := len(slices.DeleteFunc(h.fake.Buttons(supportCh), func(b fakeslack.Button) bool { return b.MessageTS != samBack.MessageTS })); n != 0 {
		t.Fatalf("Sam's note still has %d buttons", n)
	}

	// Sam no longer hands back, and Sam's stale "Take over from Sam"
	// changes nothing; Sam's replies no longer reach the customer.
	if got := h.clickAs(staffer, samBack); got != h.text("slack.staff.not_your_hand_back", map[string]any{"Holder": grouped}) {
		t.Fatalf("hand-back by the previous agent: %q", got)
	}
	if got := h.clickAs(staffer, samFrom); got != h.text("slack.staff.holder_changed", map[string]any{"Holder": grouped}) {
		t.Fatalf("a stale take over from: %q", got)
	}
	before := len(h.texts(h.dm()))
	reply, _ := h.fake.ReplyEvent(staffer, supportCh, thread, "still here")
	h.tr.event(reply)
	if got := h.texts(h.dm())[before:]; len(got) != 0 {
		t.Fatalf("the previous agent's reply reached the customer: %q", got)
	}
	if s := h.session(); s.Agent != "Gil" {
		t.Fatalf("agent %q after Sam's attempts", s.Agent)
	}

	// Gil hands back.
	if got := h.clickAs(grouped, gilBack); got != "" {
		t.Fatalf("Gil's hand-back answered %q", got)
	}
	if s := h.session(); s.Agent != "" || s.Expect != bot.SecretPassword {
		t.Fatalf("after the hand-back: agent %q, expect %q", s.Agent, s.Expect)
	}
	if got := h.clickAs(staffer, gilFrom); got != h.text("slack.staff.nobody_has_it", nil) {
		t.Fatalf("take over from after the hand-back: %q", got)
	}

	// Staff moved the conversation three times and changed nothing on the
	// account: no support path bypasses the customer's own proof
	// (security checklist item 23).
	if st := h.env.Core.Stats(); st != stats {
		t.Fatalf("the staff actions changed the core: %+v, was %+v", st, stats)
	}

	want := []string{
		staffer + " takeover took over " + conv + " as Sam true",
		alice + " staff_refused takeover_from false",
		grouped + " handback refused: " + conv + " is held by " + staffer + " true",
		grouped + " takeover_from took over " + conv + " from " + staffer + " as Gil true",
		staffer + " handback refused: " + conv + " is held by " + grouped + " true",
		grouped + " handback handed " + conv + " back to the guided steps true",
	}
	if got := d.recorded(); !slices.Equal(got, want) {
		t.Fatalf("records\n%q\nwant\n%q", got, want)
	}
}
