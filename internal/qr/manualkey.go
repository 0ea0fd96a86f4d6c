package qr

import "strings"

// ManualKey returns secret, a TOTP shared secret in base32 (RFC 4648 §6, as
// the secret parameter of the Key Uri Format puts it in an otpauth URI),
// written in groups of four characters separated by one space, for typing
// by hand into an authenticator app: "JBSWY3DPEHPK3PXP" becomes
// "JBSW Y3DP EHPK 3PXP". The last group may be shorter; the empty string
// gives the empty string. Groups are counted in bytes of secret, which for
// the base32 alphabet (A-Z, 2-7, unpadded as the Key Uri Format asks) are
// its characters. It never fails.
//
// The result is a secret: never log or store it.
func ManualKey(secret string) string {
	var b strings.Builder
	b.Grow(len(secret) + len(secret)/4)
	for i, r := range secret {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}
