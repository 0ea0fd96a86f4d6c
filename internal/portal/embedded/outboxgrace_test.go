package embedded

import (
	"context"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"guidedfix/internal/mail"
)

// TestSweepLeavesNewMailToItsDeliver: the retry sweep does not take a
// message queued less than firstSendGrace ago (its own deliver, right
// after the commit, sends it; when the sweep took it first that deliver
// returned before the message was tried), and takes it from then on when
// that deliver did not send it.
func TestSweepLeavesNewMailToItsDeliver(t *testing.T) {
	srv := startFlakySMTP(t, 451, 0)
	e := newEnv(t, func(o *Options) { o.Mail = srv.sender(t) })
	ctx := context.Background()
	m := mail.Message{ID: "portal-test-grace", To: "bob@example.com", Subject: "grace check", Text: "hello"}
	if err := e.core.update(func(tx *bbolt.Tx) error { return enqueue(tx, e.core.now(), kindAlert, m) }); err != nil {
		t.Fatal(err)
	}
	if n := e.core.RetryMail(ctx); n != 0 {
		t.Fatalf("sweep at once tried %d messages, want 0", n)
	}
	e.clock.Advance(firstSendGrace - time.Second)
	if n := e.core.RetryMail(ctx); n != 0 {
		t.Fatalf("sweep after %v tried %d messages, want 0", firstSendGrace-time.Second, n)
	}
	e.clock.Advance(time.Second)
	if n := e.core.RetryMail(ctx); n != 1 {
		t.Fatalf("sweep after %v tried %d messages, want 1", firstSendGrace, n)
	}
	if a, ok := srv.counts("grace check"); a != 1 || ok != 1 {
		t.Fatalf("SMTP saw %d attempts, %d accepted; want 1, 1", a, ok)
	}
	if n := e.core.RetryMail(ctx); n != 0 {
		t.Fatalf("sweep after the send tried %d messages, want 0", n)
	}
}
