package slack_test

import (
	"slices"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
)

// TestEscalationStoredBeforeTakeOverOffered: the escalation is stored
// before its "Take over" button exists in the support channel, so a
// take-over pressed as soon as the button shows finds it (not "not the
// customer's latest escalation").
func TestEscalationStoredBeforeTakeOverOffered(t *testing.T) {
	h, d := newStaffHarness(t, slack.ModeHTTP)
	var visibleAtStore []fakeslack.Button
	stored := 0
	d.beforeStore = func(ch, th string) {
		stored++
		for _, b := range h.fake.Buttons(supportCh) {
			if b.ActionID == "guidedfix_takeover" {
				visibleAtStore = append(visibleAtStore, b)
			}
		}
	}
	h.start()
	h.press("_human")
	if stored != 1 || len(visibleAtStore) != 0 {
		t.Fatalf("escalations stored %d; take-over buttons visible before the store: %+v", stored, visibleAtStore)
	}
	take := h.supportButton("guidedfix_takeover")
	if got := h.clickAs(staffer, take); got != "" {
		t.Fatalf("an immediate take-over was answered %q", got)
	}
	if s := h.session(); s.Agent != "Sam" {
		t.Fatalf("agent %q after the take-over", s.Agent)
	}
	if got := h.threadTexts(take.MessageTS); len(got) != 1 || slices.Contains(got, h.text("slack.staff.stale_escalation", nil)) {
		t.Fatalf("thread %q", got)
	}
}
