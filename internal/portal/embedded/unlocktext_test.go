package embedded

import (
	"testing"
	"time"
)

// TestUnlockText checks the unlock audit's detail names what was cleared,
// singular and plural, and "nothing" only when nothing was set.
func TestUnlockText(t *testing.T) {
	now := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	old := now.Add(-2 * failureWindow)
	cases := []struct {
		a    accountRec
		want string
	}{
		{accountRec{}, "nothing"},
		{accountRec{Failures: []time.Time{old}, SMSSent: []time.Time{old}}, "nothing"},
		{accountRec{Failures: []time.Time{now.Add(-time.Minute)}}, "1 recent failure"},
		{accountRec{SMSSent: []time.Time{now.Add(-time.Minute)}}, "1 SMS code sent"},
		{accountRec{
			Consecutive: map[string]int{"sms": 2, "password": 5},
			Failures:    []time.Time{now, now},
			LockedUntil: now.Add(time.Minute),
			Sources:     map[string]sourceRec{"a": {LockedUntil: now.Add(time.Minute)}, "b": {LockedUntil: old}},
			SMSSent:     []time.Time{now, now},
		}, "password 5, sms 2; 2 recent failures; account lock; 1 source throttle; 2 SMS codes sent"},
	}
	for i, c := range cases {
		if got := unlockText(c.a, now); got != c.want {
			t.Errorf("case %d: unlockText = %q, want %q", i, got, c.want)
		}
	}
}
