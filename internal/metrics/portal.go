package metrics

import (
	"context"
	"errors"
	"time"

	"guidedfix/internal/portal"
)

// Portal returns core with every call counted in
// guidedfix_portal_calls_total{operation,result} and timed in
// guidedfix_portal_call_duration_seconds{operation}. It returns the same
// results and errors as core. The decorator embeds core, so a method added
// to portal.Core later passes through (uncounted) until it is added here.
func (m *Metrics) Portal(core portal.Core) portal.Core { return &meteredCore{Core: core, m: m} }

type meteredCore struct {
	portal.Core
	m *Metrics
}

// portalResult names err's kind for the result label: "ok" for nil, the
// portal error it wraps, "canceled" for a context error, else "error".
func portalResult(err error) string {
	var locked *portal.LockedError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &locked):
		return "locked"
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return "canceled"
	}
	for _, k := range []struct {
		err  error
		name string
	}{
		{portal.ErrNotFound, "not_found"}, {portal.ErrBadPassword, "bad_password"}, {portal.ErrLocked, "locked"},
		{portal.ErrBadCode, "bad_code"}, {portal.ErrCodeFormat, "code_format"}, {portal.ErrCodeReplayed, "code_replayed"},
		{portal.ErrExpired, "expired"}, {portal.ErrBadGrant, "bad_grant"}, {portal.ErrNeedElevation, "need_elevation"},
		{portal.ErrWrongState, "wrong_state"}, {portal.ErrIdempotencyMismatch, "idempotency_mismatch"},
	} {
		if errors.Is(err, k.err) {
			return k.name
		}
	}
	return "error"
}

func (c *meteredCore) done(op string, start time.Time, err error) {
	c.m.portalSeconds.WithLabelValues(op).Observe(time.Since(start).Seconds())
	c.m.portalCalls.WithLabelValues(op, portalResult(err)).Inc()
}

func (c *meteredCore) LookupAccount(ctx context.Context, email string) (portal.Account, error) {
	start := time.Now()
	r, err := c.Core.LookupAccount(ctx, email)
	c.done("lookup_account", start, err)
	return r, err
}

func (c *meteredCore) Account(ctx context.Context, accountID string) (portal.Account, error) {
	start := time.Now()
	r, err := c.Core.Account(ctx, accountID)
	c.done("account", start, err)
	return r, err
}

func (c *meteredCore) SecurityStatus(ctx context.Context, accountID string) (portal.Status, error) {
	start := time.Now()
	r, err := c.Core.SecurityStatus(ctx, accountID)
	c.done("security_status", start, err)
	return r, err
}

func (c *meteredCore) VerifyPassword(ctx context.Context, accountID, password string) (portal.Grant, error) {
	start := time.Now()
	r, err := c.Core.VerifyPassword(ctx, accountID, password)
	c.done("verify_password", start, err)
	return r, err
}

func (c *meteredCore) Reauthenticate(ctx context.Context, grantToken, password string) (portal.Grant, error) {
	start := time.Now()
	r, err := c.Core.Reauthenticate(ctx, grantToken, password)
	c.done("reauthenticate", start, err)
	return r, err
}

func (c *meteredCore) SendSMSChallenge(ctx context.Context, grantToken, key string) (portal.Challenge, error) {
	start := time.Now()
	r, err := c.Core.SendSMSChallenge(ctx, grantToken, key)
	c.done("send_sms_challenge", start, err)
	return r, err
}

func (c *meteredCore) VerifySMSChallenge(ctx context.Context, grantToken, challengeID, code string) (portal.Grant, error) {
	start := time.Now()
	r, err := c.Core.VerifySMSChallenge(ctx, grantToken, challengeID, code)
	c.done("verify_sms_challenge", start, err)
	return r, err
}

func (c *meteredCore) Disable2FA(ctx context.Context, grantToken, key string) error {
	start := time.Now()
	err := c.Core.Disable2FA(ctx, grantToken, key)
	c.done("disable_2fa", start, err)
	return err
}

func (c *meteredCore) BeginTOTPEnrollment(ctx context.Context, grantToken, key string) (portal.Enrollment, error) {
	start := time.Now()
	r, err := c.Core.BeginTOTPEnrollment(ctx, grantToken, key)
	c.done("begin_totp_enrollment", start, err)
	return r, err
}

func (c *meteredCore) ConfirmTOTPEnrollment(ctx context.Context, enrollmentID, code, key string) error {
	start := time.Now()
	err := c.Core.ConfirmTOTPEnrollment(ctx, enrollmentID, code, key)
	c.done("confirm_totp_enrollment", start, err)
	return err
}

func (c *meteredCore) RestoreFactor(ctx context.Context, disableKey, key string) error {
	start := time.Now()
	err := c.Core.RestoreFactor(ctx, disableKey, key)
	c.done("restore_factor", start, err)
	return err
}

func (c *meteredCore) IssueRecoveryCodes(ctx context.Context, enrollmentID string, n int) ([]string, error) {
	start := time.Now()
	r, err := c.Core.IssueRecoveryCodes(ctx, enrollmentID, n)
	c.done("issue_recovery_codes", start, err)
	return r, err
}

func (c *meteredCore) CancelTOTPEnrollment(ctx context.Context, enrollmentID string) error {
	start := time.Now()
	err := c.Core.CancelTOTPEnrollment(ctx, enrollmentID)
	c.done("cancel_totp_enrollment", start, err)
	return err
}

func (c *meteredCore) EnrollmentState(ctx context.Context, enrollmentID string) (portal.EnrollmentState, error) {
	start := time.Now()
	r, err := c.Core.EnrollmentState(ctx, enrollmentID)
	c.done("enrollment_state", start, err)
	return r, err
}
