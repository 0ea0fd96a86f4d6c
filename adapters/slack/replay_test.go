package slack_test

import (
	"slices"
	"testing"

	"guidedfix/adapters/slack"
)

// TestStaffCommandReplayedAfterRestart: a signed "/guidedfix handoff"
// delivered again after a restart (same trigger_id, freshly signed) does
// not create a second hand-off: the desk's HandOff, which creates the
// hand-off and e-mails the link, runs once, and the replay gets no
// answer. A new command after the restart still works.
func TestStaffCommandReplayedAfterRestart(t *testing.T) {
	h, d := newStaffHarness(t, slack.ModeHTTP)
	form := h.fake.Command(staffer, supportCh, "/guidedfix", "handoff zoe@example.com T-1")
	n := len(h.fake.Ephemeral())
	h.tr.command(form)
	if got := h.ephemeralSince(n, staffer); got == "" {
		t.Fatal("no answer to the hand-off")
	}
	d.a = h.restart()
	n = len(h.fake.Ephemeral())
	h.tr.command(form)
	if got := h.fake.Ephemeral()[n:]; len(got) != 0 {
		t.Fatalf("answers to the replay: %+v", got)
	}
	if want := []string{staffer + " totpswitch zoe@example.com T-1"}; !slices.Equal(d.handoffs, want) {
		t.Fatalf("hand-offs %q, want %q", d.handoffs, want)
	}
	h.staffCommand(staffer, "handoff zoe@example.com T-2")
	if len(d.handoffs) != 2 {
		t.Fatalf("hand-offs after a new command: %q", d.handoffs)
	}
}
