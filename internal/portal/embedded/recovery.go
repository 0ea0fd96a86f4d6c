package embedded

import (
	"context"
	"crypto/rand"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"guidedfix/internal/portal"
)

// recoveryAlphabet has no characters that are easy to confuse (0/O, 1/I/L):
// 32 symbols, 5 bits each, so a 10-character code carries 50 bits (NIST SP
// 800-63B §5.1.2.1 asks at least 20 bits for look-up secrets).
const recoveryAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// recoveryLen is the number of alphabet characters in a recovery code.
const recoveryLen = 10

// recoveryWindow is how long after an enrollment was confirmed recovery
// codes may be issued for it.
const recoveryWindow = 10 * time.Minute

// newRecoveryCode returns a code "XXXXX-XXXXX" from crypto/rand, uniform
// over the alphabet (rejection sampling).
func newRecoveryCode() string {
	var b strings.Builder
	buf := make([]byte, 1)
	for b.Len() < recoveryLen+1 {
		if b.Len() == recoveryLen/2 {
			b.WriteByte('-')
		}
		if _, err := rand.Read(buf); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		if int(buf[0]) >= 256-256%len(recoveryAlphabet) {
			continue
		}
		b.WriteByte(recoveryAlphabet[int(buf[0])%len(recoveryAlphabet)])
	}
	return b.String()
}

// normalizeRecoveryCode upper-cases code and drops spaces and hyphens; it
// returns "" unless recoveryLen alphabet characters remain.
func normalizeRecoveryCode(code string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(code) {
		switch {
		case r == ' ' || r == '-':
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
		a, err := loadAccount(tx, e.AccountID)
		if err != nil {
			return err
		}
		if a.Method != portal.MethodTOTP {
			return &portal.WrongStateError{Method: a.Method}
		}
		a.RecoveryCodes = hashes
		if err := put(tx, bAccounts, a.ID, a); err != nil {
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
// matches: each works once. A wrong code counts as a failed code attempt
// toward the account lock (5 in 15 minutes) and returns
// *portal.BadCodeError, or *portal.LockedError when it locks; a malformed
// code returns portal.ErrCodeFormat; a code used concurrently by another
// call returns portal.ErrCodeReplayed.
func (c *Core) VerifyRecoveryCode(ctx context.Context, accountID, code string) error {
	norm := normalizeRecoveryCode(code)
	if norm == "" {
		return portal.ErrCodeFormat
	}
	now := c.clock()
	a, err := c.viewAccount(accountID)
	if err != nil {
		return err
	}
	if err := a.lockError(now); err != nil {
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
	err = c.update(func(tx *bbolt.Tx) error {
		a, err := loadAccount(tx, accountID)
		if err != nil {
			return err
		}
		if match == "" {
			result = a.fail(now, &a.CodeFailures)
			if result == nil {
				result = &portal.BadCodeError{AttemptsLeft: a.failuresLeft(now)}
			}
			return put(tx, bAccounts, a.ID, a)
		}
		i := indexOf(a.RecoveryCodes, match)
		if i < 0 {
			result = portal.ErrCodeReplayed
			return nil
		}
		a.RecoveryCodes = append(a.RecoveryCodes[:i:i], a.RecoveryCodes[i+1:]...)
		if err := put(tx, bAccounts, a.ID, a); err != nil {
			return err
		}
		return appendAudit(tx, now, a.ID, "recovery_code_used", fmt.Sprintf("%d left", len(a.RecoveryCodes)))
	})
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
