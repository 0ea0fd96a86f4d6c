package qr

import "testing"

// TestManualKey: groups of four, one space between, the last group shorter,
// nothing added to an empty or short key.
func TestManualKey(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"", ""},
		{"ABC", "ABC"},
		{"ABCD", "ABCD"},
		{"ABCDE", "ABCD E"},
		{"JBSWY3DPEHPK3PXP", "JBSW Y3DP EHPK 3PXP"},
		{"JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP2", "JBSW Y3DP EHPK 3PXP JBSW Y3DP EHPK 3PXP 2"},
	} {
		if got := ManualKey(c.in); got != c.want {
			t.Errorf("ManualKey(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}
