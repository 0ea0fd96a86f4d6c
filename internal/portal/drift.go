package portal

import "errors"

// ErrClockDrift is matched (errors.Is) by a *BadCodeError whose code is
// the right one for a time step outside the accepted window but at most
// MaxDriftSteps away: the authenticator's device has a wrong clock
// (RFC 6238 §6, resynchronisation). Such a code is never accepted and
// counts as a failed attempt like any wrong code; the answer only lets the
// caller tell the person to turn on the device's automatic date and time.
// It is answered by ConfirmTOTPEnrollment and ConfirmTOTPReplacement.
var ErrClockDrift = errors.New("portal: code of a device whose clock is off")

// MaxDriftSteps is how many time steps of 30 s either side of the current
// one (beyond the accepted ±1) a core looks at to recognise a drifted
// clock: 10 steps, 5 minutes.
const MaxDriftSteps = 10
