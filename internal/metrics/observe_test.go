package metrics

import (
	"context"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"guidedfix/bot"
)

// TestObserveCountsRestoredByTag: a session that ends carrying the
// bot.TagRestored counts as restored, whatever its last state was called; one
// without it does not.
func TestObserveCountsRestoredByTag(t *testing.T) {
	m := New()
	conv := bot.Conversation{Channel: "telegram", ID: "1"}
	m.Observe(context.Background(), bot.Transition{Conversation: conv, Flow: "f", From: "step_a", To: "expired", Done: true,
		Tags: map[string]string{bot.TagRestored: "sms"}})
	m.Observe(context.Background(), bot.Transition{Conversation: conv, Flow: "f", From: "step_b", To: "expired", Done: true})
	m.Observe(context.Background(), bot.Transition{Conversation: conv, Flow: "f", From: "step_b", To: "step_c",
		Tags: map[string]string{bot.TagRestored: "sms"}})
	if got := testutil.ToFloat64(m.flowsRestored.WithLabelValues("f", "telegram", "expired")); got != 1 {
		t.Fatalf("restored %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.flowsEnded.WithLabelValues("f", "telegram", "expired")); got != 2 {
		t.Fatalf("ended %v, want 2", got)
	}
}
