package main

import (
	"context"
	"errors"
	"testing"

	"guidedfix/internal/portal"
)

// lookupOnly answers LookupAccount with err; every other method is nil
// (the probe calls none).
type lookupOnly struct {
	portal.Core
	err error
}

func (l lookupOnly) LookupAccount(context.Context, string) (portal.Account, error) {
	return portal.Account{}, l.err
}

// TestPortalProbeUsesTheConfiguredPortal: /readyz's portal probe asks the
// portal the flows use (a.portal), so with a remote portal, where the
// embedded core a.core is nil, it reports the remote answer instead of
// panicking: not-found is ready, a transport error is not.
func TestPortalProbeUsesTheConfiguredPortal(t *testing.T) {
	down := errors.New("connection refused")
	for _, tc := range []struct {
		err  error
		want error
	}{{portal.ErrNotFound, nil}, {nil, nil}, {down, down}} {
		a := &app{portal: lookupOnly{err: tc.err}} // a.core nil: a remote portal
		if got := portalProbe(a)(context.Background()); !errors.Is(got, tc.want) || (tc.want == nil && got != nil) {
			t.Errorf("probe with LookupAccount error %v = %v, want %v", tc.err, got, tc.want)
		}
	}
}
