package embedded

import (
	"context"
	"errors"
	"testing"

	"guidedfix/internal/portal"
)

// TestFailuresCountAcrossChannels (security checklist item 7, RFC 4226
// §7.3 "across login sessions"): wrong SMS codes from a Telegram user and
// a Slack user, alternating, add up in the account's one consecutive
// count, so alternating channels still reaches the cap of 100 (NIST SP
// 800-63B §5.2.2) and both channels are refused afterwards.
func TestFailuresCountAcrossChannels(t *testing.T) {
	e := newEnv(t)
	a := e.alice(t)
	tg := portal.WithSource(context.Background(), "telegram:666")
	sl := portal.WithSource(context.Background(), "slack:U666")
	var last error
	for i := 1; i <= 100; i++ {
		ctx := tg
		if i%2 == 0 {
			ctx = sl
		}
		last = e.smsAttempt(t, ctx, a, false, nil)
		if i == 51 {
			if r, _ := e.core.Restrictions(ctx, a.ID); r.Consecutive["sms"] != 51 {
				t.Fatalf("after 51 alternating wrong codes the count is %d, want 51", r.Consecutive["sms"])
			}
		}
	}
	var le *portal.LockedError
	if !errors.As(last, &le) || !le.Operator {
		t.Fatalf("100th wrong code: %v, want an operator lock", last)
	}
	for name, ctx := range map[string]context.Context{"telegram": tg, "slack": sl} {
		if err := e.smsAttempt(t, ctx, a, true, nil); !errors.As(err, &le) || !le.Operator {
			t.Fatalf("right code from %s after the cap: %v, want an operator lock", name, err)
		}
	}
	if r, _ := e.core.Restrictions(tg, a.ID); r.Consecutive["sms"] != 100 {
		t.Fatalf("count %d, want 100", r.Consecutive["sms"])
	}
}
