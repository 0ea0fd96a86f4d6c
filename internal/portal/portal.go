// Package portal is the contract between guidedfix and the Customer Portal's
// authentication core: the Core interface, its request and result types and
// its typed errors. It imports only the standard library.
//
// Implementations live in sub-packages (internal/portal/embedded is the
// default); only cmd/guidedfix chooses one. Flows depend on this package,
// never on an implementation.
//
// Vocabulary follows NIST SP 800-63B: a factor is an authenticator the account
// has (the SMS phone, the authenticator app); a grant is the short-lived proof
// of a fresh re-authentication; an enrollment binds a new TOTP factor.
package portal

import (
	"context"
	"time"
)

// Method is an account's second-factor method as stored by the portal.
// The values are stable: they are persisted and shown to operators.
type Method string

const (
	// MethodNone means the account has no second factor: password only.
	MethodNone Method = "none"
	// MethodSMS means the account's second factor is a code sent by SMS.
	MethodSMS Method = "sms"
	// MethodTOTP means the account's second factor is an authenticator app
	// generating time-based one-time passwords (RFC 6238).
	MethodTOTP Method = "totp"
)

// Valid reports whether m is one of MethodNone, MethodSMS or MethodTOTP.
func (m Method) Valid() bool {
	return m == MethodNone || m == MethodSMS || m == MethodTOTP
}

// Account is the public part of a portal account. It never carries a
// password hash, an SMS code or a TOTP secret.
type Account struct {
	// ID is the account's stable opaque identifier.
	ID string
	// Email is the registered e-mail address, lower-cased.
	Email string
	// Name is the display name; it may be empty.
	Name string
	// Phone is the SMS number in E.164 form (e.g. "+60123456789").
	Phone string
	// Method is the active second-factor method.
	Method Method
	// CreatedAt is when the account was created (UTC).
	CreatedAt time.Time
	// Locale is the account's language, a BCP 47 tag ("ms"), in which
	// the core writes every e-mail to the holder; "" is the portal's
	// default (English). An account without one takes the chat's
	// language (WithLocale) on a successful Disable2FA,
	// ConfirmTOTPEnrollment or ConfirmTOTPReplacement.
	Locale string
}

// Status is an account's security status as the flow may show it.
type Status struct {
	// AccountID is the account the status belongs to.
	AccountID string
	// Method is the active second-factor method.
	Method Method
	// MaskedPhone is the SMS number with all but the country code and the
	// last 4 digits replaced by '•' (e.g. "+60•••••6789"); empty without one.
	MaskedPhone string
	// RecoveryCodes is how many unused recovery codes the account has
	// (0 without any): a flow offers recovery by code only when it is
	// positive.
	RecoveryCodes int
}

// RecoveryElevation is the result of Core.ElevateWithRecoveryCode: the
// elevated grant and the recovery codes that replaced the whole set.
//
// Codes are in clear, shown to the account holder once; they must never be
// logged or persisted outside the core.
type RecoveryElevation struct {
	// Grant is the elevated grant (the same token as the one given).
	Grant Grant
	// Codes are the new recovery codes, "XXXXX-XXXXX-XXXXX" as
	// IssueRecoveryCodes returns them.
	Codes []string
}

// GrantLevel says how strongly a Grant proves the account holder.
type GrantLevel string

const (
	// LevelPassword is a re-authentication by password alone.
	LevelPassword GrantLevel = "password"
	// LevelElevated is a re-authentication by password and the current
	// second factor (NIST SP 800-63B §6.1.2.1): required to remove a factor.
	LevelElevated GrantLevel = "elevated"
)

// Grant is a short-lived re-authentication grant. Token is a bearer
// credential: random, opaque, bound to AccountID, usable until ExpiresAt.
type Grant struct {
	// Token is the opaque bearer token (base64url, at least 128 random bits).
	Token string
	// AccountID is the account the grant is bound to.
	AccountID string
	// Level is LevelPassword or LevelElevated.
	Level GrantLevel
	// ExpiresAt is the instant (UTC) after which the grant is refused with
	// ErrExpired: 5 minutes after a password check, at most 10 after
	// elevation.
	ExpiresAt time.Time
}

// Challenge is an SMS challenge sent to the account's current phone.
type Challenge struct {
	// ID identifies the challenge for VerifySMSChallenge.
	ID string
	// MaskedPhone is where the code was sent, masked as in Status.
	MaskedPhone string
	// ExpiresAt is the instant (UTC) after which the code is refused.
	ExpiresAt time.Time
	// AttemptsLeft is how many wrong codes the challenge still tolerates.
	AttemptsLeft int
}

// Enrollment is a pending TOTP enrollment (RFC 6238), waiting for the first
// code from the authenticator app.
//
// URI and Secret carry the TOTP shared secret in clear: they exist only to be
// shown to the account holder once (QR code and manual-entry key) and must
// never be logged or persisted outside the core.
type Enrollment struct {
	// ID identifies the pending enrollment for ConfirmTOTPEnrollment.
	ID string
	// AccountID is the account being enrolled.
	AccountID string
	// URI is the otpauth:// Key URI (issuer, label, secret, SHA1, 6 digits,
	// 30-second time step) to render as a QR code.
	URI string
	// Secret is the base32 shared secret (no padding) for manual entry.
	Secret string
	// Issuer and Label are the issuer and account label inside URI.
	Issuer, Label string
	// ExpiresAt is the instant (UTC) after which the enrollment is void.
	ExpiresAt time.Time
	// AttemptsLeft is how many wrong codes the enrollment still tolerates.
	AttemptsLeft int
}

// EnrollmentState is the lifecycle state of an enrollment.
type EnrollmentState string

const (
	// EnrollmentPending waits for a valid code.
	EnrollmentPending EnrollmentState = "pending"
	// EnrollmentConfirmed was confirmed: TOTP is the account's method.
	EnrollmentConfirmed EnrollmentState = "confirmed"
	// EnrollmentVoid was cancelled, expired, exceeded its attempts or was
	// replaced by a newer enrollment for the same account.
	EnrollmentVoid EnrollmentState = "void"
)

// Core is the portal's authentication core. Every method is safe for
// concurrent use. Methods that change an account take an idempotency key:
// a repeated call with the same key returns the first call's result and
// changes nothing more (DESIGN.md "persist, then call"). Keys are opaque
// strings of at most 200 bytes.
//
// Errors are the sentinels and typed errors of this package, possibly
// wrapped; test them with errors.Is and errors.As.
type Core interface {
	// LookupAccount returns the account registered with email (compared
	// case-insensitively). It returns ErrNotFound when there is none.
	LookupAccount(ctx context.Context, email string) (Account, error)

	// Account returns the account with the given id, or ErrNotFound.
	Account(ctx context.Context, accountID string) (Account, error)

	// SecurityStatus returns the account's method and masked phone, or
	// ErrNotFound.
	SecurityStatus(ctx context.Context, accountID string) (Status, error)

	// VerifyPassword checks password for the account and returns a
	// LevelPassword grant valid for 5 minutes. Failures count per source
	// (SourceFromContext), per account and per factor: a wrong password
	// returns ErrBadPassword; after 5 failures of the caller's source in 15
	// minutes, or 20 of the account from every source, it returns
	// *LockedError until that throttle or lock ends (each longer: 15 min
	// doubling up to 24 h), and after 100 wrong passwords in a row
	// *LockedError with Operator set until an operator unlocks the
	// account. The embedded core documents the exact rule. For an e-mail
	// with no account pass UnknownAccount(email): its failures count and
	// lock the same way, so neither the answers nor the lock tell a real
	// address from an unknown one (OWASP ASVS 5 6.3.8).
	VerifyPassword(ctx context.Context, accountID, password string) (Grant, error)

	// UnknownAccount returns the accountID to give VerifyPassword for an
	// e-mail LookupAccount found no account for: an opaque id, the same
	// for the same address (case and surrounding spaces aside), that no
	// real account id equals and that does not reveal the address (a
	// keyed hash), so a conversation may keep it.
	UnknownAccount(email string) string

	// Reauthenticate checks password again for the account of grantToken,
	// a grant that may have expired, and returns a new grant at the old
	// grant's level, valid for 5 minutes but never more than 20 minutes
	// after the proof behind that level (the password check, or the SMS
	// code of an elevated grant): the KB's "password again" step keeps the
	// second factor proved earlier in the same conversation, which a new
	// VerifyPassword never has, and renewing a renewal never stretches the
	// proof. The old grant is left to lapse, so a call whose answer was
	// lost can be repeated. It returns ErrBadGrant for an unknown or voided
	// token, ErrExpired when the proof is 20 minutes old, and the errors of
	// VerifyPassword (failures count the same way).
	Reauthenticate(ctx context.Context, grantToken, password string) (Grant, error)

	// SendSMSChallenge sends a fresh 6-digit code to the account's phone,
	// valid 5 minutes and 3 tries, replacing any earlier challenge. It needs
	// an unexpired grant for the account (ErrExpired, ErrBadGrant) and an
	// account with MethodSMS (ErrWrongState). The same key returns the same
	// challenge without sending a second SMS.
	SendSMSChallenge(ctx context.Context, grantToken, key string) (Challenge, error)

	// VerifySMSChallenge checks code against the challenge. On success it
	// elevates the grant to LevelElevated (valid 10 minutes) and returns it.
	// A wrong code returns *BadCodeError; the third wrong code or an expired
	// challenge returns ErrExpired (send a new challenge); a malformed code
	// (not 6 digits after normalisation) returns ErrCodeFormat and counts
	// nothing.
	VerifySMSChallenge(ctx context.Context, grantToken, challengeID, code string) (Grant, error)

	// Disable2FA turns the account's second factor off (method none) and
	// e-mails a security alert. It needs an unexpired LevelElevated grant
	// (ErrNeedElevation otherwise) and an account with a method other than
	// none (ErrWrongState). Idempotent by key.
	Disable2FA(ctx context.Context, grantToken, key string) error

	// BeginTOTPEnrollment creates the account's one pending enrollment with
	// a fresh 20-byte secret, expiring after 10 minutes, voiding any earlier
	// pending one. It needs an unexpired grant: LevelElevated while the
	// account still has a second factor or lost it to a Disable2FA whose
	// switch is under way (neither restored nor followed by a confirmed
	// TOTP), LevelPassword for an account that simply has none.
	// It returns ErrWrongState when the account already uses TOTP. The same
	// key returns the same enrollment (the same secret) while it is
	// pending.
	BeginTOTPEnrollment(ctx context.Context, grantToken, key string) (Enrollment, error)

	// ConfirmTOTPEnrollment checks code (RFC 6238 §5.2: the current time
	// step or one either side, each step accepted at most once per account)
	// and, when it matches, makes TOTP the account's method and e-mails the
	// confirmation. A wrong code returns *BadCodeError (with DriftSteps,
	// matching ErrClockDrift, when it is the code of a step 2 to
	// MaxDriftSteps away: the device's clock is off, RFC 6238 §6; refused
	// and counted all the same); the fifth voids the
	// enrollment and returns ErrExpired (an *ExhaustedError carrying the
	// lock when that failure also throttled the source or locked the
	// account, so a flow says when to retry instead of offering a new QR
	// code), as does an expired enrollment; a
	// replayed step returns ErrCodeReplayed; a malformed code ErrCodeFormat.
	// A repeated key whose first call succeeded returns nil again, whatever
	// the code, and sends nothing more.
	ConfirmTOTPEnrollment(ctx context.Context, enrollmentID, code, key string) error

	// RestoreFactor undoes the Disable2FA call made with disableKey when the
	// account is still without a second factor: it gives the account back
	// the SMS method it had (same phone), voids a pending enrollment and
	// e-mails the account holder that SMS 2FA was restored. It is the
	// compensation that keeps an abandoned switch from leaving the account
	// with a password only (NIST SP 800-63B §6.1.1). It needs no grant: it
	// can only put back the factor the holder proved minutes earlier. It
	// returns ErrNotFound for an unknown disableKey, *WrongStateError when
	// the account has a method again (TOTP confirmed, or restored under
	// another key) or had no SMS before. Idempotent by key.
	RestoreFactor(ctx context.Context, disableKey, key string) error

	// IssueRecoveryCodes replaces the account's recovery codes with n new
	// single-use codes (NIST SP 800-63B §5.1.2 look-up secrets) and returns
	// them in clear, once: each 15 characters (75 bits, NIST SP 800-63B-4
	// §4.2.1.1 asks at least 64) of Crockford's unambiguous 32-symbol base32
	// alphabet, shown as "XXXXX-XXXXX-XXXXX", stored only as salted hashes. It needs an
	// enrollment confirmed within the last 10 minutes: ErrWrongState when it
	// is not confirmed, ErrExpired when that was longer ago, ErrNotFound for
	// an unknown id; n outside 1..20 is an error. Calling it again issues a
	// new set and voids the earlier one (a crash before the codes were shown
	// loses nothing).
	IssueRecoveryCodes(ctx context.Context, enrollmentID string, n int) ([]string, error)

	// CancelTOTPEnrollment voids a pending enrollment and erases its secret.
	// Cancelling an enrollment that is already void or confirmed is not an
	// error; an unknown id returns ErrNotFound.
	CancelTOTPEnrollment(ctx context.Context, enrollmentID string) error

	// EnrollmentState returns the state of an enrollment, or ErrNotFound.
	EnrollmentState(ctx context.Context, enrollmentID string) (EnrollmentState, error)

	// ElevateWithTOTP checks code against the account's active
	// authenticator app (RFC 6238 §5.2: time step c-1, c or c+1, each
	// step accepted at most once per account) and, when it matches,
	// elevates the grant to LevelElevated (valid 10 minutes) and returns
	// it with the same token: the "prove the current factor" step of a
	// factor replacement (NIST SP 800-63B §6.1.2.1). It needs an
	// unexpired grant (ErrBadGrant, ErrExpired) of an account with
	// MethodTOTP (*WrongStateError). A wrong code returns *BadCodeError
	// and counts toward the per-account limits like every code failure
	// (*LockedError once they lock); a replayed step returns
	// ErrCodeReplayed; a malformed code ErrCodeFormat, counting nothing.
	ElevateWithTOTP(ctx context.Context, grantToken, code string) (Grant, error)

	// ElevateWithRecoveryCode checks code against the account's unused
	// recovery codes (case, spaces and hyphens ignored). When one
	// matches, it is spent and, as NIST SP 800-63B-4 §4.2.1.1 asks, the
	// whole set is replaced by 10 new codes (returned once, stored only
	// as hashes), the grant is elevated to LevelElevated (valid 10
	// minutes, the same token) and the account holder is e-mailed, all in
	// one transaction. It needs an unexpired grant (ErrBadGrant,
	// ErrExpired) of an account with MethodTOTP (*WrongStateError). A
	// wrong code returns *BadCodeError and counts toward the per-account
	// limits (*LockedError); a malformed code ErrCodeFormat; a code spent
	// concurrently ErrCodeReplayed. A repeated key whose first call
	// succeeded returns the grant again with a fresh set of codes that
	// replaces the set of the first answer (which was never shown when
	// that answer was lost) and sends no second e-mail.
	ElevateWithRecoveryCode(ctx context.Context, grantToken, code, key string) (RecoveryElevation, error)

	// BeginTOTPReplacement creates a pending enrollment that will replace
	// the account's authenticator app (moving it to a new phone): a fresh
	// 20-byte secret, 10 minutes, 5 tries, voiding any earlier pending
	// enrollment. The current secret stays valid until
	// ConfirmTOTPReplacement. It needs an unexpired LevelElevated grant
	// (ErrBadGrant, ErrExpired, ErrNeedElevation) of an account with
	// MethodTOTP (*WrongStateError). The same key returns the same
	// enrollment while it is pending.
	BeginTOTPReplacement(ctx context.Context, grantToken, key string) (Enrollment, error)

	// ConfirmTOTPReplacement checks code, from the new app, against the
	// replacement enrollment (RFC 6238 §5.2) and, when it matches,
	// replaces the account's TOTP secret by the new one in one
	// transaction: the old app's codes stop working only then, the method
	// stays MethodTOTP throughout, every grant of the account is voided
	// and the account holder is e-mailed (an account without a language
	// first takes the chat's, WithLocale, as on ConfirmTOTPEnrollment).
	// Errors are those of
	// ConfirmTOTPEnrollment; an enrollment begun by BeginTOTPEnrollment,
	// or an account no longer using TOTP, returns *WrongStateError. A
	// repeated key whose first call succeeded returns nil again and sends
	// nothing more.
	ConfirmTOTPReplacement(ctx context.Context, enrollmentID, code, key string) error

	// PasswordInText reports whether text, a message a customer wrote to
	// a support agent, contains the password of accountID, so that the
	// message can be withheld from the agent (issue 11 item 8b). The
	// candidates are the whole trimmed text and each word (split at white
	// space), as typed, then without 1 or 2 punctuation marks at its end
	// and 1 at its start, that has at least 8 characters (the shortest
	// password); at most MaxPasswordCandidates of them are checked, in that
	// order, so a message costs a bounded number of hashes. It counts no failure,
	// issues no grant and changes nothing. It returns false for text with
	// no candidate, ErrNotFound for an unknown account, and ctx's error
	// when the wait for a hashing slot ends.
	PasswordInText(ctx context.Context, accountID, text string) (bool, error)
}

// MaxPasswordCandidates is how many candidates of one message
// Core.PasswordInText checks at most.
const MaxPasswordCandidates = 12

// SMSSender delivers an SMS text to a phone number (E.164). It is the
// boundary to an SMS gateway; the embedded core's default writes each
// message into a file outbox.
type SMSSender interface {
	// SendSMS delivers text to phone; it returns an error when the message
	// was not accepted for delivery.
	SendSMS(ctx context.Context, phone, text string) error
}
