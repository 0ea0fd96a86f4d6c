package slack_test

import (
	"testing"

	"guidedfix/adapters/slack"
)

// TestStaffHandoffWrongMethod (fixcore item 4): a hand-off the desk
// refuses with *slack.WrongMethodError is answered with exactly
// slack.staff.wrong_method, naming both methods in the staff's words and
// the flow's title, and no link.
func TestStaffHandoffWrongMethod(t *testing.T) {
	for _, mode := range []string{slack.ModeHTTP, slack.ModeSocket} {
		t.Run(mode, func(t *testing.T) {
			h, d := newStaffHarness(t, mode)
			data := map[string]any{"Email": "app@example.com",
				"Has": h.text("slack.staff.method.totp", nil), "Needs": h.text("slack.staff.method.sms", nil)}
			if title := h.env.Engine.Flows()[0].Title; title != "" {
				data["Flow"] = h.text(title, nil)
			}
			want := h.text("slack.staff.wrong_method", data)
			if got := h.staffCommand(staffer, "handoff app@example.com T-4"); got != want {
				t.Fatalf("handoff for an app account: %q, want %q", got, want)
			}
			if len(d.handoffs) != 1 {
				t.Fatalf("desk calls %q, want 1", d.handoffs)
			}
		})
	}
}
