package etcdstore_test

import (
	"fmt"
	"testing"
	"time"

	"guidedfix/internal/portal/portaltest"
	"guidedfix/internal/store/etcdstore"
	"guidedfix/internal/support/recordstest"
)

// TestRedeemRules runs the redemption conformance check on etcd (the same
// rules as the bbolt store: a conversation reopens its own link).
func TestRedeemRules(t *testing.T) {
	clock := portaltest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	prefix := fmt.Sprintf("/redeem%d/", prefixes.Add(1))
	a := etcdstore.NewSupport(openStore(t, etcdstore.Options{Now: clock.Now, Prefix: prefix}))
	recordstest.Redeem(t, a, clock.Advance)
}

// TestCheckTokenRules runs the read-only token check's conformance check
// on etcd.
func TestCheckTokenRules(t *testing.T) {
	clock := portaltest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	prefix := fmt.Sprintf("/checktoken%d/", prefixes.Add(1))
	a := etcdstore.NewSupport(openStore(t, etcdstore.Options{Now: clock.Now, Prefix: prefix}))
	recordstest.CheckToken(t, a, clock.Advance)
}
