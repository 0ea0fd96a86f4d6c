package portalhttp

import (
	"errors"
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

// TestExhaustedRoundTrip (issue 14 F3): the 5th wrong code that also
// throttled the source is an "expired" problem with the lock's retryAfter
// and no Retry-After header; the client maps it back to a
// portal.ExhaustedError (errors.Is ErrExpired, errors.As *LockedError),
// and a plain expiry stays the bare sentinel.
func TestExhaustedRoundTrip(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	until := now.Add(15 * time.Minute)
	p, retry := problemFor(&portal.ExhaustedError{Lock: portal.LockedError{RetryAfter: until}}, now)
	if p.Type != TypeExpired || retry != -1 || p.RetryAfter == nil || !p.RetryAfter.Equal(until) {
		t.Fatalf("problem %s, Retry-After %d, retryAfter %v; want expired, none, %v", p.Type, retry, p.RetryAfter, until)
	}
	err := errorFor(&p, p.Status)
	var le *portal.LockedError
	var ee *portal.ExhaustedError
	if !errors.As(err, &ee) || !errors.Is(err, portal.ErrExpired) || !errors.As(err, &le) || !le.RetryAfter.Equal(until) {
		t.Fatalf("client error %v, want an ExhaustedError until %v", err, until)
	}
	plain, _ := problemFor(portal.ErrExpired, now)
	if err := errorFor(&plain, plain.Status); err != portal.ErrExpired {
		t.Fatalf("plain expiry maps to %v, want the sentinel", err)
	}
}
