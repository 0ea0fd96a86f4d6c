package logs

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"guidedfix/internal/corr"
)

type event struct{ conv string }

func (e event) LogValue() slog.Value { return slog.GroupValue(slog.String("conversation", e.conv)) }

// TestHandler: the turn id from the context, hashed ids (also inside a
// LogValuer's group), "error" renamed to "err".
func TestHandler(t *testing.T) {
	var b bytes.Buffer
	r := NewRedactor()
	r.SetKey([]byte("k"))
	log := New(&b, slog.LevelDebug, "text", r)
	ctx := corr.With(context.Background(), "T1")
	log.InfoContext(ctx, "x", "conversation", "telegram:4242", "event", event{"telegram:4242"}, "error", errors.New("boom"), "user", "U123")
	want := "level=INFO msg=x conversation=telegram:" + r.Hash("telegram:4242")[len("telegram:"):] +
		" event.conversation=" + r.Hash("telegram:4242") + " err=boom user=" + r.Hash("U123") + " turn=T1\n"
	got := b.String()[strings.Index(b.String(), "level="):]
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
	if strings.Contains(got, "4242") || strings.Contains(got, "U123") {
		t.Fatalf("an id in clear: %s", got)
	}
	if h := r.Hash("telegram:4242"); len(h) != len("telegram:")+12 || !strings.HasPrefix(h, "telegram:") {
		t.Fatalf("hash %q", h)
	}
}
