package slack_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/internal/portal"
)

// TestSocketModeAcksBeforeWork: in Socket Mode every envelope (a slash
// command in a channel, a staff command, a DM message, a button press)
// is acknowledged before any of its work: the acks all arrive while every
// Web API call is held unanswered, the command's with its "moved to your
// DM" note. Once Slack answers again the work is done.
func TestSocketModeAcksBeforeWork(t *testing.T) {
	h, d := newStaffHarness(t, slack.ModeSocket)
	h.env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	h.tr.event(h.fake.HomeOpenedEvent(alice)) // the Home tab's Start button
	start := h.fake.HomeButtons(alice)[0]
	const bob = "U2BOB"
	h.fake.AddUser(fakeslack.User{ID: bob, Email: "bob@example.com"})
	dm := h.fake.IM(bob)
	event, _ := h.fake.MessageEvent(bob, dm, "2fa")

	resume := h.fake.Pause()
	defer resume()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	envelopes := []struct {
		typ     string
		payload []byte
	}{
		{"slash_commands", fakeslack.FormJSON(h.fake.Command(alice, public, "/guidedfix", ""))},
		{"slash_commands", fakeslack.FormJSON(h.fake.Command(staffer, supportCh, "/guidedfix", "handoff zoe@example.com"))},
		{"events_api", event},
		{"interactive", h.fake.Click(alice, start)},
	}
	var ids []string
	for _, e := range envelopes {
		id, err := h.fake.Push(ctx, e.typ, e.payload)
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	for i, id := range ids {
		ack, err := h.fake.WaitAck(ctx, id)
		if err != nil {
			t.Fatalf("envelope %d (%s) not acknowledged while the Web API is held: %v", i, envelopes[i].typ, err)
		}
		if i == 0 {
			var note struct {
				Text string `json:"text"`
			}
			if json.Unmarshal(ack, &note) != nil || note.Text != h.text("slack.moved_to_dm", nil) {
				t.Fatalf("ack of the command in a channel: %s", ack)
			}
		}
	}
	resume()
	slack.WaitIdle(h.a)
	if len(d.handoffs) != 1 {
		t.Fatalf("hand-offs %q, want 1", d.handoffs)
	}
	if len(h.fake.History(dm)) == 0 || len(h.fake.History(h.dm())) == 0 {
		t.Fatal("the flows did not start after the acks")
	}
}
