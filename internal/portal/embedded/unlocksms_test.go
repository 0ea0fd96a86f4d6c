package embedded

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"guidedfix/internal/portal"
)

// TestUnlockClearsSMSLimit: after 5 SMS codes in the window the 6th is
// refused with the SMS limit; the operator's Unlock clears the limit
// (Restrictions shows 0 sent), so the next challenge is sent at once.
func TestUnlockClearsSMSLimit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	g := e.grant(t, a)
	for i := range maxSMSPerWindow {
		if _, err := e.core.SendSMSChallenge(ctx, g.Token, fmt.Sprintf("s%d", i)); err != nil {
			t.Fatalf("SMS %d: %v", i+1, err)
		}
	}
	var le *portal.LockedError
	if _, err := e.core.SendSMSChallenge(ctx, g.Token, "over"); !errors.As(err, &le) || !le.SMSLimit {
		t.Fatalf("6th SMS: %v, want the SMS limit", err)
	}
	if _, err := e.core.Unlock(ctx, a.Email, "op@example.com"); err != nil {
		t.Fatal(err)
	}
	log, _ := e.core.AuditLog(ctx, a.ID, 1)
	if len(log) != 1 || log[0].Action != "unlocked" || log[0].Detail != "by op@example.com; cleared 5 SMS codes sent" {
		t.Fatalf("audit %+v, want the unlock naming the 5 SMS codes", log)
	}
	if r, err := e.core.Restrictions(ctx, a.ID); err != nil || r.SMSSent != 0 || !r.SMSUntil.IsZero() {
		t.Fatalf("Restrictions after Unlock = %+v, %v; want 0 sent, no wait", r, err)
	}
	if _, err := e.core.SendSMSChallenge(ctx, g.Token, "after"); err != nil {
		t.Fatalf("SMS after Unlock: %v", err)
	}
	if _, n := e.sms.LastCode(a.Phone); n != maxSMSPerWindow+1 {
		t.Fatalf("%d SMS sent, want %d", n, maxSMSPerWindow+1)
	}
}
