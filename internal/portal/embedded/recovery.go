package embedded

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"guidedfix/internal/portal"
)

// recoveryAlphabet is Crockford's base32 alphabet: 32 symbols, 5 bits
// each, without I, L, O and U. Input maps the look-alikes back (O -> 0,
// I and L -> 1), so no symbol can be misread (www.crockford.com/base32).
const recoveryAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// recoveryLen is the number of alphabet characters in a recovery code:
// 15 × 5 = 75 bits, above the 64 bits NIST SP 800-63B-4 §4.2.1.1 asks of
// saved recovery codes.
const recoveryLen = 15

// recoveryGroup is the group length in which a code is shown
// ("XXXXX-XXXXX-XXXXX").
const recoveryGroup = 5

// legacyRecoveryAlphabet and legacyRecoveryLen are the codes issued before
// the 75-bit ones (10 characters, 49 bits): still accepted until used or
// replaced, never issued.
const (
	legacyRecoveryAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
	legacyRecoveryLen      = 10
)

// recoveryWindow is how long after an enrollment was confirmed recovery
// codes may be issued for it.
const recoveryWindow = 10 * time.Minute

// newRecoveryCode returns a code of recoveryLen symbols from crypto/rand,
// uniform over the alphabet (256 is a multiple of 32, so a byte's low 5
// bits are uniform), shown in groups of recoveryGroup joined by '-'.
func newRecoveryCode() string {
	var b strings.Builder
	buf := randomBytes(recoveryLen)
	for i, x := range buf {
		if i > 0 && i%recoveryGroup == 0 {
			b.WriteByte('-')
		}
		b.WriteByte(recoveryAlphabet[int(x)%len(recoveryAlphabet)])
	}
	return b.String()
}

// normalizeRecoveryCode upper-cases code, drops spaces and hyphens and maps
// O to 0 and I, L to 1; it returns "" unless recoveryLen alphabet
// characters remain. A code of legacyRecoveryLen characters of the legacy
// alphabet (issued before) is returned as it is, upper-cased.
func normalizeRecoveryCode(code string) string {
	if len(code) > 64 {
		return ""
	}
	up := strings.ToUpper(code)
	var legacy strings.Builder
	for _, r := range up {
		if r == ' ' || r == '-' {
			continue
		}
		legacy.WriteRune(r)
	}
	if l := legacy.String(); len(l) == legacyRecoveryLen && strings.Trim(l, legacyRecoveryAlphabet) == "" {
		return l
	}
	var b strings.Builder
	for _, r := range up {
		switch {
		case r == ' ' || r == '-':
		case r == 'O':
			b.WriteByte('0')
		case r == 'I' || r == 'L':
			b.WriteByte('1')
		case r < 128 && strings.ContainsRune(recoveryAlphabet, r):
			b.WriteRune(r)
		default:
			return ""
		}
	}
	if b.Len() != recoveryLen {
		return ""
	}
	return b.String()
}

// IssueRecoveryCodes implements portal.Core.IssueRecoveryCodes. The codes
// are hashed with argon2id (the password parameters, a salt each) before
// the transaction that stores them and appends an audit entry.
func (c *Core) IssueRecoveryCodes(ctx context.Context, enrollmentID string, n int) ([]string, error) {
	if n < 1 || n > 20 {
		return nil, fmt.Errorf("portal: recovery code count %d outside 1..20", n)
	}
	now := c.clock()
	var e enrollmentRec
	err := c.db.View(func(tx *bbolt.Tx) error {
		found, err := get(tx, bEnrollments, enrollmentID, &e)
		if err == nil && !found {
			err = portal.ErrNotFound
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	switch {
	case e.State != portal.EnrollmentConfirmed:
		return nil, &portal.WrongStateError{Method: portal.MethodNone}
	case !now.Before(e.ConfirmedAt.Add(recoveryWindow)):
		return nil, portal.ErrExpired
	}
	codes := make([]string, n)
	hashes := make([]string, n)
	for i := range codes {
		codes[i] = newRecoveryCode()
		h, err := c.hashPassword(ctx, normalizeRecoveryCode(codes[i]))
		if err != nil {
			return nil, err
		}
		hashes[i] = h
	}
	err = c.update(func(tx *bbolt.Tx) error {
		a, err := c.loadAccount(tx, e.AccountID)
		if err != nil {
			return err
		}
		if a.Method != portal.MethodTOTP {
			return &portal.WrongStateError{Method: a.Method}
		}
		a.RecoveryCodes = hashes
		if err := c.putAccount(tx, a); err != nil {
			return err
		}
		return appendAudit(tx, now, a.ID, "recovery_codes_issued", fmt.Sprintf("%d codes", n))
	})
	c.log.InfoContext(ctx, "portal recovery codes issued", "account", e.AccountID, "count", n, "error", errText(err))
	if err != nil {
		return nil, err
	}
	return codes, nil
}

// VerifyRecoveryCode checks code (case, spaces and hyphens ignored)
// against the account's unused recovery codes and consumes the one it
// matches: each works once. A wrong code counts toward the limits of
// throttle.go (factor "recovery") and returns
// *portal.BadCodeError, or *portal.LockedError when it locks; a malformed
// code returns portal.ErrCodeFormat; a code used concurrently by another
// call returns portal.ErrCodeReplayed. A use e-mails the account holder
// (NIST SP 800-63B-4 §4.2.1.1 account-recovery notification), after the
// transaction that consumed the code.
func (c *Core) VerifyRecoveryCode(ctx context.Context, accountID, code string) error {
	norm := normalizeRecoveryCode(code)
	if norm == "" {
		return portal.ErrCodeFormat
	}
	now := c.clock()
	src := c.sourceKey(portal.SourceFromContext(ctx))
	a, err := c.viewAccount(accountID)
	if err != nil {
		return err
	}
	if err := a.gate(now, src, factorRecovery, false); err != nil {
		c.logRefused(accountID, factorRecovery, err)
		return err
	}
	match := ""
	for _, h := range a.RecoveryCodes {
		ok, err := c.checkPassword(ctx, h, norm)
		if err != nil {
			return err
		}
		if ok {
			match = h
			break
		}
	}
	var result error
	mailID := ""
	err = c.update(func(tx *bbolt.Tx) error {
		a, err := c.loadAccount(tx, accountID)
		if err != nil {
			return err
		}
		if match == "" {
			var ev failEvent
			result, ev = a.fail(now, src, factorRecovery)
			if result == nil {
				result = &portal.BadCodeError{AttemptsLeft: a.failuresLeft(now, src)}
			}
			if err := c.putAccount(tx, a); err != nil {
				return err
			}
			mailID, err = c.recordFailure(tx, now, a, factorRecovery, ev)
			return err
		}
		a.succeed(src, factorRecovery)
		i := indexOf(a.RecoveryCodes, match)
		if i < 0 {
			result = portal.ErrCodeReplayed
			return nil
		}
		a.RecoveryCodes = append(a.RecoveryCodes[:i:i], a.RecoveryCodes[i+1:]...)
		if err := c.putAccount(tx, a); err != nil {
			return err
		}
		if err := appendAudit(tx, now, a.ID, "recovery_code_used", fmt.Sprintf("%d left", len(a.RecoveryCodes))); err != nil {
			return err
		}
		if a.Email == "" {
			return nil
		}
		// The holder is told, in the same transaction (sent after it).
		mailID = messageID("recovery_used", fmt.Sprintf("%s/%d", a.ID, now.UnixNano()))
		return enqueue(tx, now, kindRecoveryUsed, c.recoveryUsedMessage(mailID, a, len(a.RecoveryCodes), now))
	})
	if mailID != "" {
		c.deliver(ctx, mailID)
	}
	if err != nil {
		return err
	}
	return result
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}
