package embedded

import (
	"testing"
	"time"

	"github.com/pquerna/otp"
)

// TestRFC4226Vectors checks matchStep, the core's validation path, with
// the ten HOTP values of RFC 4226 Appendix D (secret ASCII
// "12345678901234567890", 6 digits, counters 0..9): TOTP's step c is
// HOTP's counter c (RFC 6238 §4), so each value matches exactly step c
// at a time inside that step, compared as a string (security checklist
// item 3).
func TestRFC4226Vectors(t *testing.T) {
	secret := b32.EncodeToString([]byte("12345678901234567890"))
	codes := []string{"755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"}
	for c, code := range codes {
		now := time.Unix(int64(c)*totpPeriod+15, 0)
		got, ok := matchStep(secret, code, now, otp.DigitsSix)
		if !ok || got != int64(c) {
			t.Errorf("counter %d code %s: step %d, %v; want step %d", c, code, got, ok, c)
		}
		// Three steps later it is outside the window.
		if _, ok := matchStep(secret, code, now.Add(3*totpPeriod*time.Second), otp.DigitsSix); ok {
			t.Errorf("counter %d code %s accepted three steps later", c, code)
		}
	}
}
