package bot_test

import (
	"context"
	"testing"

	"guidedfix/bot"
)

// TestOutboxSavesPerTurn (issue 14): a turn's delivered marks cost one
// durable write for all its replies, not one per message: a turn that
// sends three messages makes two durable writes (the turn's save, the
// marks), the burst flow's start, whose Sensitive QR message is not the
// last reply, three (its mark saved at once), and a turn with a checkpoint
// three (checkpoint, save, marks).
func TestOutboxSavesPerTurn(t *testing.T) {
	r := newCrashRig(t)
	writes := func() uint64 { return r.st.CommitStats().Writes }
	w0 := writes()
	if err := r.handle(ev(bot.KindStart, "u1")); err != nil {
		t.Fatal(err)
	}
	if n := writes() - w0; n != 3 {
		t.Errorf("start (3 messages, a Sensitive one in the middle): %d durable writes, want 3", n)
	}
	w0 = writes()
	if err := r.handle(bot.Event{Conversation: conv, UserID: "u1", UpdateID: "u2", Kind: bot.KindText, Text: "pw", MessageID: "m9"}); err != nil {
		t.Fatal(err)
	}
	if n := writes() - w0; n != 3 {
		t.Errorf("typed secret (deletion, checkpoint, 1 message): %d durable writes, want 3", n)
	}
	r.wantSent("send:one", "send:qr", "send:engine.help_idle", "delete:"+bot.MsgDeleteUserSecret, "send:checked")
	s, err := r.e.Session(context.Background(), conv)
	if err != nil || len(s.Outbox) != 0 || s.Messages["qr"] == "" || s.Version != 6 {
		t.Fatalf("session %+v, %v; want no outbox, the QR code's id, version 6", s, err)
	}

	rp := newCrashRig(t)
	rp.other = plainFlow{}
	rp.restart()
	w0 = rp.st.CommitStats().Writes
	if err := rp.handle(ev(bot.KindStart, "p1")); err != nil {
		t.Fatal(err)
	}
	if n := rp.st.CommitStats().Writes - w0; n != 2 {
		t.Errorf("start (3 plain messages and an edit): %d durable writes, want 2", n)
	}
	rp.wantSent("send:a", "send:b", "send:c", "edit:a2")
}

// plainFlow answers /start with three messages and an edit of the first.
type plainFlow struct{}

func (plainFlow) Name() string { return "burst" }
func (plainFlow) Start(ctx context.Context, t *bot.Turn) error {
	t.Goto("ask")
	t.Send(bot.Reply{ID: "a", Text: "a", Ref: "a"})
	t.Send(bot.Reply{ID: "b", Text: "b"})
	t.Send(bot.Reply{ID: "c", Text: "c"})
	t.Send(bot.Reply{Op: bot.OpEdit, ID: "a2", Text: "a2", Ref: "a"})
	return nil
}
func (plainFlow) Handle(ctx context.Context, t *bot.Turn) error { return nil }
func (plainFlow) Expire(ctx context.Context, t *bot.Turn) error { return nil }
