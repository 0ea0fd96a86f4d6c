package bot_test

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"testing"
	"time"
	"unicode/utf8"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// joiner is a recorder that joins replies up to limit bytes of text and
// deletes several messages in one call (bot.Joiner, bot.BatchDeleter).
type joiner struct {
	recorder
	limit int
}

func (j *joiner) Joins(first, next bot.Reply) bool {
	return utf8.RuneCountInString(bot.JoinReplies(first, next).Text) <= j.limit
}

func (j *joiner) BatchDelete() int { return 100 }

// joinFlow welcomes, sends a QR code (sensitive, ref "qr") and asks a
// code; the code deletes the QR code and says it was checked.
type joinFlow struct{ rerendered int }

func (f *joinFlow) Name() string { return "join" }

func (f *joinFlow) Start(ctx context.Context, t *bot.Turn) error {
	t.Goto("ask")
	t.Send(bot.Reply{ID: "hello", Text: "hello"})
	t.Send(bot.Reply{ID: "lead", Text: "lead"})
	t.Send(bot.Reply{ID: "qr", Text: "scan", Image: []byte(burstSecret), Sensitive: true, Protected: true, Ref: "qr"})
	t.Send(bot.Reply{ID: "key", Text: "key " + burstSecret, Code: []string{burstSecret}, Sensitive: true, Ref: "key"})
	t.Ask(bot.SecretTOTPCode, "engine.help_idle", nil, bot.Button{Label: "Cancel", Data: "cancel"})
	return nil
}

func (f *joinFlow) Handle(ctx context.Context, t *bot.Turn) error {
	if t.Event.Kind == bot.KindSecret {
		t.Delete("qr")
		t.Delete("key")
		t.End("done")
		t.Send(bot.Reply{ID: "checked", Text: "checked"})
	}
	return nil
}

func (f *joinFlow) Expire(ctx context.Context, t *bot.Turn) error { return nil }

func (f *joinFlow) Rerender(ctx context.Context, t *bot.Turn, r bot.Reply) (bot.Reply, error) {
	f.rerendered++
	switch r.Ref {
	case "qr":
		r.Text, r.Image = "scan", []byte(burstSecret)
	case "key":
		r.Text, r.Code = "key "+burstSecret, []string{burstSecret}
	default:
		return r, errors.New("unknown")
	}
	return r, nil
}

func joinEngine(t *testing.T, d bot.Deliverer, hook func(bot.Hook, *bot.Session)) (*bot.Engine, *joinFlow, *store.Bolt) {
	t.Helper()
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &joinFlow{}
	clk := &clock{t: time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)}
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{f}, Now: clk.now, Logger: quiet, Hook: hook})
	if err != nil {
		t.Fatal(err)
	}
	e.Register("test", d)
	return e, f, st
}

// TestJoinerGetsOneMessagePerRun: consecutive sends go out as one reply
// (texts joined by a blank line, the later buttons and secret prompt, the
// photo of the first), never joined into a reply with buttons and never
// with a photo after the first; every part's ref names the one message;
// a deliverer that is no Joiner gets every reply on its own.
func TestJoinerGetsOneMessagePerRun(t *testing.T) {
	j := &joiner{limit: 4096}
	e, _, _ := joinEngine(t, j, nil)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	if got, want := j.ids(), []string{"send:hello+lead", "send:qr+key+engine.help_idle"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	qr := j.last()
	if qr.Text != "scan\n\nkey "+burstSecret+"\n\n"+e.Text("", "test", "engine.help_idle", nil) || string(qr.Image) != burstSecret ||
		qr.Secret != bot.SecretTOTPCode || !qr.Sensitive || !qr.Protected || qr.Ref != "qr" || len(qr.Buttons) != 1 ||
		!slices.Equal(qr.Code, []string{burstSecret}) {
		t.Fatalf("joined QR reply %+v", qr)
	}
	s, err := e.Session(context.Background(), conv)
	if err != nil {
		t.Fatal(err)
	}
	if s.Messages["qr"] != "msg2" || s.Messages["key"] != "msg2" || s.Messages["prompt"] != "msg2" || len(s.Outbox) != 0 {
		t.Fatalf("refs %v outbox %d, want qr, key and prompt on msg2 and nothing left", s.Messages, len(s.Outbox))
	}

	// The typed code's message and the QR code go in one deletion.
	code := ev(bot.KindText, "2")
	code.Text, code.MessageID = "123456", "u7"
	mustHandle(t, e, code)
	if got, want := j.ids()[2:], []string{"delete:", "send:checked"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	if del := j.replies[2]; del.MessageID != "u7,msg2" || del.Ref != "qr,key" {
		t.Fatalf("batched delete %+v, want the code u7 and the QR msg2", del)
	}

	// Too long to join: each on its own.
	j2 := &joiner{limit: 8}
	e2, _, _ := joinEngine(t, j2, nil)
	mustHandle(t, e2, ev(bot.KindStart, "1"))
	if got, want := j2.ids(), []string{"send:hello", "send:lead", "send:qr", "send:key", "send:engine.help_idle"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	plain := &recorder{}
	e3, _, _ := joinEngine(t, plain, nil)
	mustHandle(t, e3, ev(bot.KindStart, "1"))
	if got := plain.ids(); len(got) != 5 {
		t.Fatalf("a deliverer that is no Joiner got %q", got)
	}
}

// TestJoinedSensitiveRepliesRenderedAgainAfterACrash: killed after the
// turn was saved, the redelivered update renders the sensitive parts
// again (once each) and joins them as before; the store never held them.
func TestJoinedSensitiveRepliesRenderedAgainAfterACrash(t *testing.T) {
	crashed := false
	j := &joiner{limit: 4096}
	e, f, _ := joinEngine(t, j, func(h bot.Hook, _ *bot.Session) {
		if h == bot.HookSaved && !crashed {
			crashed = true
			panic("killed after the save")
		}
	})
	if err := e.Handle(context.Background(), ev(bot.KindStart, "1")); !errors.Is(err, bot.ErrPanic) {
		t.Fatalf("crash turn: %v", err)
	}
	if len(j.ids()) != 0 {
		t.Fatalf("delivered %q before the crash", j.ids())
	}
	mustHandle(t, e, ev(bot.KindStart, "1"))
	if got, want := j.ids(), []string{"send:hello+lead", "send:qr+key+engine.help_idle"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
	if got := j.last(); string(got.Image) != burstSecret || !slices.Equal(got.Code, []string{burstSecret}) {
		t.Fatalf("rendered again %+v", got)
	}
	if f.rerendered != 2 {
		t.Fatalf("rerendered %d replies, want 2 (QR, key)", f.rerendered)
	}
}

// failingDeleter fails every deletion.
type failingDeleter struct{ joiner }

func (d *failingDeleter) Deliver(ctx context.Context, to bot.Conversation, r bot.Reply) (string, error) {
	if r.Op == bot.OpDelete {
		d.replies = append(d.replies, r)
		return "", errors.New("Bad Request: message can't be deleted for everyone")
	}
	return d.joiner.Deliver(ctx, to, r)
}

// TestBatchedDeleteFailureAsksTheUser: when the call that deletes the
// typed code with the QR code fails, the user is asked to delete the code.
func TestBatchedDeleteFailureAsksTheUser(t *testing.T) {
	d := &failingDeleter{joiner{limit: 4096}}
	e, _, _ := joinEngine(t, d, nil)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	code := ev(bot.KindText, "2")
	code.Text, code.MessageID = "123456", "u7"
	mustHandle(t, e, code)
	if got, want := d.ids()[2:], []string{"delete:", "send:" + bot.MsgDeleteFailed, "send:checked"}; !slices.Equal(got, want) {
		t.Fatalf("delivered %q, want %q", got, want)
	}
}
