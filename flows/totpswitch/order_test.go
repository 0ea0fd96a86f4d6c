package totpswitch

import (
	"errors"
	"testing"

	"guidedfix/internal/portal"
)

// TestChooseOrder covers every configured order against every capability
// combination that matters.
func TestChooseOrder(t *testing.T) {
	full := portal.Capabilities{AtomicSwitch: true, RestoreFactor: true}
	atomicOnly := portal.Capabilities{AtomicSwitch: true}
	restoreOnly := portal.Capabilities{RestoreFactor: true}
	none := portal.Capabilities{}
	for _, tc := range []struct {
		caps       portal.Capabilities
		configured string
		want       string
		note       bool
		unsafe     bool
	}{
		{full, OrderEnrollThenSwitch, OrderEnrollThenSwitch, false, false},
		{full, OrderDisableThenEnroll, OrderDisableThenEnroll, false, false},
		{full, "", OrderDisableThenEnroll, false, false},
		{atomicOnly, OrderEnrollThenSwitch, OrderEnrollThenSwitch, false, false},
		{atomicOnly, OrderDisableThenEnroll, "", false, true},
		{restoreOnly, OrderEnrollThenSwitch, OrderDisableThenEnroll, true, false},
		{restoreOnly, OrderDisableThenEnroll, OrderDisableThenEnroll, false, false},
		{none, OrderEnrollThenSwitch, "", false, true},
		{none, OrderDisableThenEnroll, "", false, true},
	} {
		got, note, err := ChooseOrder(tc.caps, tc.configured)
		if got != tc.want || (note != "") != tc.note || errors.Is(err, ErrNoSafeOrder) != tc.unsafe || (err != nil) != tc.unsafe {
			t.Errorf("ChooseOrder(%+v, %q) = %q, %q, %v; want %q note %v unsafe %v", tc.caps, tc.configured, got, note, err, tc.want, tc.note, tc.unsafe)
		}
	}
	if _, _, err := ChooseOrder(full, "sideways"); err == nil || errors.Is(err, ErrNoSafeOrder) {
		t.Errorf("unknown order: %v", err)
	}
}
