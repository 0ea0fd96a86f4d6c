// Package termsafe makes stored or typed text safe to print on an
// operator's terminal: the admin commands (guidedfix portal list/show/...,
// handoff, audit) pass every value that came from a store, a customer or
// a command-line argument through Field before printing it.
//
// A name or ticket saved as "\x1b]0;pwned\x07\x1b[2J" would otherwise set
// the terminal's title and clear the screen, and "Bob\nunlocked alice" would
// forge a line of output (CWE-150, Unicode TR #36 §3.2 for the bidi
// controls).
package termsafe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Field returns s for printing as one value on one terminal line:
//   - ECMA-48 escape sequences (ESC [ … CSI, ESC ] … OSC up to BEL or ST,
//     ESC P/X/^/_ strings up to ST, two-character ESC sequences, and their
//     8-bit C1 forms U+009B CSI and U+009D OSC) are removed whole, so no
//     residue such as "[31m" is left;
//   - every other C0 control (including tab, CR and LF), DEL and C1 control
//     is written as a Go escape ("\t", "\n", "\x07", "\u0085");
//   - Unicode bidirectional formatting characters (U+061C, U+200E, U+200F,
//     U+202A–U+202E, U+2066–U+2069) are written as "\u202e" and the like;
//   - invalid UTF-8 bytes are written as "\xff".
//
// Everything else, including non-ASCII letters and emoji, is kept as it is.
// Field never fails; the empty string returns "".
func Field(s string) string {
	if clean(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r == 0x1b || r == 0x9b || r == 0x9d:
			n = escapeLen(s[i:])
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, r)
		case unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteString(s[i : i+n])
		}
		i += n
	}
	return b.String()
}

// clean reports whether s needs no change (the common case, no copy).
func clean(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError || (r >= 0x80 && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r))) {
			return false
		}
	}
	return true
}

// escapeLen is the length in bytes of the escape sequence at the start of
// s, which begins with ESC (0x1b) or a C1 CSI/OSC (U+009B, U+009D, two
// bytes in UTF-8). An unterminated sequence runs to the end of s.
func escapeLen(s string) int {
	var i int
	var kind byte // '[' CSI, ']' OSC, 'P' string (DCS, SOS, PM, APC)
	switch {
	case strings.HasPrefix(s, "\u009b"):
		i, kind = len("\u009b"), '['
	case strings.HasPrefix(s, "\u009d"):
		i, kind = len("\u009d"), ']'
	default: // ESC
		if len(s) < 2 {
			return len(s)
		}
		switch c := s[1]; c {
		case '[':
			i, kind = 2, '['
		case ']':
			i, kind = 2, ']'
		case 'P', 'X', '^', '_':
			i, kind = 2, 'P'
		default:
			// ESC followed by intermediates (0x20–0x2f) and one final
			// byte (0x30–0x7e), e.g. "ESC ( B", "ESC c", "ESC 7".
			i = 1
			for i < len(s) && s[i] >= 0x20 && s[i] <= 0x2f {
				i++
			}
			if i < len(s) && s[i] >= 0x30 && s[i] <= 0x7e {
				i++
			}
			return i
		}
	}
	if kind == '[' {
		// Parameters and intermediates (0x20–0x3f), then one final byte
		// (0x40–0x7e).
		for i < len(s) && s[i] >= 0x20 && s[i] <= 0x3f {
			i++
		}
		if i < len(s) && s[i] >= 0x40 && s[i] <= 0x7e {
			i++
		}
		return i
	}
	// OSC and control strings end at ST (ESC \ or U+009C) or, for OSC,
	// BEL as xterm also accepts.
	for i < len(s) {
		switch {
		case s[i] == 0x07 && kind == ']':
			return i + 1
		case s[i] == 0x1b && i+1 < len(s) && s[i+1] == '\\':
			return i + 2
		case strings.HasPrefix(s[i:], "\u009c"):
			return i + len("\u009c")
		}
		i++
	}
	return i
}
