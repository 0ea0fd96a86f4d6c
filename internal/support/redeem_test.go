package support_test

import (
	"testing"

	"guidedfix/internal/support/recordstest"
)

// TestRedeemRules runs the redemption conformance check on the bbolt
// store.
func TestRedeemRules(t *testing.T) {
	s, clk, _ := open(t)
	recordstest.Redeem(t, s, clk.Advance)
}

// TestCheckTokenRules runs the read-only token check's conformance check
// on the bbolt store.
func TestCheckTokenRules(t *testing.T) {
	s, clk, _ := open(t)
	recordstest.CheckToken(t, s, clk.Advance)
}
