package portal

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzNormalizeCode checks NormalizeCode on any input: no panic; a result
// is exactly CodeDigits ASCII digits or "" with false; a code normalises
// to itself; accepted input holds only spaces, hyphens and exactly
// CodeDigits decimal digits, whose ASCII ones are kept in place; spaces
// around the input change nothing; input over 64 bytes is refused.
func FuzzNormalizeCode(f *testing.F) {
	for _, s := range []string{"123456", " 123 456 ", "123-456", "012345", "０１２３４５", "٠١٢٣٤٥", "۰۱۲۳۴۵",
		"०१२३४५", "123\u2013456", "12345", "1234567", "12a456", "", "¹²³⁴⁵⁶", "𝟏𝟐𝟑𝟒𝟓𝟔", "1\u00a02\u20093 4\t5\n6",
		strings.Repeat(" ", 60) + "123456", "\xff\xfe123456"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := NormalizeCode(in)
		if !ok {
			if out != "" {
				t.Fatalf("NormalizeCode(%q) = %q, false", in, out)
			}
		} else {
			if len(out) != CodeDigits || strings.Trim(out, "0123456789") != "" {
				t.Fatalf("NormalizeCode(%q) = %q: not %d ASCII digits", in, out, CodeDigits)
			}
			if again, ok := NormalizeCode(out); !ok || again != out {
				t.Fatalf("NormalizeCode(%q) = %q, %v: not idempotent", out, again, ok)
			}
			if len(in) > 64 {
				t.Fatalf("NormalizeCode accepted %d bytes", len(in))
			}
			digits := 0
			for _, r := range in {
				switch {
				case r >= '0' && r <= '9':
					if out[digits] != byte(r) {
						t.Fatalf("NormalizeCode(%q) = %q: digit %d changed", in, out, digits)
					}
					digits++
				case unicode.Is(unicode.Nd, r):
					digits++
				case unicode.IsSpace(r) || r == '-' || unicode.Is(unicode.Pd, r) || r == '\u2212':
				default:
					t.Fatalf("NormalizeCode(%q) accepted %q", in, r)
				}
			}
			if digits != CodeDigits {
				t.Fatalf("NormalizeCode(%q) = %q from %d digits", in, out, digits)
			}
		}
		if len(in) <= 62 {
			if padded, pok := NormalizeCode(" " + in + "\t"); padded != out || pok != ok {
				t.Fatalf("NormalizeCode with spaces around %q = %q, %v; without %q, %v", in, padded, pok, out, ok)
			}
		}
	})
}
