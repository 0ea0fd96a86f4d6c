package portalteam

import (
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// TestTeamServerClockDrift: the team server's reading of "clock-drift"
// (confirmTOTPEnrollment, confirmTOTPReplacement): the code of a step 2 to
// 10 steps away is clock-drift with driftSteps and attemptsLeft, a farther
// or a plain wrong one bad-code.
func TestTeamServerClockDrift(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 0, 10, 0, time.UTC)
	s := newTeamServer(teamToken)
	s.now = func() time.Time { return at }
	const secret = "KRSXG5CTMVRXEZLUKN2XAZLSKNSWG4TFOQ"
	code := func(steps int) string {
		c, err := totp.GenerateCodeCustom(secret, at.Add(time.Duration(steps)*30*time.Second), totpOpts)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	for _, tc := range []struct {
		steps int
		typ   string
	}{{4, pClockDrift}, {-10, pClockDrift}, {2, pClockDrift}, {11, pBadCode}, {-11, pBadCode}} {
		p := s.wrongFirstCode(secret, code(tc.steps), 3)
		if p.Type != "urn:guidedfix:problem:"+tc.typ || p.Status != 422 || p.AttemptsLeft == nil || *p.AttemptsLeft != 3 {
			t.Fatalf("%d steps: %+v, want %s with 3 attempts left", tc.steps, p, tc.typ)
		}
		if tc.typ == pClockDrift && (p.DriftSteps == nil || *p.DriftSteps != tc.steps) || tc.typ == pBadCode && p.DriftSteps != nil {
			t.Fatalf("%d steps: driftSteps %v", tc.steps, p.DriftSteps)
		}
	}
}
