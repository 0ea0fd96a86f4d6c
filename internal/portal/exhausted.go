package portal

import (
	"fmt"
	"time"
)

// ExhaustedError is returned by Core.ConfirmTOTPEnrollment and
// Core.ConfirmTOTPReplacement for the wrong code that voided the
// enrollment (its 5th) when that same failure also throttled the caller's
// source or locked the account (RFC 4226 §7.3: limits count across
// enrollments and sessions). A new enrollment would not help before
// Lock.RetryAfter: a flow says when to try again instead of offering a
// new QR code (issue 14 F3).
//
// It unwraps to ErrExpired only (the contract's answer to the 5th wrong
// code; errors.Is(err, ErrLocked) is false, so the HTTP problem type stays
// "expired"), and errors.As finds Lock as a *LockedError (As), so code
// that handles a lock before an expiry handles it as a lock. Over HTTP
// the "expired" problem carries Lock's retryAfter (api/portal.openapi.yaml).
type ExhaustedError struct {
	// Lock is the throttle or lock the failure started; RetryAfter (UTC)
	// is when codes are taken again.
	Lock LockedError
}

func (e *ExhaustedError) Error() string {
	return fmt.Sprintf("portal: enrollment void after too many wrong codes; codes refused until %s", e.Lock.RetryAfter.UTC().Format(time.RFC3339))
}

// Unwrap returns ErrExpired.
func (e *ExhaustedError) Unwrap() error { return ErrExpired }

// As sets a **LockedError target to a copy of e.Lock and reports true;
// for any other target it reports false.
func (e *ExhaustedError) As(target any) bool {
	if p, ok := target.(**LockedError); ok {
		l := e.Lock
		*p = &l
		return true
	}
	return false
}
