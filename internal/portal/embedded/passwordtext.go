package embedded

import (
	"context"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"guidedfix/internal/portal"
)

// minPasswordRunes is the shortest password AddAccount accepts.
const minPasswordRunes = 8

// passwordCandidates returns the candidates of text for PasswordInText,
// each of at least 8 characters and at most MaxPasswordBytes bytes,
// distinct, at most portal.MaxPasswordCandidates, in this order: the
// trimmed text, each white-space separated word as typed, then each word
// without 1 or 2 punctuation marks or symbols at its end and 1 at its
// start (sentence marks and quotes: "pw.", "\"pw\"?").
func passwordCandidates(text string) []string {
	var out []string
	add := func(s string) {
		if utf8.RuneCountInString(s) >= minPasswordRunes && len(s) <= MaxPasswordBytes && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	add(strings.TrimSpace(text))
	words := strings.Fields(text)
	for _, w := range words {
		add(w)
	}
	mark := func(r rune) bool { return unicode.IsPunct(r) || unicode.IsSymbol(r) }
	for _, w := range words {
		rs := []rune(w)
		for lead := 0; lead <= 1; lead++ {
			for trail := 0; trail <= 2; trail++ {
				if lead+trail == 0 || lead+trail >= len(rs) {
					continue
				}
				if !all(rs[:lead], mark) || !all(rs[len(rs)-trail:], mark) {
					continue
				}
				add(string(rs[lead : len(rs)-trail]))
			}
		}
	}
	if len(out) > portal.MaxPasswordCandidates {
		out = out[:portal.MaxPasswordCandidates]
	}
	return out
}

// all reports whether f holds for every rune of rs.
func all(rs []rune, f func(rune) bool) bool {
	for _, r := range rs {
		if !f(r) {
			return false
		}
	}
	return true
}

// PasswordInText implements portal.Core.PasswordInText: each candidate is
// checked against the account's argon2id hash with the hash's parameters
// (one hash each, in the bounded hashing slots); nothing is written, no
// failure counted, and the candidates are never logged.
func (c *Core) PasswordInText(ctx context.Context, accountID, text string) (bool, error) {
	a, err := c.viewAccount(accountID)
	if err != nil {
		return false, err
	}
	for _, cand := range passwordCandidates(text) {
		ok, err := c.checkPassword(ctx, a.PasswordHash, cand)
		if err != nil {
			return false, err
		}
		if ok {
			c.log.Info("portal password found in a support message", "account", accountID)
			return true, nil
		}
	}
	return false, nil
}
