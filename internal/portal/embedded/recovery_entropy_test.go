package embedded

import (
	"math"
	"regexp"
	"strings"
	"testing"
)

// TestRecoveryCodeEntropy (issue 11 item 12): a recovery code carries at
// least 64 bits (NIST SP 800-63B-4 §4.2.1.1): 15 symbols of a 32-symbol
// alphabet with no look-alikes, shown in groups of 5; look-alikes typed
// by the user map back; 1000 codes are distinct and use every symbol.
func TestRecoveryCodeEntropy(t *testing.T) {
	if n := len(recoveryAlphabet); n != 32 {
		t.Fatalf("alphabet has %d symbols, want 32", n)
	}
	if bits := float64(recoveryLen) * math.Log2(float64(len(recoveryAlphabet))); bits < 64 {
		t.Fatalf("a code carries %.1f bits, want >= 64", bits)
	}
	for _, c := range "ILOU" {
		if strings.ContainsRune(recoveryAlphabet, c) {
			t.Fatalf("alphabet holds the look-alike %q", c)
		}
	}
	shape := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$`)
	seen := map[string]bool{}
	used := map[rune]bool{}
	for range 1000 {
		c := newRecoveryCode()
		if !shape.MatchString(c) {
			t.Fatalf("code %q is not XXXXX-XXXXX-XXXXX", c)
		}
		if seen[c] {
			t.Fatalf("code %q issued twice", c)
		}
		seen[c] = true
		for _, r := range c {
			used[r] = true
		}
	}
	if len(used) != 33 { // 32 symbols and '-'
		t.Fatalf("1000 codes used %d distinct characters, want 33", len(used))
	}

	for _, tc := range []struct{ in, want string }{
		{"ABCDE-FGHJK-MNPQR", "ABCDEFGHJKMNPQR"},
		{"abcde fghjk mnpqr", "ABCDEFGHJKMNPQR"},
		{"O0ILi-11111-00000", "001111111100000"}, // look-alikes map back
		{"ABCDE-FGHJK-MNPQ", ""},                 // 14 symbols
		{"ABCDE-FGHJK-MNPQRS", ""},               // 16
		{"ABCDE-FGHJK-MNPQU", ""},                // U is not a symbol
		{"ABCDE-FGHJK", "ABCDEFGHJK"},            // a legacy 10-character code
		{"O0O0O-1I1I1", ""},                      // neither shape
	} {
		if got := normalizeRecoveryCode(tc.in); got != tc.want {
			t.Errorf("normalizeRecoveryCode(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
