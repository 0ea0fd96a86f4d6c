package portal

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors of the Core. Typed errors below unwrap to one of them, so
// errors.Is works for every condition and errors.As reaches the data.
var (
	// ErrNotFound is returned when an account, challenge or enrollment does
	// not exist.
	ErrNotFound = errors.New("portal: not found")
	// ErrBadPassword is returned by VerifyPassword for a wrong password or an
	// unknown account; the two are indistinguishable on purpose.
	ErrBadPassword = errors.New("portal: wrong e-mail or password")
	// ErrLocked is returned while an account is locked after too many
	// failures; see *LockedError for when to retry.
	ErrLocked = errors.New("portal: account temporarily locked")
	// ErrBadCode is returned for a wrong SMS or TOTP code that still leaves
	// attempts; see *BadCodeError.
	ErrBadCode = errors.New("portal: wrong code")
	// ErrCodeFormat is returned for a code that is not exactly 6 decimal
	// digits after normalisation; it counts no attempt.
	ErrCodeFormat = errors.New("portal: a code has 6 digits")
	// ErrCodeReplayed is returned for a TOTP code whose time step was
	// already accepted for the account (RFC 6238 §5.2).
	ErrCodeReplayed = errors.New("portal: code already used")
	// ErrExpired is returned for an expired or voided grant, challenge or
	// enrollment, and when the last attempt of one was used up.
	ErrExpired = errors.New("portal: expired")
	// ErrBadGrant is returned for a grant token that is unknown or bound to
	// another account.
	ErrBadGrant = errors.New("portal: invalid grant")
	// ErrNeedElevation is returned when an operation needs a LevelElevated
	// grant (password and current second factor) and got a weaker one.
	ErrNeedElevation = errors.New("portal: re-authentication with the second factor required")
	// ErrWrongState is returned when the account's 2FA state does not allow
	// the operation: 2FA not active, already TOTP; see *WrongStateError.
	ErrWrongState = errors.New("portal: account is not in the required state")
	// ErrIdempotencyMismatch is returned when a key is reused for a
	// different operation or account.
	ErrIdempotencyMismatch = errors.New("portal: idempotency key reused for another request")
)

// LockedError is returned while an account is locked. It unwraps to
// ErrLocked.
type LockedError struct {
	// RetryAfter is the instant (UTC) from which a new attempt is allowed.
	RetryAfter time.Time
	// SMSLimit is true when the cause is the cap on SMS codes sent to the
	// account (SendSMSChallenge: 5 within 15 minutes) rather than failed
	// attempts; only sending another code waits until RetryAfter.
	SMSLimit bool
	// Operator is true when the factor reached 100 consecutive failures
	// (NIST SP 800-63B §5.2.2): it is refused until an operator unlocks the
	// account; RetryAfter is zero.
	Operator bool
}

func (e *LockedError) Error() string {
	if e.Operator {
		return "portal: locked after too many failed attempts until an operator unlocks it"
	}
	return fmt.Sprintf("portal: account temporarily locked until %s", e.RetryAfter.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrLocked.
func (e *LockedError) Unwrap() error { return ErrLocked }

// BadCodeError is returned for a wrong code that leaves attempts. It unwraps
// to ErrBadCode.
type BadCodeError struct {
	// AttemptsLeft is how many more wrong codes are tolerated (at least 1).
	AttemptsLeft int
	// DriftSteps is 0 for a plain wrong code. Otherwise the code is the
	// right one for a time step DriftSteps steps of 30 s away from the
	// portal's current step (negative: the device's clock is behind),
	// outside the accepted window but within MaxDriftSteps: the device's
	// clock is off (RFC 6238 §6). The code is refused and counts as a
	// failure all the same; the error then also matches ErrClockDrift.
	DriftSteps int
}

func (e *BadCodeError) Error() string {
	return fmt.Sprintf("portal: wrong code, %d attempts left", e.AttemptsLeft)
}

// Unwrap returns ErrBadCode.
func (e *BadCodeError) Unwrap() error { return ErrBadCode }

// Is reports whether target is ErrClockDrift and e has DriftSteps, so that
// errors.Is(err, ErrClockDrift) finds a code from a device whose clock is
// off.
func (e *BadCodeError) Is(target error) bool { return target == ErrClockDrift && e.DriftSteps != 0 }

// WrongStateError is returned when the account's method does not allow the
// operation. It unwraps to ErrWrongState.
type WrongStateError struct {
	// Method is the account's current method.
	Method Method
}

func (e *WrongStateError) Error() string {
	return fmt.Sprintf("portal: operation not allowed while 2FA method is %q", e.Method)
}

// Unwrap returns ErrWrongState.
func (e *WrongStateError) Unwrap() error { return ErrWrongState }
