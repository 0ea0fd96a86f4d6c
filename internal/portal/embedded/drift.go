package embedded

import (
	"crypto/subtle"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"guidedfix/internal/portal"
)

// driftSteps returns d, 2 ≤ |d| ≤ portal.MaxDriftSteps, when code is the
// HMAC-SHA1 TOTP code of the base32 secret for time step c+d (c =
// floor(now/30 s)), the nearest such step first (and the earlier of two
// equally near), or 0 when none is: a code outside matchStep's accepted
// window that a device with a clock d steps off would show (RFC 6238 §6,
// resynchronisation). It is asked only for a code matchStep refused, and
// it never makes a code acceptable; the caller reports the drift in
// portal.BadCodeError.DriftSteps (and so portal.ErrClockDrift). Codes are
// compared in constant time.
func driftSteps(secret, code string, now time.Time, digits otp.Digits) int {
	opts := totp.ValidateOpts{Period: totpPeriod, Digits: digits, Algorithm: otp.AlgorithmSHA1}
	c := now.Unix() / totpPeriod
	for d := 2; d <= portal.MaxDriftSteps; d++ {
		for _, off := range [2]int{-d, d} {
			step := c + int64(off)
			if step < 0 {
				continue
			}
			want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), opts)
			if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
				return off
			}
		}
	}
	return 0
}
