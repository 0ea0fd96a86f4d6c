package totpswitch

import "errors"

// ErrNoSafeOrder is returned by ChooseOrder when the portal supports no
// order that keeps the never-without-a-factor promise.
var ErrNoSafeOrder = errors.New("totpswitch: the portal supports no safe order of steps")

// ErrUnknownState is returned (wrapped, with the state's name) by Handle for
// a session whose stored state has no handler in this flow version; the
// engine answers the turn as failed and the session is left unchanged.
var ErrUnknownState = errors.New("totpswitch: no handler for state")

// ErrNoEnrollment is returned (possibly wrapped) by Rerender when a QR code
// or manual key is to be shown again but the session has no enrollment, or
// the core's enrollment for the grant is not the session's.
var ErrNoEnrollment = errors.New("totpswitch: no enrollment to show again")

// ErrNotRerenderable is returned (wrapped, with the reply id) by Rerender
// for a reply reference the flow cannot build again.
var ErrNotRerenderable = errors.New("totpswitch: cannot render this reply again")
