package embedded

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"guidedfix/internal/portal"
)

// TestConcurrentOperationsGroupCommit: 30 customers' SMS challenges sent
// and verified at once, with writes that fail (an unknown challenge) and
// wrong codes (a kept failure counter) among them: every operation gets
// its own answer, each customer gets exactly one SMS, and the writes are
// made durable by the group commit (acknowledged writes counted).
func TestConcurrentOperationsGroupCommit(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	const n = 30
	var accts []portal.Account
	var grants []portal.Grant
	for i := range n {
		a := e.add(t, fmt.Sprintf("c%d@example.com", i), fmt.Sprintf("+6012000%04d", i), portal.MethodSMS, "pass-"+fmt.Sprint(i)+"-long enough")
		g, err := e.core.VerifyPassword(ctx, a.ID, "pass-"+fmt.Sprint(i)+"-long enough")
		if err != nil {
			t.Fatal(err)
		}
		accts, grants = append(accts, a), append(grants, g)
	}
	before := e.core.CommitStats()
	errs := make([][3]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			ch, err := e.core.SendSMSChallenge(ctx, grants[i].Token, fmt.Sprint("gc-sms-", i))
			if err != nil {
				errs[i][0] = err
				return
			}
			_, errs[i][1] = e.core.VerifySMSChallenge(ctx, grants[i].Token, "ch_unknown", "123456")
			code, _ := e.sms.LastCode(accts[i].Phone)
			if i%2 == 0 {
				wrong := "000000"
				if code == wrong {
					wrong = "111111"
				}
				var bad *portal.BadCodeError
				if _, err := e.core.VerifySMSChallenge(ctx, grants[i].Token, ch.ID, wrong); !errors.As(err, &bad) {
					errs[i][2] = fmt.Errorf("wrong code: %v, want a BadCodeError", err)
					return
				}
			}
			_, errs[i][2] = e.core.VerifySMSChallenge(ctx, grants[i].Token, ch.ID, code)
		})
	}
	wg.Wait()
	for i, es := range errs {
		if es[0] != nil || es[2] != nil {
			t.Errorf("customer %d: send %v, verify %v", i, es[0], es[2])
		}
		if !errors.Is(es[1], portal.ErrNotFound) {
			t.Errorf("customer %d: unknown challenge answered %v, want ErrNotFound", i, es[1])
		}
		if _, sent := e.sms.LastCode(accts[i].Phone); sent != 1 {
			t.Errorf("customer %d got %d SMS, want 1", i, sent)
		}
	}
	after := e.core.CommitStats()
	// Acknowledged writes: per customer the challenge, its "sent" mark and
	// the right code; the wrong code's kept counter for half of them.
	if w := after.Writes - before.Writes; w != 3*n+n/2 {
		t.Errorf("%d writes acknowledged, want %d", w, 3*n+n/2)
	}
	t.Logf("%d writes in %d commits", after.Writes-before.Writes, after.Commits-before.Commits)
}
