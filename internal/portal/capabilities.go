package portal

import "context"

// ContractVersion is the major version of the Core contract this package
// defines; api/portal.openapi.yaml serves it under /v1.
const ContractVersion = "1"

// Capabilities says which optional parts of the contract a Core
// implements; the flow chooses its order of steps from them.
type Capabilities struct {
	// ContractVersion is the contract's major version ("1").
	ContractVersion string
	// AtomicSwitch is true when BeginTOTPEnrollment accepts an elevated
	// grant while SMS is still active and ConfirmTOTPEnrollment then
	// replaces SMS by TOTP in one step (the enroll-then-switch order).
	AtomicSwitch bool
	// RestoreFactor is true when RestoreFactor is implemented: the
	// compensation the disable-then-enroll order depends on.
	RestoreFactor bool
	// RecoveryCodes is true when IssueRecoveryCodes is implemented.
	RecoveryCodes bool
	// ReplaceTOTP is true when ElevateWithTOTP, ElevateWithRecoveryCode,
	// BeginTOTPReplacement and ConfirmTOTPReplacement are implemented:
	// moving the authenticator app to a new phone.
	ReplaceTOTP bool
}

// CapabilityReporter is implemented by a Core that can tell its
// capabilities (a remote portal asks its server).
type CapabilityReporter interface {
	// Capabilities returns what the Core can do, or the error that kept it
	// from finding out (a remote portal that cannot be reached).
	Capabilities(ctx context.Context) (Capabilities, error)
}

// CapabilitiesOf returns core's capabilities: those it reports when it is
// a CapabilityReporter, otherwise the full set (every method of Core is
// then assumed to be implemented). Errors are the reporter's.
func CapabilitiesOf(ctx context.Context, core Core) (Capabilities, error) {
	if r, ok := core.(CapabilityReporter); ok {
		return r.Capabilities(ctx)
	}
	return Capabilities{ContractVersion: ContractVersion, AtomicSwitch: true, RestoreFactor: true, RecoveryCodes: true, ReplaceTOTP: true}, nil
}
