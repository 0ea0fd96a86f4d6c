package portal

import (
	"strings"
	"unicode"
)

// CodeDigits is the number of digits of SMS and TOTP codes (RFC 6238 §5.3,
// 6 digits: what every common authenticator app shows).
const CodeDigits = 6

// NormalizeCode turns user input into a code of exactly CodeDigits ASCII
// digits. It drops spaces (any Unicode white space) and hyphens and maps any
// Unicode decimal digit (full-width "１", Arabic-Indic "١", …) to its ASCII
// digit. Leading zeros are kept: a code is a string, never an integer.
//
// It returns the code and true, or "" and false when anything else remains
// or the digit count is not CodeDigits.
func NormalizeCode(in string) (string, bool) {
	if len(in) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range in {
		switch {
		case IsCodeSeparator(r):
			continue
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case unicode.Is(unicode.Nd, r):
			d, ok := digitValue(r)
			if !ok {
				return "", false
			}
			b.WriteByte(byte('0' + d))
		default:
			return "", false
		}
		if b.Len() > CodeDigits {
			return "", false
		}
	}
	if b.Len() != CodeDigits {
		return "", false
	}
	return b.String(), true
}

// IsCodeSeparator reports whether NormalizeCode drops r between the
// digits of a code: any Unicode white space (no-break and thin spaces,
// tabs, …), the hyphen-minus and the hyphen, non-breaking hyphen, figure
// dash, en dash and minus sign (U+2010-U+2013, U+2212). Filters that must
// recognise what the core accepts as a code (the support relay) use it.
func IsCodeSeparator(r rune) bool {
	return unicode.IsSpace(r) || r == '-' || r == '\u2010' || r == '\u2011' || r == '\u2012' || r == '\u2013' || r == '\u2212'
}

// digitValue returns the value 0-9 of a Unicode decimal digit (category
// Nd). Unicode keeps every decimal digit in a contiguous run 0..9, so each
// range of the Nd table starts at a zero and its length is a multiple of ten:
// the value is the distance from the range start, modulo 10.
func digitValue(r rune) (int, bool) {
	for _, rg := range unicode.Nd.R16 {
		if rg.Stride == 1 && uint32(r) >= uint32(rg.Lo) && uint32(r) <= uint32(rg.Hi) {
			return int(uint32(r)-uint32(rg.Lo)) % 10, true
		}
	}
	for _, rg := range unicode.Nd.R32 {
		if rg.Stride == 1 && uint32(r) >= rg.Lo && uint32(r) <= rg.Hi {
			return int(uint32(r)-rg.Lo) % 10, true
		}
	}
	return 0, false
}
