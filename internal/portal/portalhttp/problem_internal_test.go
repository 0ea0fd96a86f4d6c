package portalhttp

import (
	"testing"
	"time"

	"guidedfix/internal/portal"
)

// TestRetryAfterDelaySeconds: the Retry-After header of a lock is whole
// seconds to retryAfter rounded up and at least 1 (api/portal.openapi.yaml
// "Retry-After"); an operator lock has none.
func TestRetryAfterDelaySeconds(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   time.Duration
		want int
	}{{900 * time.Second, 900}, {899*time.Second + 200*time.Millisecond, 900}, {100 * time.Millisecond, 1}, {0, 1}, {-5 * time.Second, 1}} {
		_, got := problemFor(&portal.LockedError{RetryAfter: now.Add(tc.in)}, now)
		if got != tc.want {
			t.Errorf("retryAfter now%+v: Retry-After %d, want %d", tc.in, got, tc.want)
		}
	}
	if p, got := problemFor(&portal.LockedError{Operator: true}, now); got != -1 || p.RetryAfter != nil {
		t.Errorf("operator lock: Retry-After %d, retryAfter %v; want none", got, p.RetryAfter)
	}
}
