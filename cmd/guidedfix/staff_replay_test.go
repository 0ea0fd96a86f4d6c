package main

import (
	"strings"
	"testing"

	"guidedfix/adapters/slack/fakeslack"
)

// TestStaffCommandReplayedAfterRestartEndToEnd: `/guidedfix handoff` is
// delivered, serve restarts, and the same signed command (same
// trigger_id) is delivered again: one hand-off is created and one e-mail
// (real SMTP) carries its link; the replay gets no answer.
func TestStaffCommandReplayedAfterRestartEndToEnd(t *testing.T) {
	e := newE2E(t)
	form := fakeslack.FormJSON(e.sl.Command(agent, e2eSupport, "/guidedfix", "handoff "+zoe+" T-77"))
	e.push("slash_commands", form)
	if got := e.ephemeralTo(agent); !strings.Contains(got, "created for "+zoe) {
		t.Fatalf("hand-off answered %q", got)
	}
	e.stop()
	e.start()
	e.push("slash_commands", form)
	e.stop() // waits for the work the replay started
	created := 0
	for _, m := range e.sl.Ephemeral() {
		if m.User == agent && strings.Contains(m.Text, "created for "+zoe) {
			created++
		}
	}
	mails := 0
	for _, m := range e.smtp.messages() {
		if m.To == zoe && strings.Contains(m.Subject, "Finish your account security change") {
			mails++
		}
	}
	if created != 1 || mails != 1 {
		t.Fatalf("%d hand-off answers and %d hand-off e-mails after the replay, want 1 and 1", created, mails)
	}
}
