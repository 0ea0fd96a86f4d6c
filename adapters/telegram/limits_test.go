package telegram

import (
	"context"
	"slices"
	"strconv"
	"testing"
	"time"

	tg "github.com/go-telegram/bot"

	"guidedfix/bot"
)

// TestLimiterSpendsOnlyOnMessages (issue 14): with Telegram's default
// limits (1 s per chat, burst 3; 30 a second overall), deletions and
// callback answers never wait and take nothing from either budget:
// after 3 sends (the burst) any number of deletions and callback answers
// go at once, and the next send still waits exactly one interval, as it
// would have without them; edits are metered like sends.
func TestLimiterSpendsOnlyOnMessages(t *testing.T) {
	h := newHarness(t, false, func(o *Options) { o.PerChatInterval, o.GlobalPerSecond = time.Second, 30 })
	ctx := context.Background()
	var ids []string
	for i := range 3 {
		id, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpSend, Text: "m" + strconv.Itoa(i)})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	if got := h.slept(); len(got) != 0 {
		t.Fatalf("the burst of 3 waited %v", got)
	}
	for _, id := range ids[:2] {
		if _, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpDelete, MessageID: id}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 40 { // more than the global budget of a second
		cb := h.fake.Callback(h.chat, h.user, 0, "x")
		err := h.a.callFree(ctx, 0, func(ctx context.Context) error {
			_, err := h.a.api.AnswerCallbackQuery(ctx, &tg.AnswerCallbackQueryParams{CallbackQueryID: cb.CallbackQuery.ID})
			return err
		})
		if err != nil {
			t.Fatalf("answer %d: %v", i, err)
		}
	}
	if got := h.slept(); len(got) != 0 {
		t.Fatalf("deletions and callback answers waited %v", got)
	}
	if _, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpEdit, MessageID: ids[2], Text: "edited"}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpSend, Text: "after"}); err != nil {
		t.Fatal(err)
	}
	// The edit is the 4th metered call (1 s after the burst), the send the 5th.
	if got, want := h.slept(), []time.Duration{time.Second, time.Second}; !slices.Equal(got, want) {
		t.Fatalf("edit and send slept %v, want %v", got, want)
	}
	if n := len(h.fake.Calls("answerCallbackQuery")); n != 40 {
		t.Fatalf("%d callback answers reached the fake, want 40", n)
	}
}
