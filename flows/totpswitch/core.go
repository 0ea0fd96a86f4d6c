package totpswitch

import (
	"context"

	"guidedfix/internal/portal"
)

// Core is the part of the portal auth core (portal.Core) the flow calls;
// each method behaves and fails as documented on portal.Core. Any
// portal.Core satisfies it; declaring the subset here means a new core
// operation for another flow does not touch this one.
type Core interface {
	// LookupAccount: see portal.Core.LookupAccount.
	LookupAccount(ctx context.Context, email string) (portal.Account, error)
	// Account: see portal.Core.Account.
	Account(ctx context.Context, accountID string) (portal.Account, error)
	// SecurityStatus: see portal.Core.SecurityStatus.
	SecurityStatus(ctx context.Context, accountID string) (portal.Status, error)
	// VerifyPassword: see portal.Core.VerifyPassword.
	VerifyPassword(ctx context.Context, accountID, password string) (portal.Grant, error)
	// UnknownAccount: see portal.Core.UnknownAccount.
	UnknownAccount(email string) string
	// Reauthenticate: see portal.Core.Reauthenticate.
	Reauthenticate(ctx context.Context, grantToken, password string) (portal.Grant, error)
	// SendSMSChallenge: see portal.Core.SendSMSChallenge.
	SendSMSChallenge(ctx context.Context, grantToken, key string) (portal.Challenge, error)
	// VerifySMSChallenge: see portal.Core.VerifySMSChallenge.
	VerifySMSChallenge(ctx context.Context, grantToken, challengeID, code string) (portal.Grant, error)
	// Disable2FA: see portal.Core.Disable2FA.
	Disable2FA(ctx context.Context, grantToken, key string) error
	// BeginTOTPEnrollment: see portal.Core.BeginTOTPEnrollment.
	BeginTOTPEnrollment(ctx context.Context, grantToken, key string) (portal.Enrollment, error)
	// ConfirmTOTPEnrollment: see portal.Core.ConfirmTOTPEnrollment.
	ConfirmTOTPEnrollment(ctx context.Context, enrollmentID, code, key string) error
	// RestoreFactor: see portal.Core.RestoreFactor.
	RestoreFactor(ctx context.Context, disableKey, key string) error
	// IssueRecoveryCodes: see portal.Core.IssueRecoveryCodes.
	IssueRecoveryCodes(ctx context.Context, enrollmentID string, n int) ([]string, error)
	// CancelTOTPEnrollment: see portal.Core.CancelTOTPEnrollment.
	CancelTOTPEnrollment(ctx context.Context, enrollmentID string) error
}

// portal.Core must keep satisfying Core.
var _ Core = portal.Core(nil)
