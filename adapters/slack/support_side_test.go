package slack_test

import (
	"slices"
	"strings"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/bot"
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

// TestSupportChannelWithoutTheApp: the app is not a member of the support
// channel. At start (Socket Mode: Run) conversations.info finds it, the
// log says so; a hand-off's answer does not claim that each step is
// posted there but says the app cannot post there; "Talk to a person"
// tells the customer support is unreachable (engine.support_unreachable,
// Slack wording) and the flow stays at its step. Once the app is in the
// channel (checked again), escalations work.
func TestSupportChannelWithoutTheApp(t *testing.T) {
	h, _ := newStaffHarnessWith(t, slack.ModeSocket, func(f *fakeslack.Server) { f.RemoveApp(supportCh) })
	got := h.staffCommand(staffer, "handoff zoe@example.com")
	if want := "\n" + h.text("slack.staff.support_unreachable", map[string]any{"Channel": supportCh}); !strings.HasSuffix(got, want) {
		t.Fatalf("hand-off answer %q\nwant it to end with %q", got, want)
	}
	if strings.Contains(got, "I post each step") {
		t.Fatalf("the hand-off answer claims the steps are posted: %q", got)
	}
	if n := len(h.fake.Calls("conversations.info")); n != 1 {
		t.Fatalf("%d conversations.info calls at start, want 1", n)
	}
	if !strings.Contains(h.env.Log.String(), "the support channel cannot be used") {
		t.Fatal("the log does not say the support channel cannot be used")
	}

	h.start()
	before := h.session()
	h.press("_human")
	h.wantLast(bot.MsgSupportUnreachable, nil)
	if s := h.session(); s.State != before.State || s.Agent != "" {
		t.Fatalf("session after an unreachable escalation: state %q agent %q", s.State, s.Agent)
	}
	if len(h.fake.History(supportCh)) != 0 {
		t.Fatal("something was posted in the support channel")
	}

	h.fake.AddChannel(supportCh) // the app is invited
	if err := h.a.CheckSupportChannel(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.press("_human")
	h.wantLast(bot.MsgEscalated, nil)
	h.supportButton("guidedfix_takeover")
	if got := h.staffCommand(staffer, "handoff zoe@example.com"); !strings.Contains(got, "<#"+supportCh+">") {
		t.Fatalf("hand-off answer once the app is in the channel: %q", got)
	}
}
