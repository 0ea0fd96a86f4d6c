package metrics

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"guidedfix/internal/portal"
)

// TestPortalResult: each portal error kind, wrapped as the cores return
// them, gets its own result label; the 5th wrong code's ExhaustedError
// (an expiry that also locks) is "exhausted", neither "expired" nor
// "locked".
func TestPortalResult(t *testing.T) {
	lock := portal.LockedError{RetryAfter: time.Date(2026, 12, 3, 18, 0, 0, 0, time.UTC)}
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, "ok"},
		{&portal.ExhaustedError{Lock: lock}, "exhausted"},
		{fmt.Errorf("confirm: %w", &portal.ExhaustedError{Lock: lock}), "exhausted"},
		{&lock, "locked"},
		{portal.ErrLocked, "locked"},
		{fmt.Errorf("x: %w", portal.ErrExpired), "expired"},
		{portal.ErrBadCode, "bad_code"},
		{portal.ErrCodeReplayed, "code_replayed"},
		{context.Canceled, "canceled"},
		{errors.New("disk full"), "error"},
	} {
		if got := portalResult(tc.err); got != tc.want {
			t.Errorf("portalResult(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}
