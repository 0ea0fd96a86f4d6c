package embedded

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"guidedfix/internal/portal"
)

// Failure limits (NIST SP 800-63B §5.2.2; RFC 4226 §7.3 "across login
// sessions"). Every limit is kept per account in the core, whatever the
// channel; the source is the platform user behind a call
// (portal.SourceFromContext).
const (
	// sourceMaxFailures failures of one source on one account within
	// failureWindow throttle that source on that account.
	sourceMaxFailures = 5
	// accountMaxFailures failures on one account within failureWindow,
	// from every source together, lock the account for everyone.
	accountMaxFailures = 20
	// consecutiveCap consecutive failures of one factor of one account
	// (never reset by a lock, only by a success of that factor) refuse the
	// factor until an operator unlocks it (guidedfix portal unlock).
	consecutiveCap = 100
	// firstLock is the length of the first lock or throttle; each further
	// one of the same streak doubles, up to maxLock.
	firstLock = 15 * time.Minute
	maxLock   = 24 * time.Hour
)

// Factors whose consecutive failures are counted apart.
const (
	factorPassword = "password"
	factorSMS      = "sms"
	factorTOTP     = "totp"
	factorRecovery = "recovery"
)

// sourceRec is the failure record of one source on one account.
type sourceRec struct {
	// Failures are the source's failures within failureWindow.
	Failures []time.Time `json:",omitempty"`
	// LockedUntil ends the source's current throttle.
	LockedUntil time.Time `json:",omitzero"`
	// Locks is how many throttles the source got in the current streak.
	Locks int `json:",omitempty"`
}

// lockLength is the length of lock number n (0-based) of a streak:
// 15 min × 2^n, at most 24 h.
func lockLength(n int) time.Duration {
	d := firstLock
	for range n {
		d *= 2
		if d >= maxLock {
			return maxLock
		}
	}
	return d
}

// sourceKey is the record key of a source: a keyed hash, so the account
// record holds no platform user id.
func (c *Core) sourceKey(source string) string {
	m := hmac.New(sha256.New, c.macKey)
	m.Write([]byte("failure-source\x00" + source))
	return hex.EncodeToString(m.Sum(nil)[:12])
}

// failEvent says what a failure changed, for the audit log and the owner's
// e-mails.
type failEvent struct {
	count       int       // the factor's consecutive failures now
	sourceLock  time.Time // the source was throttled until then (zero: not now)
	accountLock time.Time // the account was locked until then (zero: not now)
	capped      bool      // the factor reached consecutiveCap now
	notify      bool      // first lock of the streak: e-mail the owner
}

// gate returns the error that refuses an attempt at factor from source
// (a sourceKey) at now, or nil: *portal.LockedError{Operator: true} when
// the factor reached consecutiveCap, the source's throttle, then the
// account's lock unless ownSwitch (the caller proved the second factor
// for a switch under way, which other sources' failures must not abort).
func (a *accountRec) gate(now time.Time, source, factor string, ownSwitch bool) error {
	if a.Consecutive[factor] >= consecutiveCap {
		return &portal.LockedError{Operator: true}
	}
	if s, ok := a.Sources[source]; ok && now.Before(s.LockedUntil) {
		return &portal.LockedError{RetryAfter: s.LockedUntil}
	}
	if !ownSwitch {
		return a.lockError(now)
	}
	return nil
}

// fail records a failure of factor from source at now: the factor's
// consecutive count, the source's and the account's recent failures. The
// source's 5th failure within 15 minutes throttles it, the account's 20th
// locks the account, each for lockLength of its lock number; the 100th
// consecutive failure of the factor refuses it. It returns the
// *portal.LockedError the caller now gets (nil when it may go on) and what
// changed.
func (a *accountRec) fail(now time.Time, source, factor string) (error, failEvent) {
	if a.Consecutive == nil {
		a.Consecutive = map[string]int{}
	}
	if a.Sources == nil {
		a.Sources = map[string]sourceRec{}
	}
	a.pruneSources(now)
	a.Consecutive[factor]++
	ev := failEvent{count: a.Consecutive[factor]}
	s := a.Sources[source]
	s.Failures = append(recent(s.Failures, now), now)
	a.Failures = append(recent(a.Failures, now), now)
	var result error
	if len(s.Failures) >= sourceMaxFailures {
		s.LockedUntil, s.Failures = now.Add(lockLength(s.Locks)), nil
		s.Locks++
		ev.sourceLock = s.LockedUntil
		result = &portal.LockedError{RetryAfter: s.LockedUntil}
	}
	a.Sources[source] = s
	if len(a.Failures) >= accountMaxFailures {
		a.LockedUntil, a.Failures = now.Add(lockLength(a.Locks)), nil
		a.Locks++
		ev.accountLock = a.LockedUntil
		if result == nil || a.LockedUntil.After(s.LockedUntil) {
			result = &portal.LockedError{RetryAfter: a.LockedUntil}
		}
	}
	if ev.count >= consecutiveCap {
		ev.capped = ev.count == consecutiveCap
		result = &portal.LockedError{Operator: true}
	}
	if (!ev.sourceLock.IsZero() || !ev.accountLock.IsZero()) && !a.Notified {
		a.Notified, ev.notify = true, true
	}
	return result, ev
}

// succeed records a success of factor from source: the factor's
// consecutive failures are cleared. Once no factor has failures left
// (a right password does not excuse wrong SMS codes) the source's recent
// failures are cleared too and the lock numbers start again.
func (a *accountRec) succeed(source, factor string) {
	delete(a.Consecutive, factor)
	for _, n := range a.Consecutive {
		if n > 0 {
			return
		}
	}
	if s, ok := a.Sources[source]; ok {
		s.Failures = nil
		a.Sources[source] = s
	}
	a.Locks, a.Notified = 0, false
	for k, s := range a.Sources {
		s.Locks = 0
		a.Sources[k] = s
	}
}

// pruneSources drops the records of sources with no recent failure, no
// throttle and no lock number, so the record stays small.
func (a *accountRec) pruneSources(now time.Time) {
	for k, s := range a.Sources {
		if len(recent(s.Failures, now)) == 0 && !now.Before(s.LockedUntil) && (s.Locks == 0 || now.Sub(s.LockedUntil) > maxLock) {
			delete(a.Sources, k)
		}
	}
}

// failuresLeft is how many more failures source tolerates before its
// throttle or the account's lock, whichever comes first.
func (a *accountRec) failuresLeft(now time.Time, source string) int {
	left := accountMaxFailures - len(recent(a.Failures, now))
	if s, ok := a.Sources[source]; ok {
		left = min(left, sourceMaxFailures-len(recent(s.Failures, now)))
	} else {
		left = min(left, sourceMaxFailures)
	}
	return left
}

// recordFailure audits a failure of factor on accountID and, at the first
// lock of a streak and at the cap, writes the owner's e-mail (a real
// account only: email non-empty) to the outbox; it returns the message id
// to deliver after commit, or "". It records counts and outcomes, never
// the value tried.
func (c *Core) recordFailure(tx *bbolt.Tx, now time.Time, a accountRec, factor string, ev failEvent) (string, error) {
	detail := fmt.Sprintf("%s: %d consecutive", factor, ev.count)
	if err := appendAudit(tx, now, a.ID, "auth_failed", detail); err != nil {
		return "", err
	}
	if !ev.sourceLock.IsZero() {
		if err := appendAudit(tx, now, a.ID, "source_throttled", fmt.Sprintf("%s until %s", factor, ev.sourceLock.Format(time.RFC3339))); err != nil {
			return "", err
		}
	}
	if !ev.accountLock.IsZero() {
		if err := appendAudit(tx, now, a.ID, "account_locked", fmt.Sprintf("%s until %s", factor, ev.accountLock.Format(time.RFC3339))); err != nil {
			return "", err
		}
	}
	if ev.capped {
		if err := appendAudit(tx, now, a.ID, "factor_refused", fmt.Sprintf("%s: %d consecutive failures, operator unlock needed", factor, consecutiveCap)); err != nil {
			return "", err
		}
	}
	if a.Email == "" || (!ev.notify && !ev.capped) {
		return "", nil
	}
	kind, op := kindLocked, "locked"
	if ev.capped {
		kind, op = kindRefused, "refused"
	}
	id := messageID(op, fmt.Sprintf("%s/%s/%d", a.ID, factor, now.UnixNano()))
	return id, enqueue(tx, now, kind, c.lockMessage(id, a, factor, ev, now))
}

// logRefused logs an attempt refused by a lock, a throttle or the cap:
// ids and the outcome only.
func (c *Core) logRefused(accountID, factor string, err error) {
	c.log.Info("portal attempt refused", "account", accountID, "factor", factor, "error", errText(err))
}

// ErrNothingToUnlock is returned by Unlock for an address with neither an
// account nor failed attempts.
var ErrNothingToUnlock = errors.New("portal: no account and no failed attempts for this e-mail")

// Unlock is the operator's reset of an account's failure limits
// (guidedfix portal unlock EMAIL): the consecutive-failure counts of every
// factor (the 100 cap of NIST SP 800-63B §5.2.2), the account lock, every
// source throttle and the SMS send limit (5 codes per 15 minutes) are
// cleared, with an audit entry "unlocked" naming
// operator. An address with no account is unlocked likewise (its failures
// count like an account's). It returns the account id (or the opaque
// unknown id) and ErrNothingToUnlock when the address has neither.
func (c *Core) Unlock(ctx context.Context, email, operator string) (string, error) {
	now := c.clock()
	var id string
	err := c.update(func(tx *bbolt.Tx) error {
		bucket, key := bAccounts, ""
		v := tx.Bucket(bEmails).Get([]byte(lookupForm(email)))
		known := v != nil // an account: bAccounts at its id, else bUnknown
		if known {
			id, key = string(v), string(v)
		} else {
			id = c.UnknownAccount(email)
			m := hmac.New(sha256.New, c.macKey)
			m.Write([]byte(id))
			bucket, key = bUnknown, hex.EncodeToString(m.Sum(nil))
		}
		var a accountRec
		found, err := get(tx, bucket, key, &a)
		if err != nil {
			return err
		}
		if !found {
			return ErrNothingToUnlock
		}
		detail := fmt.Sprintf("by %s; cleared %s", operator, unlockText(a, now))
		a.Failures, a.LockedUntil, a.Locks, a.Consecutive, a.Sources, a.Notified = nil, time.Time{}, 0, nil, nil, false
		a.SMSSent = nil
		if known {
			err = c.putAccount(tx, a)
		} else {
			err = put(tx, bucket, key, a)
		}
		if err != nil {
			return err
		}
		return appendAudit(tx, now, id, "unlocked", detail)
	})
	c.log.Info("portal account unlocked", "account", id, "operator", operator, "error", errText(err))
	return id, err
}

// unlockText renders what an unlock of a clears at now, for the audit
// log: "password 5; 5 recent failures; account lock; 1 source throttle;
// 1 SMS code sent" (each part only when there is something to clear,
// counts within failureWindow, "nothing" when every part is empty).
func unlockText(a accountRec, now time.Time) string {
	var parts []string
	if len(a.Consecutive) > 0 {
		parts = append(parts, consecutiveText(a.Consecutive))
	}
	if n := len(recent(a.Failures, now)); n > 0 {
		parts = append(parts, plural(n, "recent failure", "recent failures"))
	}
	if a.LockedUntil.After(now) {
		parts = append(parts, "account lock")
	}
	if throttled := throttledSources(a, now); throttled > 0 {
		parts = append(parts, plural(throttled, "source throttle", "source throttles"))
	}
	if n := len(recent(a.SMSSent, now)); n > 0 {
		parts = append(parts, plural(n, "SMS code sent", "SMS codes sent"))
	}
	if len(parts) == 0 {
		return "nothing"
	}
	return strings.Join(parts, "; ")
}

// throttledSources counts a's sources whose throttle is still running at
// now.
func throttledSources(a accountRec, now time.Time) int {
	n := 0
	for _, src := range a.Sources {
		if now.Before(src.LockedUntil) {
			n++
		}
	}
	return n
}

// plural renders n with the singular one when n is 1, else many: "1 SMS
// code sent", "5 SMS codes sent".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// consecutiveText renders a factor -> consecutive-failures map for the
// audit log as "password 5, sms 2" (factors sorted).
func consecutiveText(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s %d", k, m[k])
	}
	return strings.Join(parts, ", ")
}
