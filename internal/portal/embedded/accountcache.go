package embedded

import (
	"bytes"
	"maps"
	"slices"
	"sync"
	"time"
	"unicode/utf8"
)

// accountCacheSize bounds the decoded account records kept: about 1.5 KiB
// each, so at most about 1.5 MiB; a full cache drops an arbitrary entry.
const accountCacheSize = 1024

// accountCache is a Core's decoded-account cache. Each entry holds a
// record's stored JSON and the accountRec it decodes to; loadAccount
// returns a copy of the entry when the bytes now stored are the same,
// instead of decoding them again (encoding/json's reflection decode was
// about 8 decodes and 15 µs of CPU per switch; a turn reads the account
// that the turn before wrote). Equal bytes decode to equal records, so an
// entry can never be stale: a record changed since (by another Core on
// the file, another process or a rolled-back transaction) simply misses.
type accountCache struct {
	mu sync.Mutex
	m  map[string]cachedAccount // account id -> entry
}

// newAccountCache returns an empty cache.
func newAccountCache() *accountCache { return &accountCache{m: map[string]cachedAccount{}} }

// drop empties the cache (Core.Close): the records it held are freed
// with it, and a use after Close only misses.
func (c *accountCache) drop() {
	c.mu.Lock()
	clear(c.m)
	c.mu.Unlock()
}

type cachedAccount struct {
	raw []byte     // the stored JSON, never modified
	rec accountRec // what raw decodes to; only ever handed out cloned
}

// lookup returns a copy of the record decoded from raw for id, and
// whether the cache had it.
func (c *accountCache) lookup(id string, raw []byte) (accountRec, bool) {
	c.mu.Lock()
	e, ok := c.m[id]
	c.mu.Unlock()
	if !ok || !bytes.Equal(e.raw, raw) {
		return accountRec{}, false
	}
	return e.rec.clone(), true
}

// store keeps a copy of rec as what raw decodes to for id. raw is kept as
// it is: the caller must not modify it afterwards.
func (c *accountCache) store(id string, raw []byte, rec accountRec) {
	rec = rec.clone()
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[id]; !ok && len(c.m) >= accountCacheSize {
		for k := range c.m {
			delete(c.m, k)
			break
		}
	}
	c.m[id] = cachedAccount{raw: raw, rec: rec}
}

// clone returns a deep copy of a: no slice or map shared, so that the
// copy's changes never reach a cached record. TestAccountCloneSharesNothing
// fails when a field holding a slice or map is added without a copy here.
func (a accountRec) clone() accountRec {
	a.TOTPSecret = slices.Clone(a.TOTPSecret)
	a.Failures = slices.Clone(a.Failures)
	a.Consecutive = maps.Clone(a.Consecutive)
	if a.Sources != nil {
		src := make(map[string]sourceRec, len(a.Sources))
		for k, s := range a.Sources {
			s.Failures = slices.Clone(s.Failures)
			src[k] = s
		}
		a.Sources = src
	}
	a.SMSSent = slices.Clone(a.SMSSent)
	a.RecoveryCodes = slices.Clone(a.RecoveryCodes)
	return a
}

// decodesToItself reports whether json.Unmarshal of json.Marshal(a)
// gives a again (reflect.DeepEqual), so that putAccount may cache a for the
// bytes it wrote without decoding them: every string valid UTF-8 (the
// encoder replaces invalid bytes), every time in UTC without a monotonic
// reading (the decoder gives those), every slice or map of an omitempty
// field nil when empty (the decoder leaves an omitted field nil).
// TestAccountCacheMatchesDecode checks it against the decoder.
func (a *accountRec) decodesToItself() bool {
	for _, s := range []string{a.ID, a.Email, a.Name, a.Phone, string(a.Method), a.PasswordHash, a.Challenge, a.Enrollment, a.Locale} {
		if !utf8.ValidString(s) {
			return false
		}
	}
	for _, s := range a.RecoveryCodes {
		if !utf8.ValidString(s) {
			return false
		}
	}
	if !plainTime(a.CreatedAt) || !plainTime(a.LockedUntil) || !plainTimes(a.Failures) || !plainTimes(a.SMSSent) {
		return false
	}
	if (a.TOTPSecret != nil && len(a.TOTPSecret) == 0) || (a.Failures != nil && len(a.Failures) == 0) ||
		(a.Consecutive != nil && len(a.Consecutive) == 0) || (a.Sources != nil && len(a.Sources) == 0) ||
		(a.SMSSent != nil && len(a.SMSSent) == 0) || (a.RecoveryCodes != nil && len(a.RecoveryCodes) == 0) {
		return false
	}
	for k := range a.Consecutive {
		if !utf8.ValidString(k) {
			return false
		}
	}
	for k, s := range a.Sources {
		if !utf8.ValidString(k) || !plainTime(s.LockedUntil) || !plainTimes(s.Failures) || (s.Failures != nil && len(s.Failures) == 0) {
			return false
		}
	}
	return true
}

// plainTime reports whether t is as the JSON decoder gives a time: UTC
// (an "Z" offset), no monotonic reading.
func plainTime(t time.Time) bool { return t.Location() == time.UTC && t == t.Round(0) }

func plainTimes(ts []time.Time) bool {
	for _, t := range ts {
		if !plainTime(t) {
			return false
		}
	}
	return true
}
