package totpswitch

import (
	"fmt"

	"guidedfix/internal/portal"
)

// ChooseOrder returns the order of steps to run against a portal with caps
// when configured ("" meaning OrderDisableThenEnroll) was asked for, and a
// note to log when it differs from the configured one:
//
//   - OrderEnrollThenSwitch runs when caps.AtomicSwitch; without it the
//     flow falls back to OrderDisableThenEnroll, which needs
//     caps.RestoreFactor.
//   - OrderDisableThenEnroll (the knowledge-base order) needs
//     caps.RestoreFactor: its compensation (RestoreFactor after an
//     abandoned switch) is what keeps an account from staying without a
//     second factor (NIST SP 800-63B §6.1.1).
//
// It returns an error wrapping ErrNoSafeOrder, naming the missing
// capability and what to configure instead, when the chosen order's
// capability is missing, and an error for an unknown configured order.
func ChooseOrder(caps portal.Capabilities, configured string) (order, note string, err error) {
	switch configured {
	case OrderEnrollThenSwitch:
		if caps.AtomicSwitch {
			return OrderEnrollThenSwitch, "", nil
		}
		if caps.RestoreFactor {
			return OrderDisableThenEnroll, "the portal has no atomic switch (capabilities atomicSwitch false): running disable-then-enroll with SMS restored on abandon", nil
		}
		return "", "", fmt.Errorf("%w: the portal has neither the atomic switch nor restore support (capabilities atomicSwitch and restoreFactor false)", ErrNoSafeOrder)
	case "", OrderDisableThenEnroll:
		if caps.RestoreFactor {
			return OrderDisableThenEnroll, "", nil
		}
		hint := "the portal offers no other order either"
		if caps.AtomicSwitch {
			hint = "set flow.order: enroll-then-switch (the portal has the atomic switch)"
		}
		return "", "", fmt.Errorf("%w: flow.order disable-then-enroll needs the portal to restore SMS after an abandoned switch, and this portal cannot (capabilities restoreFactor false); an account could be left without a second factor: %s", ErrNoSafeOrder, hint)
	default:
		return "", "", fmt.Errorf("totpswitch: unknown flow order %q", configured)
	}
}
