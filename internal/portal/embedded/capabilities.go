package embedded

import (
	"context"

	"guidedfix/internal/portal"
)

// Capabilities implements portal.CapabilityReporter: the embedded core has
// every optional part of the contract (atomic switch, restore, recovery
// codes, TOTP replacement). It never fails.
func (c *Core) Capabilities(ctx context.Context) (portal.Capabilities, error) {
	return portal.Capabilities{ContractVersion: portal.ContractVersion, AtomicSwitch: true, RestoreFactor: true, RecoveryCodes: true, ReplaceTOTP: true}, nil
}
