package portal

import (
	"errors"
	"net/mail"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// E-mail length limits of RFC 5321 §4.5.3.1: 64 octets of local part
// (§4.5.3.1.1); a path is at most 256 octets including the angle brackets
// (§4.5.3.1.3), so an address is at most 254 octets.
const (
	// MaxEmailBytes is the longest e-mail address NormalizeEmail accepts,
	// in bytes of its normalised UTF-8 form.
	MaxEmailBytes = 254
	// MaxEmailLocalBytes is the longest local part (before the last "@")
	// NormalizeEmail accepts, in bytes.
	MaxEmailLocalBytes = 64
)

// ErrEmailFormat is returned by NormalizeEmail for text that is not one
// bare e-mail address (net/mail's RFC 5322 addr-spec, no display name, no
// comment) or that is longer than the RFC 5321 §4.5.3.1 limits.
var ErrEmailFormat = errors.New("portal: not an e-mail address")

// NormalizeEmail turns what a person typed as an e-mail address into the
// form the portal looks accounts up by: surrounding spaces trimmed, Unicode
// NFKC applied (UAX #15, so that full-width "ａｌｉｃｅ＠ｅｘａｍｐｌｅ．ｃｏｍ"
// becomes "alice@example.com"), then lower-cased as a whole (the domain is
// case-insensitive by RFC 5321 §2.4; the portal also matches local parts
// without case, as embedded.Core.LookupAccount does). It returns the
// address, or ErrEmailFormat when the result is not a single bare
// addr-spec, is not valid UTF-8, holds a control, format (Cf) or space character, or exceeds MaxEmailBytes in total or MaxEmailLocalBytes in its
// local part.
//
// NFKC does not fold confusables (UTS #39): a Cyrillic "а" in "аlice@…"
// stays a different address from "alice@…"; that is known and out of
// scope here.
func NormalizeEmail(input string) (string, error) {
	// A generous bound before any work: NFKC can grow a string, but nothing
	// longer than this ever normalises to an acceptable address.
	// Invalid UTF-8 passes NFKC and net/mail unchanged; it is never an
	// address a person typed (RFC 6532 §3.1 requires valid UTF-8).
	if len(input) > 4*MaxEmailBytes+64 || !utf8.ValidString(input) {
		return "", ErrEmailFormat
	}
	email := strings.ToLower(strings.TrimSpace(norm.NFKC.String(strings.TrimSpace(input))))
	if email == "" || len(email) > MaxEmailBytes {
		return "", ErrEmailFormat
	}
	at := strings.LastIndexByte(email, '@')
	if at <= 0 || at > MaxEmailLocalBytes {
		return "", ErrEmailFormat
	}
	for _, r := range email {
		// net/mail takes any UTF-8 in an atom (RFC 6532); invisible
		// format and control characters are never part of a portal
		// address and would only make two addresses look alike.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || unicode.IsSpace(r) {
			return "", ErrEmailFormat
		}
	}
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email || a.Name != "" {
		return "", ErrEmailFormat
	}
	return email, nil
}
