package metrics

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"guidedfix/internal/portal"
)

// Portal returns core with every call counted in
// guidedfix_portal_calls_total{operation,result} and timed in
// guidedfix_portal_call_duration_seconds{operation}, and, when log is not
// nil, one debug line per call (operation, result, duration; never an
// argument) logged with the call's context. It returns the same
// results and errors as core. The decorator embeds core, so a method added
// to portal.Core later passes through (uncounted) until it is added here.
func (m *Metrics) Portal(core portal.Core, log *slog.Logger) portal.Core {
	return &meteredCore{Core: core, m: m, log: log}
}

type meteredCore struct {
	portal.Core
	m   *Metrics
	log *slog.Logger // debug line per call, with the turn's context
}

// portalResult names err's kind for the result label: "ok" for nil,
// "exhausted" for a *portal.ExhaustedError (the 5th wrong code, which
// voided the enrollment and throttled the source: neither a plain expiry
// nor a plain lock), the portal error it wraps, "canceled" for a context
// error, else "error".
func portalResult(err error) string {
	var locked *portal.LockedError
	var exhausted *portal.ExhaustedError
	switch {
	case err == nil:
		return "ok"
	case errors.As(err, &exhausted):
		return "exhausted"
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

func (c *meteredCore) done(ctx context.Context, op string, start time.Time, err error) {
	took := time.Since(start)
	result := portalResult(err)
	c.m.portalSeconds.WithLabelValues(op).Observe(took.Seconds())
	c.m.portalCalls.WithLabelValues(op, result).Inc()
	if c.log != nil {
		c.log.DebugContext(ctx, "portal call", "operation", op, "result", result, "took", took)
	}
}

func (c *meteredCore) LookupAccount(ctx context.Context, email string) (portal.Account, error) {
	start := time.Now()
	r, err := c.Core.LookupAccount(ctx, email)
	c.done(ctx, "lookup_account", start, err)
	return r, err
}

func (c *meteredCore) Account(ctx context.Context, accountID string) (portal.Account, error) {
	start := time.Now()
	r, err := c.Core.Account(ctx, accountID)
	c.done(ctx, "account", start, err)
	return r, err
}

func (c *meteredCore) SecurityStatus(ctx context.Context, accountID string) (portal.Status, error) {
	start := time.Now()
	r, err := c.Core.SecurityStatus(ctx, accountID)
	c.done(ctx, "security_status", start, err)
	return r, err
}

func (c *meteredCore) VerifyPassword(ctx context.Context, accountID, password string) (portal.Grant, error) {
	start := time.Now()
	r, err := c.Core.VerifyPassword(ctx, accountID, password)
	c.done(ctx, "verify_password", start, err)
	return r, err
}

func (c *meteredCore) Reauthenticate(ctx context.Context, grantToken, password string) (portal.Grant, error) {
	start := time.Now()
	r, err := c.Core.Reauthenticate(ctx, grantToken, password)
	c.done(ctx, "reauthenticate", start, err)
	return r, err
}

func (c *meteredCore) SendSMSChallenge(ctx context.Context, grantToken, key string) (portal.Challenge, error) {
	start := time.Now()
	r, err := c.Core.SendSMSChallenge(ctx, grantToken, key)
	c.done(ctx, "send_sms_challenge", start, err)
	return r, err
}

func (c *meteredCore) VerifySMSChallenge(ctx context.Context, grantToken, challengeID, code string) (portal.Grant, error) {
	start := time.Now()
	r, err := c.Core.VerifySMSChallenge(ctx, grantToken, challengeID, code)
	c.done(ctx, "verify_sms_challenge", start, err)
	return r, err
}

func (c *meteredCore) Disable2FA(ctx context.Context, grantToken, key string) error {
	start := time.Now()
	err := c.Core.Disable2FA(ctx, grantToken, key)
	c.done(ctx, "disable_2fa", start, err)
	return err
}

func (c *meteredCore) BeginTOTPEnrollment(ctx context.Context, grantToken, key string) (portal.Enrollment, error) {
	start := time.Now()
	r, err := c.Core.BeginTOTPEnrollment(ctx, grantToken, key)
	c.done(ctx, "begin_totp_enrollment", start, err)
	return r, err
}

func (c *meteredCore) ConfirmTOTPEnrollment(ctx context.Context, enrollmentID, code, key string) error {
	start := time.Now()
	err := c.Core.ConfirmTOTPEnrollment(ctx, enrollmentID, code, key)
	c.done(ctx, "confirm_totp_enrollment", start, err)
	return err
}

func (c *meteredCore) RestoreFactor(ctx context.Context, disableKey, key string) error {
	start := time.Now()
	err := c.Core.RestoreFactor(ctx, disableKey, key)
	c.done(ctx, "restore_factor", start, err)
	return err
}

func (c *meteredCore) IssueRecoveryCodes(ctx context.Context, enrollmentID string, n int) ([]string, error) {
	start := time.Now()
	r, err := c.Core.IssueRecoveryCodes(ctx, enrollmentID, n)
	c.done(ctx, "issue_recovery_codes", start, err)
	return r, err
}

func (c *meteredCore) CancelTOTPEnrollment(ctx context.Context, enrollmentID string) error {
	start := time.Now()
	err := c.Core.CancelTOTPEnrollment(ctx, enrollmentID)
	c.done(ctx, "cancel_totp_enrollment", start, err)
	return err
}

func (c *meteredCore) EnrollmentState(ctx context.Context, enrollmentID string) (portal.EnrollmentState, error) {
	start := time.Now()
	r, err := c.Core.EnrollmentState(ctx, enrollmentID)
	c.done(ctx, "enrollment_state", start, err)
	return r, err
}
