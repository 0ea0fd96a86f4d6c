package embedded

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base32"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	"go.etcd.io/bbolt"

	"guidedfix/internal/portal"
)

const (
	totpPeriod         = 30 // seconds per time step X (RFC 6238 §4, §5.2)
	totpSecretSize     = 20 // bytes: 160 bits, RFC 4226 §4 R6
	enrollmentTTL      = 10 * time.Minute
	enrollmentAttempts = 5
)

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// enrollmentRec is a stored enrollment. Secret is the TOTP secret sealed
// with enrollAAD; it is erased as soon as the enrollment is not pending.
type enrollmentRec struct {
	ID        string
	AccountID string
	Secret    []byte `json:",omitempty"`
	ExpiresAt time.Time
	Failures  int
	State     portal.EnrollmentState
	// Source is the sourceKey that proved the second factor for the
	// grant that began the enrollment.
	Source string `json:",omitempty"`
	// ConfirmedAt is when the enrollment was confirmed (zero before).
	ConfirmedAt time.Time `json:",omitzero"`
	// Replace is set for an enrollment begun by BeginTOTPReplacement: it
	// replaces the secret of an account that already uses TOTP.
	Replace bool `json:",omitempty"`
}

// state is e's state at now: a pending enrollment past ExpiresAt is void.
func (e enrollmentRec) state(now time.Time) portal.EnrollmentState {
	if e.State == portal.EnrollmentPending && !now.Before(e.ExpiresAt) {
		return portal.EnrollmentVoid
	}
	return e.State
}

// Additional data binding a sealed secret to its account (and enrollment).
func enrollAAD(accountID, enrollmentID string) string { return accountID + "/" + enrollmentID }
func totpAAD(accountID string) string                 { return accountID + "/totp" }

// matchStep returns the RFC 6238 time step T among c-1, c, c+1 (c =
// floor(now/30 s), T0 = 0, one step of skew as RFC 6238 §5.2 recommends)
// whose HMAC-SHA1 code of the given length for the base32 secret equals
// code, compared in constant time. It reports false when none matches.
func matchStep(secret, code string, now time.Time, digits otp.Digits) (int64, bool) {
	opts := totp.ValidateOpts{Period: totpPeriod, Digits: digits, Algorithm: otp.AlgorithmSHA1}
	c := now.Unix() / totpPeriod
	for step := c - 1; step <= c+1; step++ {
		if step < 0 {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(step*totpPeriod, 0), opts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return step, true
		}
	}
	return 0, false
}

// Characters refused in otpauth labels. The Key URI format forbids ':' in
// issuer and account name. pquerna/otp puts the issuer in the query with
// url.PathEscape, which leaves '&' and '+' as they are, so they break the
// issuer parameter; '#', '?', '%', '/' and '=' are refused as well because
// apps parse labels by hand. '+' is common in e-mail addresses and is kept
// in the account name: keyURI percent-encodes it in the label path, where
// every parser reads "%2B" as '+'.
const (
	labelForbidden  = ":&#?%/="
	issuerForbidden = labelForbidden + "+"
)

func checkText(what, s, forbidden string) error {
	if s == "" || !utf8.ValidString(s) || strings.ContainsAny(s, forbidden) || strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Errorf("%w: %s %q (empty, control characters or one of %q)", ErrInvalidLabel, what, s, forbidden)
	}
	return nil
}

func checkIssuer(issuer string) error { return checkText("issuer", issuer, issuerForbidden) }

// newTOTPKey returns the otpauth Key URI and base32 secret for a TOTP key
// (RFC 6238: SHA1, 6 digits, 30 s) of issuer and label. secret nil makes a
// fresh 20-byte secret from crypto/rand; otherwise the key is rebuilt from
// it. It returns ErrInvalidLabel when issuer or label is refused or does
// not round-trip through the URI.
func newTOTPKey(issuer, label string, secret []byte) (uri, b32Secret string, err error) {
	if err := checkIssuer(issuer); err != nil {
		return "", "", err
	}
	if err := checkText("account name", label, labelForbidden); err != nil {
		return "", "", err
	}
	k, err := totp.Generate(totp.GenerateOpts{
		Issuer: issuer, AccountName: label, Period: totpPeriod, SecretSize: totpSecretSize,
		Secret: secret, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1, Rand: rand.Reader,
	})
	if err != nil {
		return "", "", err
	}
	uri, err = keyURI(k.String())
	if err != nil {
		return "", "", err
	}
	back, err := otp.NewKeyFromURL(uri)
	if err != nil || back.Issuer() != issuer || back.AccountName() != label || back.Secret() != k.Secret() {
		return "", "", fmt.Errorf("%w: %q / %q do not round-trip", ErrInvalidLabel, issuer, label)
	}
	return uri, k.Secret(), nil
}

// keyURI percent-encodes '+' in the label path of an otpauth URI, so that
// apps decoding it as a form value do not read a space (RFC 3986 §2.1), and
// drops the optional algorithm, digits and period parameters when they hold
// the Key URI format's defaults (SHA1, 6, 30), which every app assumes when
// they are absent: 34 bytes fewer keep the QR code of a long issuer and
// e-mail within version 10 at level M.
func keyURI(s string) (string, error) {
	u, err := url.Parse(s)
	if err != nil {
		return "", err
	}
	u.RawPath = strings.ReplaceAll(u.EscapedPath(), "+", "%2B")
	q := u.Query()
	for k, def := range map[string]string{"algorithm": "SHA1", "digits": "6", "period": "30"} {
		if q.Get(k) == def {
			q.Del(k)
		}
	}
	u.RawQuery = strings.ReplaceAll(q.Encode(), "+", "%20")
	return u.String(), nil
}

// enrollment builds the public view of a pending enrollment holding secret.
func (c *Core) enrollment(e enrollmentRec, label string, secret []byte) (portal.Enrollment, error) {
	uri, b32Secret, err := newTOTPKey(c.issuer, label, secret)
	if err != nil {
		return portal.Enrollment{}, err
	}
	return portal.Enrollment{
		ID: e.ID, AccountID: e.AccountID, URI: uri, Secret: b32Secret,
		Issuer: c.issuer, Label: label, ExpiresAt: e.ExpiresAt,
		AttemptsLeft: enrollmentAttempts - e.Failures,
	}, nil
}

// voidEnrollment voids the enrollment id (if pending) and erases its secret.
func voidEnrollment(tx *bbolt.Tx, id string) error {
	var e enrollmentRec
	if ok, err := get(tx, bEnrollments, id, &e); !ok || err != nil || e.State != portal.EnrollmentPending {
		return err
	}
	e.State, e.Secret = portal.EnrollmentVoid, nil
	return put(tx, bEnrollments, id, e)
}

// BeginTOTPEnrollment creates the account's one pending TOTP enrollment
// (RFC 6238; NIST SP 800-63B §6.1.2.1): a fresh 20-byte secret from
// crypto/rand, stored only sealed with AES-256-GCM, expiring 10 minutes from
// now, 5 tries; any earlier pending enrollment of the account is voided.
// The label is the account e-mail, the issuer Options.Issuer. It needs an
// unexpired grant (portal.ErrBadGrant, portal.ErrExpired): LevelElevated
// while the account method is sms (portal.ErrNeedElevation), LevelPassword
// when it is none; method totp returns *portal.WrongStateError; a label
// that cannot be carried in the otpauth URI returns ErrInvalidLabel. A
// repeated key returns the same enrollment (same secret and URI) while it
// is pending and portal.ErrExpired after; a key used for another operation
// or account returns portal.ErrIdempotencyMismatch.
func (c *Core) BeginTOTPEnrollment(ctx context.Context, grantToken, key string) (portal.Enrollment, error) {
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
		rec, found, err := lookupKey(tx, key, opBegin, a.ID)
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
		switch {
		case a.Method == portal.MethodTOTP:
			return &portal.WrongStateError{Method: a.Method}
		case a.Method != portal.MethodNone && g.Level != portal.LevelElevated:
			return portal.ErrNeedElevation
		case a.SwitchOpen && g.Level != portal.LevelElevated:
			// The factor is off only for a switch under way: a password
			// alone must not bind an authenticator in that window.
			return portal.ErrNeedElevation
		}
		uri, b32Secret, err := newTOTPKey(c.issuer, a.Email, nil)
		if err != nil {
			return err
		}
		secret, err := b32.DecodeString(b32Secret)
		if err != nil {
			return err
		}
		e := enrollmentRec{ID: newID("enr"), AccountID: a.ID, ExpiresAt: now.Add(enrollmentTTL), State: portal.EnrollmentPending, Source: g.Source}
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
		out = portal.Enrollment{
			ID: e.ID, AccountID: a.ID, URI: uri, Secret: b32Secret, Issuer: c.issuer, Label: a.Email,
			ExpiresAt: e.ExpiresAt, AttemptsLeft: enrollmentAttempts,
		}
		return put(tx, bIdempotency, key, idemRec{Op: opBegin, AccountID: a.ID, Ref: e.ID})
	})
	c.log.InfoContext(ctx, "portal totp enrollment begun", "enrollment", out.ID, "error", errText(err))
	if err != nil {
		return portal.Enrollment{}, err
	}
	return out, nil
}

// ConfirmTOTPEnrollment checks code for the pending enrollment and, when it
// matches, activates TOTP in one transaction: method totp, the secret moved
// (sealed) onto the account, the matched time step recorded as the last
// accepted one (so this code cannot be used again, RFC 6238 §5.2), the
// enrollment confirmed and its pending secret erased; the confirmation
// e-mail is written to the outbox in that transaction and sent after it.
//
// A key already recorded for this enrollment returns nil whatever the code,
// sending nothing more; a key used for another operation, account or
// enrollment returns portal.ErrIdempotencyMismatch. Otherwise: a code that
// is not 6 digits after portal.NormalizeCode returns portal.ErrCodeFormat;
// an unknown id portal.ErrNotFound; an expired or void enrollment
// portal.ErrExpired; a code of time step c-1, c or c+1 not after the
// account's last accepted step portal.ErrCodeReplayed; any other wrong code
// *portal.BadCodeError, and the 5th voids the enrollment and returns
// portal.ErrExpired (a *portal.ExhaustedError with the lock when, as
// usual, it also throttled the source: its 5th failure in 15 minutes). A wrong code that is the right one for a step 2 to
// portal.MaxDriftSteps steps away (a device clock that is off, RFC 6238
// §6) is refused and counted the same, its BadCodeError carrying
// DriftSteps (errors.Is portal.ErrClockDrift).
func (c *Core) ConfirmTOTPEnrollment(ctx context.Context, enrollmentID, code, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	now := c.clock()
	src := c.sourceKey(portal.SourceFromContext(ctx))
	msgID := messageID(opConfirm, key)
	repeated := false
	lockMail := ""
	err := c.update(func(tx *bbolt.Tx) error {
		var e enrollmentRec
		if ok, err := get(tx, bEnrollments, enrollmentID, &e); err != nil {
			return err
		} else if !ok {
			return portal.ErrNotFound
		}
		rec, found, err := lookupKey(tx, key, opConfirm, e.AccountID)
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
		if e.state(now) != portal.EnrollmentPending {
			if err := voidEnrollment(tx, e.ID); err != nil {
				return err
			}
			return keep(portal.ErrExpired)
		}
		a, err := c.loadAccount(tx, e.AccountID)
		if err != nil {
			return err
		}
		if a.Method == portal.MethodTOTP {
			return &portal.WrongStateError{Method: a.Method}
		}
		// Codes count per account, not per QR code (issue 11 item 4): the
		// source's throttle, the account lock (not for the source that
		// proved the SMS code of this switch) and the cap apply.
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
		if step <= a.LastStep {
			return portal.ErrCodeReplayed
		}
		prevMethod := a.Method
		a.succeed(src, factorTOTP)
		// A factor change voids the pending SMS challenge (issue 11 item 7).
		if err := voidChallenge(tx, a.Challenge); err != nil {
			return err
		}
		a.Challenge = ""
		a.Method, a.TOTPSecret, a.LastStep, a.Enrollment = portal.MethodTOTP, c.seal(secret, totpAAD(a.ID)), step, ""
		a.SwitchOpen = false
		adoptLocale(ctx, &a)
		// A factor change voids every grant: one elevated by the SMS code
		// must not go on to disable the new factor (OWASP MFA Cheat Sheet,
		// "Changing MFA Factors": factor replacement is high-risk).
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
		if err := enqueue(tx, now, kindConfirmation, c.confirmationMessage(msgID, a, now)); err != nil {
			return err
		}
		if err := appendAudit(tx, now, a.ID, "totp_activated", string(prevMethod)+" -> totp"); err != nil {
			return err
		}
		return put(tx, bIdempotency, key, idemRec{Op: opConfirm, AccountID: a.ID, Ref: e.ID})
	})
	c.log.InfoContext(ctx, "portal totp enrollment confirm", "enrollment", enrollmentID, "repeated", repeated, "error", errText(err))
	if lockMail != "" {
		c.deliver(ctx, lockMail)
	}
	if err != nil {
		return err
	}
	if !repeated {
		c.activations.Add(1)
	}
	c.deliver(ctx, msgID)
	return nil
}

// CancelTOTPEnrollment voids a pending enrollment and erases its secret.
// It returns nil for an enrollment already void or confirmed and
// portal.ErrNotFound for an unknown id.
func (c *Core) CancelTOTPEnrollment(ctx context.Context, enrollmentID string) error {
	err := c.update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bEnrollments).Get([]byte(enrollmentID)) == nil {
			return portal.ErrNotFound
		}
		return voidEnrollment(tx, enrollmentID)
	})
	c.log.InfoContext(ctx, "portal totp enrollment cancel", "enrollment", enrollmentID, "error", errText(err))
	return err
}

// EnrollmentState returns the enrollment's state; a pending one past its
// expiry reports portal.EnrollmentVoid. Unknown ids return
// portal.ErrNotFound.
func (c *Core) EnrollmentState(ctx context.Context, enrollmentID string) (portal.EnrollmentState, error) {
	now := c.clock()
	var e enrollmentRec
	err := c.db.View(func(tx *bbolt.Tx) error {
		ok, err := get(tx, bEnrollments, enrollmentID, &e)
		if err == nil && !ok {
			err = portal.ErrNotFound
		}
		return err
	})
	if err != nil {
		return "", err
	}
	return e.state(now), nil
}

// VerifyTOTP is a login-style check of the account's active TOTP factor
// (RFC 6238 §5.2): code (after portal.NormalizeCode, else
// portal.ErrCodeFormat) must match time step c-1, c or c+1 and that step
// must be after the last accepted one (else portal.ErrCodeReplayed); the
// step is recorded in the same transaction. A wrong code counts towards
// the limits of throttle.go (factor "totp") and returns
// *portal.BadCodeError with the failures left before the source's
// throttle or the account lock, or *portal.LockedError. It returns portal.ErrNotFound
// for an unknown account and *portal.WrongStateError when TOTP is not its
// method.
func (c *Core) VerifyTOTP(ctx context.Context, accountID, code string) error {
	code, ok := portal.NormalizeCode(code)
	if !ok {
		return portal.ErrCodeFormat
	}
	now := c.clock()
	src := c.sourceKey(portal.SourceFromContext(ctx))
	mailID := ""
	err := c.update(func(tx *bbolt.Tx) error {
		a, err := c.loadAccount(tx, accountID)
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
		return c.putAccount(tx, a)
	})
	if mailID != "" {
		c.deliver(ctx, mailID)
	}
	c.log.InfoContext(ctx, "portal totp verify", "account", accountID, "ok", err == nil, "error", errText(err))
	return err
}

// wrongEnrollmentCode records code, which matched no time step of the
// pending enrollment e's secret (the plain secret, unsealed), as a wrong
// TOTP code of account a from src at now: for ConfirmTOTPEnrollment and
// ConfirmTOTPReplacement alike. It counts the failure on e (the
// enrollmentAttempts-th voids it) and on a (a.fail: throttles, lock, NIST
// SP 800-63B §5.2.2 cap), writes both, queues the lock mail and audits a
// voided enrollment. It returns the id of a lock mail queued (for
// c.deliver after the commit, "" when none) and keep(result): result is
// *portal.BadCodeError with the attempts left (the fewer of e's and a's)
// and the drift, portal.ErrExpired for the 5th wrong code,
// *portal.ExhaustedError when that 5th code also locks the account (no
// new enrollment helps before the lock ends, issue 14 F3), or the
// *portal.LockedError of an account lock before it. Any other error is
// the database's and rolls the transaction back.
func (c *Core) wrongEnrollmentCode(tx *bbolt.Tx, now time.Time, src string, e enrollmentRec, a accountRec, secret []byte, code string) (lockMail string, err error) {
	e.Failures++
	var result error = &portal.BadCodeError{AttemptsLeft: enrollmentAttempts - e.Failures}
	if e.Failures >= enrollmentAttempts {
		e.State, e.Secret = portal.EnrollmentVoid, nil
		result = portal.ErrExpired
	}
	lockErr, ev := a.fail(now, src, factorTOTP)
	if lockErr != nil {
		e.State, e.Secret = portal.EnrollmentVoid, nil
		if result != portal.ErrExpired { // the contract: the 5th wrong code says expired
			result = lockErr
		} else if le, ok := lockErr.(*portal.LockedError); ok {
			// Expired, and no new enrollment helps before the
			// lock ends (issue 14 F3).
			result = &portal.ExhaustedError{Lock: *le}
		}
	} else if bad, ok := result.(*portal.BadCodeError); ok {
		bad.AttemptsLeft = min(bad.AttemptsLeft, a.failuresLeft(now, src))
		bad.DriftSteps = driftSteps(b32.EncodeToString(secret), code, now, otp.DigitsSix)
	}
	if err := put(tx, bEnrollments, e.ID, e); err != nil {
		return "", err
	}
	if err := c.putAccount(tx, a); err != nil {
		return "", err
	}
	if lockMail, err = c.recordFailure(tx, now, a, factorTOTP, ev); err != nil {
		return lockMail, err
	}
	if e.State == portal.EnrollmentVoid {
		if err := appendAudit(tx, now, a.ID, "enrollment_voided", fmt.Sprintf("%d wrong codes", e.Failures)); err != nil {
			return lockMail, err
		}
	}
	return lockMail, keep(result)
}
