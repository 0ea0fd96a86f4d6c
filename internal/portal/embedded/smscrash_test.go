package embedded

import (
	"context"
	"testing"

	"guidedfix/internal/portal"
)

// crashingSMS "kills the process" (panics) instead of sending the first
// SMS, then records the SMS like the gateway.
type crashingSMS struct {
	portal.SMSSender
	crashed bool
}

func (s *crashingSMS) SendSMS(ctx context.Context, phone, text string) error {
	if !s.crashed {
		s.crashed = true
		panic("killed between committing the challenge and sending its SMS")
	}
	return s.SMSSender.SendSMS(ctx, phone, text)
}

// TestSMSChallengeSentAfterCrash: a process that died between committing a
// challenge and handing its SMS to the gateway has sent nothing; the
// repeated key (the resumed step) sends the SMS, with a fresh code that
// verifies, and a further repeat sends nothing more.
func TestSMSChallengeSentAfterCrash(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	g := e.grant(t, a)
	crash := &crashingSMS{SMSSender: e.sms}
	e.opts.SMS = crash
	e.reopen(t)
	func() {
		defer func() {
			if recover() == nil {
				t.Fatal("the SMS sender did not crash")
			}
		}()
		_, _ = e.core.SendSMSChallenge(ctx, g.Token, "sess:sms:1")
	}()
	if _, n := e.sms.LastCode(a.Phone); n != 0 {
		t.Fatalf("%d SMS before the restart", n)
	}
	e.reopen(t) // the restarted process
	ch, err := e.core.SendSMSChallenge(ctx, g.Token, "sess:sms:1")
	if err != nil {
		t.Fatal(err)
	}
	code, n := e.sms.LastCode(a.Phone)
	if n != 1 {
		t.Fatalf("%d SMS after the repeat, want 1", n)
	}
	again, err := e.core.SendSMSChallenge(ctx, g.Token, "sess:sms:1")
	if err != nil || again.ID != ch.ID {
		t.Fatalf("second repeat: %+v, %v", again, err)
	}
	if _, n := e.sms.LastCode(a.Phone); n != 1 {
		t.Fatalf("%d SMS after a second repeat, want 1", n)
	}
	if _, err := e.core.VerifySMSChallenge(ctx, g.Token, ch.ID, code); err != nil {
		t.Fatalf("the re-sent code does not verify: %v", err)
	}
}
