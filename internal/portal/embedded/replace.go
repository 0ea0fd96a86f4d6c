package embedded

import (
	"context"
	"fmt"
	"time"

	"github.com/pquerna/otp"
	"go.etcd.io/bbolt"

	"guidedfix/internal/mailtext"
	"guidedfix/internal/portal"
)

// Operation names of the replacement operations' idempotency keys.
const (
	opElevateRecovery = "elevate_recovery"
	opBeginReplace    = "begin_totp_replace"
	opConfirmReplace  = "confirm_totp_replace"
)

// replacedRecoveryCodes is how many codes replace the set when a recovery
// code is spent by ElevateWithRecoveryCode.
const replacedRecoveryCodes = 10

// elevate makes g an elevated grant proved now by src.
func elevate(g *grantRec, now time.Time, src string) {
	g.Level, g.ExpiresAt, g.ProvedAt, g.Source = portal.LevelElevated, now.Add(elevatedGrantTTL), now, src
}

// ElevateWithTOTP implements portal.Core.ElevateWithTOTP: code (after
// portal.NormalizeCode, else portal.ErrCodeFormat) must match time step
// c-1, c or c+1 of the account's active secret (RFC 6238 §5.2) and be
// after the last accepted step (else portal.ErrCodeReplayed); the step is
// recorded and the grant elevated in the same transaction. A wrong code
// counts toward throttle.go's limits (factor "totp") and returns
// *portal.BadCodeError with the failures left, or *portal.LockedError.
func (c *Core) ElevateWithTOTP(ctx context.Context, grantToken, code string) (portal.Grant, error) {
	code, ok := portal.NormalizeCode(code)
	if !ok {
		return portal.Grant{}, portal.ErrCodeFormat
	}
	now := c.clock()
	src := c.sourceKey(portal.SourceFromContext(ctx))
	var g grantRec
	mailID := ""
	err := c.update(func(tx *bbolt.Tx) error {
		var err error
		if g, err = loadGrant(tx, grantToken); err != nil {
			return err
		}
		if !now.Before(g.ExpiresAt) {
			return portal.ErrExpired
		}
		a, err := c.loadAccount(tx, g.AccountID)
		if err != nil {
			return err
		}
		if err := a.gate(now, src, factorTOTP, false); err != nil {
			c.logRefused(a.ID, factorTOTP, err)
			return err
		}
		if a.Method != portal.MethodTOTP {
			return &portal.WrongStateError{Method: a.Method}
		}
		secret, err := c.unseal(a.TOTPSecret, totpAAD(a.ID))
		if err != nil {
			return err
		}
		step, ok := matchStep(b32.EncodeToString(secret), code, now, otp.DigitsSix)
		if !ok {
			result, ev := a.fail(now, src, factorTOTP)
			if result == nil {
				result = &portal.BadCodeError{AttemptsLeft: a.failuresLeft(now, src)}
			}
			if err := c.putAccount(tx, a); err != nil {
				return err
			}
			if mailID, err = c.recordFailure(tx, now, a, factorTOTP, ev); err != nil {
				return err
			}
			return keep(result)
		}
		if step <= a.LastStep {
			return portal.ErrCodeReplayed
		}
		a.LastStep = step
		a.succeed(src, factorTOTP)
		elevate(&g, now, src)
		if err := c.putAccount(tx, a); err != nil {
			return err
		}
		if err := appendAudit(tx, now, a.ID, "elevated_totp", "current authenticator app code"); err != nil {
			return err
		}
		return put(tx, bGrants, grantKey(grantToken), g)
	})
	if mailID != "" {
		c.deliver(ctx, mailID)
	}
	c.log.InfoContext(ctx, "portal totp elevate", "account", g.AccountID, "ok", err == nil, "error", errText(err))
	if err != nil {
		return portal.Grant{}, err
	}
	return portal.Grant{Token: grantToken, AccountID: g.AccountID, Level: g.Level, ExpiresAt: g.ExpiresAt}, nil
}

// newRecoverySet returns n fresh recovery codes and their argon2id hashes
// (hashed outside any transaction).
func (c *Core) newRecoverySet(ctx context.Context, n int) (codes, hashes []string, err error) {
	codes, hashes = make([]string, n), make([]string, n)
	for i := range codes {
		codes[i] = newRecoveryCode()
		if hashes[i], err = c.hashPassword(ctx, normalizeRecoveryCode(codes[i])); err != nil {
			return nil, nil, err
		}
	}
	return codes, hashes, nil
}

// ElevateWithRecoveryCode implements portal.Core.ElevateWithRecoveryCode.
// The code is compared with argon2id outside the transaction (as
// VerifyRecoveryCode does) and the 10 new codes are hashed before it; the
// transaction then spends the code, stores the new hashes in place of the
// whole set, elevates the grant, appends the audit entries
// "recovery_code_used" and "recovery_codes_replaced" and writes the
// notification (mailtext.RecoveryReplaced) to the outbox; the e-mail is
// sent after it. A key used for another operation or account returns
// portal.ErrIdempotencyMismatch.
func (c *Core) ElevateWithRecoveryCode(ctx context.Context, grantToken, code, key string) (portal.RecoveryElevation, error) {
	if err := checkKey(key); err != nil {
		return portal.RecoveryElevation{}, err
	}
	now := c.clock()
	src := c.sourceKey(portal.SourceFromContext(ctx))
	var g grantRec
	var a accountRec
	var repeated bool
	err := c.db.View(func(tx *bbolt.Tx) error {
		var err error
		if g, err = loadGrant(tx, grantToken); err != nil {
			return err
		}
		if a, err = c.loadAccount(tx, g.AccountID); err != nil {
			return err
		}
		_, repeated, err = lookupKey(tx, key, opElevateRecovery, a.ID)
		return err
	})
	if err != nil {
		return portal.RecoveryElevation{}, err
	}
	if repeated {
		return c.reissueRecovery(ctx, grantToken, key, now)
	}
	norm := normalizeRecoveryCode(code)
	if norm == "" {
		return portal.RecoveryElevation{}, portal.ErrCodeFormat
	}
	if !now.Before(g.ExpiresAt) {
		return portal.RecoveryElevation{}, portal.ErrExpired
	}
	if a.Method != portal.MethodTOTP {
		return portal.RecoveryElevation{}, &portal.WrongStateError{Method: a.Method}
	}
	if err := a.gate(now, src, factorRecovery, false); err != nil {
		c.logRefused(a.ID, factorRecovery, err)
		return portal.RecoveryElevation{}, err
	}
	match := ""
	for _, h := range a.RecoveryCodes {
		ok, err := c.checkPassword(ctx, h, norm)
		if err != nil {
			return portal.RecoveryElevation{}, err
		}
		if ok {
			match = h
			break
		}
	}
	var codes, hashes []string
	if match != "" {
		if codes, hashes, err = c.newRecoverySet(ctx, replacedRecoveryCodes); err != nil {
			return portal.RecoveryElevation{}, err
		}
	}
	var result error
	mailID := ""
	err = c.update(func(tx *bbolt.Tx) error {
		g, err := loadGrant(tx, grantToken)
		if err != nil {
			return err
		}
		a, err := c.loadAccount(tx, g.AccountID)
		if err != nil {
			return err
		}
		if _, found, err := lookupKey(tx, key, opElevateRecovery, a.ID); err != nil || found {
			if err == nil {
				err = portal.ErrCodeReplayed // the same key won a concurrent call
			}
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
		if indexOf(a.RecoveryCodes, match) < 0 {
			result = portal.ErrCodeReplayed
			return nil
		}
		a.succeed(src, factorRecovery)
		a.RecoveryCodes = hashes
		elevate(&g, now, src)
		if err := c.putAccount(tx, a); err != nil {
			return err
		}
		if err := put(tx, bGrants, grantKey(grantToken), g); err != nil {
			return err
		}
		if err := appendAudit(tx, now, a.ID, "recovery_code_used", "elevated a grant"); err != nil {
			return err
		}
		if err := appendAudit(tx, now, a.ID, "recovery_codes_replaced", fmt.Sprintf("%d codes", len(hashes))); err != nil {
			return err
		}
		if err := put(tx, bIdempotency, key, idemRec{Op: opElevateRecovery, AccountID: a.ID, Ref: grantKey(grantToken)}); err != nil {
			return err
		}
		if a.Email == "" {
			return nil
		}
		mailID = messageID(opElevateRecovery, key)
		return enqueue(tx, now, kindRecoveryUsed, c.render(mailID, mailtext.RecoveryReplaced, a, mailtext.Data{Count: len(hashes)}, now))
	})
	if mailID != "" {
		c.deliver(ctx, mailID)
	}
	c.log.InfoContext(ctx, "portal recovery elevate", "account", a.ID, "ok", err == nil && result == nil, "error", errText(err), "result", errText(result))
	if err == nil {
		err = result
	}
	if err != nil {
		return portal.RecoveryElevation{}, err
	}
	return portal.RecoveryElevation{Grant: portal.Grant{Token: grantToken, AccountID: g.AccountID, Level: portal.LevelElevated, ExpiresAt: now.Add(elevatedGrantTTL)}, Codes: codes}, nil
}

// reissueRecovery answers a repeated ElevateWithRecoveryCode key: a fresh
// set replaces the one of the first answer, which may never have been
// shown; no e-mail is sent again.
func (c *Core) reissueRecovery(ctx context.Context, grantToken, key string, now time.Time) (portal.RecoveryElevation, error) {
	codes, hashes, err := c.newRecoverySet(ctx, replacedRecoveryCodes)
	if err != nil {
		return portal.RecoveryElevation{}, err
	}
	var g grantRec
	err = c.update(func(tx *bbolt.Tx) error {
		var err error
		if g, err = loadGrant(tx, grantToken); err != nil {
			return err
		}
		rec, found, err := lookupKey(tx, key, opElevateRecovery, g.AccountID)
		if err != nil {
			return err
		}
		if !found || rec.Ref != grantKey(grantToken) {
			return portal.ErrIdempotencyMismatch
		}
		a, err := c.loadAccount(tx, g.AccountID)
		if err != nil {
			return err
		}
		a.RecoveryCodes = hashes
		if err := c.putAccount(tx, a); err != nil {
			return err
		}
		return appendAudit(tx, now, a.ID, "recovery_codes_replaced", fmt.Sprintf("%d codes (repeated request)", len(hashes)))
	})
	c.log.InfoContext(ctx, "portal recovery elevate", "repeated", true, "error", errText(err))
	if err != nil {
		return portal.RecoveryElevation{}, err
	}
	return portal.RecoveryElevation{Grant: portal.Grant{Token: grantToken, AccountID: g.AccountID, Level: g.Level, ExpiresAt: g.ExpiresAt}, Codes: codes}, nil
}

// BeginTOTPReplacement implements portal.Core.BeginTOTPReplacement: as
// BeginTOTPEnrollment (sealed 20-byte secret, 10 minutes, 5 tries, one
// pending enrollment per account, the same answer for a repeated key while
// pending and portal.ErrExpired after) for an account with method totp and
// an elevated grant. The account's active secret is not touched. It
// appends the audit entry "totp_replacement_begun".
func (c *Core) BeginTOTPReplacement(ctx context.Context, grantToken, key string) (portal.Enrollment, error) {
	if err := checkKey(key); err != nil {
		return portal.Enrollment{}, err
	}
	now := c.clock()
	var out portal.Enrollment
	err := c.update(func(tx *bbolt.Tx) error {
		g, err := loadGrant(tx, grantToken)
		if err != nil {
			return err
		}
		a, err := c.loadAccount(tx, g.AccountID)
		if err != nil {
			return err
		}
		rec, found, err := lookupKey(tx, key, opBeginReplace, a.ID)
		if err != nil {
			return err
		}
		if found {
			var e enrollmentRec
			if _, err := get(tx, bEnrollments, rec.Ref, &e); err != nil {
				return err
			}
			if e.state(now) != portal.EnrollmentPending {
				return portal.ErrExpired
			}
			secret, err := c.unseal(e.Secret, enrollAAD(a.ID, e.ID))
			if err != nil {
				return err
			}
			out, err = c.enrollment(e, a.Email, secret)
			return err
		}
		if !now.Before(g.ExpiresAt) {
			return portal.ErrExpired
		}
		if a.Method != portal.MethodTOTP {
			return &portal.WrongStateError{Method: a.Method}
		}
		if g.Level != portal.LevelElevated {
			return portal.ErrNeedElevation
		}
		e := enrollmentRec{ID: newID("enr"), AccountID: a.ID, ExpiresAt: now.Add(enrollmentTTL), State: portal.EnrollmentPending, Source: g.Source, Replace: true}
		secret := randomBytes(totpSecretSize)
		if out, err = c.enrollment(e, a.Email, secret); err != nil {
			return err
		}
		e.Secret = c.seal(secret, enrollAAD(a.ID, e.ID))
		if err := voidEnrollment(tx, a.Enrollment); err != nil {
			return err
		}
		a.Enrollment = e.ID
		if err := c.putAccount(tx, a); err != nil {
			return err
		}
		if err := put(tx, bEnrollments, e.ID, e); err != nil {
			return err
		}
		if err := appendAudit(tx, now, a.ID, "totp_replacement_begun", e.ID); err != nil {
			return err
		}
		return put(tx, bIdempotency, key, idemRec{Op: opBeginReplace, AccountID: a.ID, Ref: e.ID})
	})
	c.log.InfoContext(ctx, "portal totp replacement begun", "enrollment", out.ID, "error", errText(err))
	if err != nil {
		return portal.Enrollment{}, err
	}
	return out, nil
}

// ConfirmTOTPReplacement implements portal.Core.ConfirmTOTPReplacement:
// the code is checked as ConfirmTOTPEnrollment checks it (format, expiry,
// the per-account limits, 5 tries) against the new secret; on a match one
// transaction seals the new secret onto the account in place of the old
// one, records the matched step, voids every grant and any SMS challenge,
// confirms the enrollment (erasing its pending secret), appends the audit
// entry "totp_replaced" and writes the e-mail (mailtext.TOTPReplaced),
// sent after it, in the account's language, which an account without one
// takes from ctx (portal.WithLocale) first. The account's last accepted step belongs to the old
// secret, so it does not refuse the new app's first code; the enrollment
// itself accepts one code only.
func (c *Core) ConfirmTOTPReplacement(ctx context.Context, enrollmentID, code, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	now := c.clock()
	src := c.sourceKey(portal.SourceFromContext(ctx))
	msgID := messageID(opConfirmReplace, key)
	repeated := false
	lockMail := ""
	err := c.update(func(tx *bbolt.Tx) error {
		var e enrollmentRec
		if ok, err := get(tx, bEnrollments, enrollmentID, &e); err != nil {
			return err
		} else if !ok {
			return portal.ErrNotFound
		}
		rec, found, err := lookupKey(tx, key, opConfirmReplace, e.AccountID)
		if err == nil && found && rec.Ref != e.ID {
			err = portal.ErrIdempotencyMismatch
		}
		if err != nil || found {
			repeated = found
			return err
		}
		code, ok := portal.NormalizeCode(code)
		if !ok {
			return portal.ErrCodeFormat
		}
		a, err := c.loadAccount(tx, e.AccountID)
		if err != nil {
			return err
		}
		if !e.Replace || a.Method != portal.MethodTOTP {
			return &portal.WrongStateError{Method: a.Method}
		}
		if e.state(now) != portal.EnrollmentPending {
			if err := voidEnrollment(tx, e.ID); err != nil {
				return err
			}
			return keep(portal.ErrExpired)
		}
		if err := a.gate(now, src, factorTOTP, e.Source == src); err != nil {
			c.logRefused(a.ID, factorTOTP, err)
			return err
		}
		secret, err := c.unseal(e.Secret, enrollAAD(a.ID, e.ID))
		if err != nil {
			return err
		}
		step, ok := matchStep(b32.EncodeToString(secret), code, now, otp.DigitsSix)
		if !ok {
			lockMail, err = c.wrongEnrollmentCode(tx, now, src, e, a, secret, code)
			return err
		}
		a.succeed(src, factorTOTP)
		if err := voidChallenge(tx, a.Challenge); err != nil {
			return err
		}
		a.Challenge = ""
		a.TOTPSecret, a.LastStep, a.Enrollment = c.seal(secret, totpAAD(a.ID)), step, ""
		adoptLocale(ctx, &a)
		if err := revokeGrants(tx, a.ID); err != nil {
			return err
		}
		e.State, e.Secret, e.ConfirmedAt = portal.EnrollmentConfirmed, nil, now
		if err := c.putAccount(tx, a); err != nil {
			return err
		}
		if err := put(tx, bEnrollments, e.ID, e); err != nil {
			return err
		}
		if err := enqueue(tx, now, kindConfirmation, c.render(msgID, mailtext.TOTPReplaced, a, mailtext.Data{}, now)); err != nil {
			return err
		}
		if err := appendAudit(tx, now, a.ID, "totp_replaced", "totp -> totp (new device)"); err != nil {
			return err
		}
		return put(tx, bIdempotency, key, idemRec{Op: opConfirmReplace, AccountID: a.ID, Ref: e.ID})
	})
	c.log.InfoContext(ctx, "portal totp replacement confirm", "enrollment", enrollmentID, "repeated", repeated, "error", errText(err))
	if lockMail != "" {
		c.deliver(ctx, lockMail)
	}
	if err != nil {
		return err
	}
	c.deliver(ctx, msgID)
	return nil
}
