package portalhttp

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"strings"
	"sync"
	"time"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portalhttp/gen"
)

// ClientOptions configure NewClient.
type ClientOptions struct {
	// BaseURL is the portal's address, e.g. "https://portal.internal:8710"
	// (no /v1: the paths of the document carry it).
	BaseURL string
	// Token is the service bearer token sent with every request.
	Token string
	// HTTPClient sends the requests (set its Transport's TLSClientConfig
	// for a private CA or mutual TLS); nil uses a client of its own.
	HTTPClient *http.Client
	// Timeout bounds each attempt of a call; default 10 s.
	Timeout time.Duration
	// Attempts is how many times a call is tried in all (retries only
	// for transport errors and 502/503/504); default 3, 1 disables retries.
	Attempts int
	// Backoff is the wait before the first retry, doubled for each next
	// one, with up to 50 % random jitter; default 100 ms.
	Backoff time.Duration
	// Logger receives a warning per retry (operation name, attempt, error;
	// never a request body). Nil discards.
	Logger *slog.Logger
}

// Client implements portal.Core (and portal.CapabilityReporter) by calling
// a server of api/portal.openapi.yaml. Every call is safe to retry: reads
// change nothing, and every mutating call carries an Idempotency-Key (the
// caller's key for the operations the contract keys, a random one made
// once per call for the others), so a retry after a lost answer never
// changes anything twice. Passwords, codes, grant tokens and ids travel in
// JSON bodies only. Errors map back to the sentinels and typed errors of
// package portal (errorFor); a transport failure after the last attempt
// is returned wrapped, naming the operation.
type Client struct {
	api  *gen.ClientWithResponses
	opts ClientOptions

	unknownKey []byte
	mu         sync.Mutex
	unknown    map[string]string // UnknownAccount answers by normalised e-mail
}

var (
	_ portal.Core               = (*Client)(nil)
	_ portal.CapabilityReporter = (*Client)(nil)
)

// NewClient returns a Client for opts.BaseURL. It returns an error for an
// empty or unparsable BaseURL or an empty Token; it does not contact the
// server.
func NewClient(opts ClientOptions) (*Client, error) {
	if opts.BaseURL == "" {
		return nil, errors.New("portalhttp: no portal URL")
	}
	if opts.Token == "" {
		return nil, errors.New("portalhttp: no service token for the portal")
	}
	if opts.HTTPClient == nil {
		opts.HTTPClient = &http.Client{}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 10 * time.Second
	}
	if opts.Attempts <= 0 {
		opts.Attempts = 3
	}
	if opts.Backoff <= 0 {
		opts.Backoff = 100 * time.Millisecond
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	token := opts.Token
	api, err := gen.NewClientWithResponses(strings.TrimRight(opts.BaseURL, "/"),
		gen.WithHTTPClient(opts.HTTPClient),
		gen.WithRequestEditorFn(func(ctx context.Context, req *http.Request) error {
			req.Header.Set("Authorization", "Bearer "+token)
			return nil
		}))
	if err != nil {
		return nil, fmt.Errorf("portalhttp: portal URL: %w", err)
	}
	k := make([]byte, 32)
	rand.Read(k)
	return &Client{api: api, opts: opts, unknownKey: k, unknown: map[string]string{}}, nil
}

// answer is what every generated response type offers.
type answer interface {
	StatusCode() int
	GetApplicationproblemJSONDefault() *gen.Problem
}

// call runs fn up to opts.Attempts times, each within opts.Timeout, and
// returns the first answer with a final status, mapped to an error when it
// is not want.
func call[R answer](c *Client, ctx context.Context, op string, want int, fn func(ctx context.Context) (R, error)) (R, error) {
	var zero R
	wait := c.opts.Backoff
	var last error
	for attempt := 1; ; attempt++ {
		actx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
		r, err := fn(actx)
		cancel()
		if err == nil {
			st := r.StatusCode()
			switch {
			case st == want:
				return r, nil
			case st == http.StatusBadGateway || st == http.StatusServiceUnavailable || st == http.StatusGatewayTimeout:
				last = &RemoteError{Status: st}
			default:
				if p := r.GetApplicationproblemJSONDefault(); p != nil {
					return zero, errorFor(p, st)
				}
				return zero, &RemoteError{Status: st}
			}
		} else {
			last = err
		}
		if ctx.Err() != nil {
			return zero, fmt.Errorf("portalhttp: %s: %w", op, ctx.Err())
		}
		if attempt >= c.opts.Attempts {
			return zero, fmt.Errorf("portalhttp: %s failed after %d attempts: %w", op, attempt, last)
		}
		c.opts.Logger.Warn("portal call failed, retrying", "op", op, "attempt", attempt, "err", last)
		d := wait + time.Duration(mrand.Int64N(int64(wait)/2+1))
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return zero, fmt.Errorf("portalhttp: %s: %w", op, ctx.Err())
		}
		wait *= 2
	}
}

// newKey returns a random Idempotency-Key for an operation the contract
// does not key: made once per call, so its retries repeat it.
func newKey() string {
	b := make([]byte, 16)
	rand.Read(b)
	return "c-" + base64.RawURLEncoding.EncodeToString(b)
}

// source returns the Guidedfix-Source header value of ctx, or nil.
func source(ctx context.Context) *string {
	if s := portal.SourceFromContext(ctx); s != "" {
		return &s
	}
	return nil
}

// locale returns the Guidedfix-Locale header value of ctx
// (portal.LocaleFromContext), or nil.
func locale(ctx context.Context) *string {
	if s := portal.LocaleFromContext(ctx); s != "" {
		return &s
	}
	return nil
}

func grantIn(g *gen.Grant) portal.Grant {
	return portal.Grant{Token: g.Token, AccountID: g.AccountId, Level: portal.GrantLevel(g.Level), ExpiresAt: g.ExpiresAt.UTC()}
}

func accountIn(a *gen.Account) portal.Account {
	acc := portal.Account{ID: a.Id, Email: a.Email, Name: a.Name, Phone: a.Phone, Method: portal.Method(a.Method), CreatedAt: a.CreatedAt.UTC()}
	if a.Locale != nil {
		acc.Locale = *a.Locale
	}
	return acc
}

// Capabilities implements portal.CapabilityReporter: GET /v1/capabilities.
func (c *Client) Capabilities(ctx context.Context) (portal.Capabilities, error) {
	r, err := call(c, ctx, "getCapabilities", http.StatusOK, func(ctx context.Context) (*gen.GetCapabilitiesResponse, error) {
		return c.api.GetCapabilitiesWithResponse(ctx)
	})
	if err != nil {
		return portal.Capabilities{}, err
	}
	v := r.JSON200
	return portal.Capabilities{ContractVersion: v.ContractVersion, AtomicSwitch: v.AtomicSwitch, RestoreFactor: v.RestoreFactor, RecoveryCodes: v.RecoveryCodes, ReplaceTOTP: v.ReplaceTOTP != nil && *v.ReplaceTOTP}, nil
}

// LookupAccount implements portal.Core: POST /v1/accounts/lookup.
func (c *Client) LookupAccount(ctx context.Context, email string) (portal.Account, error) {
	r, err := call(c, ctx, "lookupAccount", http.StatusOK, func(ctx context.Context) (*gen.LookupAccountResponse, error) {
		return c.api.LookupAccountWithResponse(ctx, gen.EmailRequest{Email: email})
	})
	if err != nil {
		return portal.Account{}, err
	}
	return accountIn(r.JSON200), nil
}

// Account implements portal.Core: GET /v1/accounts/{accountId}.
func (c *Client) Account(ctx context.Context, accountID string) (portal.Account, error) {
	if accountID == "" {
		return portal.Account{}, portal.ErrNotFound
	}
	r, err := call(c, ctx, "getAccount", http.StatusOK, func(ctx context.Context) (*gen.GetAccountResponse, error) {
		return c.api.GetAccountWithResponse(ctx, accountID)
	})
	if err != nil {
		return portal.Account{}, err
	}
	return accountIn(r.JSON200), nil
}

// SecurityStatus implements portal.Core: GET
// /v1/accounts/{accountId}/security-status.
func (c *Client) SecurityStatus(ctx context.Context, accountID string) (portal.Status, error) {
	if accountID == "" {
		return portal.Status{}, portal.ErrNotFound
	}
	r, err := call(c, ctx, "getSecurityStatus", http.StatusOK, func(ctx context.Context) (*gen.GetSecurityStatusResponse, error) {
		return c.api.GetSecurityStatusWithResponse(ctx, accountID)
	})
	if err != nil {
		return portal.Status{}, err
	}
	v := r.JSON200
	st := portal.Status{AccountID: v.AccountId, Method: portal.Method(v.Method), MaskedPhone: v.MaskedPhone}
	if v.RecoveryCodes != nil {
		st.RecoveryCodes = *v.RecoveryCodes
	}
	return st, nil
}

// UnknownAccount implements portal.Core: POST /v1/accounts/unknown-id,
// remembered per address. The interface has no error: when the portal
// cannot be reached it returns a local keyed hash ("unknown-local:" + hex),
// which no real account has either, so VerifyPassword still answers
// ErrBadPassword (its failures then count under another id until the
// portal answers again).
func (c *Client) UnknownAccount(email string) string {
	norm := strings.ToLower(strings.TrimSpace(email))
	c.mu.Lock()
	id, ok := c.unknown[norm]
	c.mu.Unlock()
	if ok {
		return id
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.Timeout)
	defer cancel()
	r, err := call(c, ctx, "unknownAccount", http.StatusOK, func(ctx context.Context) (*gen.UnknownAccountResponse, error) {
		return c.api.UnknownAccountWithResponse(ctx, gen.EmailRequest{Email: email})
	})
	if err != nil {
		c.opts.Logger.Warn("portal unknownAccount failed; using a local id", "err", err)
		m := hmac.New(sha256.New, c.unknownKey)
		m.Write([]byte(norm))
		return "unknown-local:" + hex.EncodeToString(m.Sum(nil))
	}
	c.mu.Lock()
	if len(c.unknown) > 10000 {
		clear(c.unknown)
	}
	c.unknown[norm] = r.JSON200.AccountId
	c.mu.Unlock()
	return r.JSON200.AccountId
}

// VerifyPassword implements portal.Core: POST /v1/password/verify, with
// the context's source in Guidedfix-Source.
func (c *Client) VerifyPassword(ctx context.Context, accountID, password string) (portal.Grant, error) {
	p := &gen.VerifyPasswordParams{IdempotencyKey: newKey(), GuidedfixSource: source(ctx)}
	r, err := call(c, ctx, "verifyPassword", http.StatusOK, func(ctx context.Context) (*gen.VerifyPasswordResponse, error) {
		return c.api.VerifyPasswordWithResponse(ctx, p, gen.VerifyPasswordRequest{AccountId: accountID, Password: password})
	})
	if err != nil {
		return portal.Grant{}, err
	}
	return grantIn(r.JSON200), nil
}

// Reauthenticate implements portal.Core: POST /v1/grants/reauthenticate.
func (c *Client) Reauthenticate(ctx context.Context, grantToken, password string) (portal.Grant, error) {
	p := &gen.ReauthenticateParams{IdempotencyKey: newKey(), GuidedfixSource: source(ctx)}
	r, err := call(c, ctx, "reauthenticate", http.StatusOK, func(ctx context.Context) (*gen.ReauthenticateResponse, error) {
		return c.api.ReauthenticateWithResponse(ctx, p, gen.ReauthenticateRequest{GrantToken: grantToken, Password: password})
	})
	if err != nil {
		return portal.Grant{}, err
	}
	return grantIn(r.JSON200), nil
}

// SendSMSChallenge implements portal.Core: POST /v1/sms-challenges.
func (c *Client) SendSMSChallenge(ctx context.Context, grantToken, key string) (portal.Challenge, error) {
	p := &gen.SendSMSChallengeParams{IdempotencyKey: key}
	r, err := call(c, ctx, "sendSMSChallenge", http.StatusOK, func(ctx context.Context) (*gen.SendSMSChallengeResponse, error) {
		return c.api.SendSMSChallengeWithResponse(ctx, p, gen.GrantRequest{GrantToken: grantToken})
	})
	if err != nil {
		return portal.Challenge{}, err
	}
	v := r.JSON200
	return portal.Challenge{ID: v.Id, MaskedPhone: v.MaskedPhone, ExpiresAt: v.ExpiresAt.UTC(), AttemptsLeft: v.AttemptsLeft}, nil
}

// VerifySMSChallenge implements portal.Core: POST /v1/sms-challenges/verify.
func (c *Client) VerifySMSChallenge(ctx context.Context, grantToken, challengeID, code string) (portal.Grant, error) {
	p := &gen.VerifySMSChallengeParams{IdempotencyKey: newKey(), GuidedfixSource: source(ctx)}
	r, err := call(c, ctx, "verifySMSChallenge", http.StatusOK, func(ctx context.Context) (*gen.VerifySMSChallengeResponse, error) {
		return c.api.VerifySMSChallengeWithResponse(ctx, p, gen.VerifySMSRequest{GrantToken: grantToken, ChallengeId: challengeID, Code: code})
	})
	if err != nil {
		return portal.Grant{}, err
	}
	return grantIn(r.JSON200), nil
}

// Disable2FA implements portal.Core: POST /v1/second-factor/disable.
func (c *Client) Disable2FA(ctx context.Context, grantToken, key string) error {
	p := &gen.Disable2FAParams{IdempotencyKey: key, GuidedfixLocale: locale(ctx)}
	_, err := call(c, ctx, "disable2FA", http.StatusNoContent, func(ctx context.Context) (*gen.Disable2FAResponse, error) {
		return c.api.Disable2FAWithResponse(ctx, p, gen.GrantRequest{GrantToken: grantToken})
	})
	return err
}

// RestoreFactor implements portal.Core: POST /v1/second-factor/restore.
func (c *Client) RestoreFactor(ctx context.Context, disableKey, key string) error {
	p := &gen.RestoreFactorParams{IdempotencyKey: key}
	_, err := call(c, ctx, "restoreFactor", http.StatusNoContent, func(ctx context.Context) (*gen.RestoreFactorResponse, error) {
		return c.api.RestoreFactorWithResponse(ctx, p, gen.RestoreRequest{DisableKey: disableKey})
	})
	return err
}

// BeginTOTPEnrollment implements portal.Core: POST /v1/totp-enrollments.
func (c *Client) BeginTOTPEnrollment(ctx context.Context, grantToken, key string) (portal.Enrollment, error) {
	p := &gen.BeginTOTPEnrollmentParams{IdempotencyKey: key}
	r, err := call(c, ctx, "beginTOTPEnrollment", http.StatusOK, func(ctx context.Context) (*gen.BeginTOTPEnrollmentResponse, error) {
		return c.api.BeginTOTPEnrollmentWithResponse(ctx, p, gen.GrantRequest{GrantToken: grantToken})
	})
	if err != nil {
		return portal.Enrollment{}, err
	}
	v := r.JSON200
	return portal.Enrollment{ID: v.Id, AccountID: v.AccountId, URI: v.Uri, Secret: v.Secret, Issuer: v.Issuer, Label: v.Label, ExpiresAt: v.ExpiresAt.UTC(), AttemptsLeft: v.AttemptsLeft}, nil
}

// ConfirmTOTPEnrollment implements portal.Core: POST
// /v1/totp-enrollments/confirm.
func (c *Client) ConfirmTOTPEnrollment(ctx context.Context, enrollmentID, code, key string) error {
	p := &gen.ConfirmTOTPEnrollmentParams{IdempotencyKey: key, GuidedfixSource: source(ctx), GuidedfixLocale: locale(ctx)}
	_, err := call(c, ctx, "confirmTOTPEnrollment", http.StatusNoContent, func(ctx context.Context) (*gen.ConfirmTOTPEnrollmentResponse, error) {
		return c.api.ConfirmTOTPEnrollmentWithResponse(ctx, p, gen.ConfirmRequest{EnrollmentId: enrollmentID, Code: code})
	})
	return err
}

// IssueRecoveryCodes implements portal.Core: POST
// /v1/totp-enrollments/recovery-codes. n outside 1..20 is refused here
// (the server refuses it too) without a call.
func (c *Client) IssueRecoveryCodes(ctx context.Context, enrollmentID string, n int) ([]string, error) {
	if n < 1 || n > 20 {
		return nil, fmt.Errorf("portal: recovery code count %d outside 1..20", n)
	}
	p := &gen.IssueRecoveryCodesParams{IdempotencyKey: newKey()}
	r, err := call(c, ctx, "issueRecoveryCodes", http.StatusOK, func(ctx context.Context) (*gen.IssueRecoveryCodesResponse, error) {
		return c.api.IssueRecoveryCodesWithResponse(ctx, p, gen.RecoveryCodesRequest{EnrollmentId: enrollmentID, Count: n})
	})
	if err != nil {
		return nil, err
	}
	return r.JSON200.Codes, nil
}

// CancelTOTPEnrollment implements portal.Core: POST
// /v1/totp-enrollments/cancel.
func (c *Client) CancelTOTPEnrollment(ctx context.Context, enrollmentID string) error {
	p := &gen.CancelTOTPEnrollmentParams{IdempotencyKey: newKey()}
	_, err := call(c, ctx, "cancelTOTPEnrollment", http.StatusNoContent, func(ctx context.Context) (*gen.CancelTOTPEnrollmentResponse, error) {
		return c.api.CancelTOTPEnrollmentWithResponse(ctx, p, gen.EnrollmentRequest{EnrollmentId: enrollmentID})
	})
	return err
}

// EnrollmentState implements portal.Core: POST /v1/totp-enrollments/state.
func (c *Client) EnrollmentState(ctx context.Context, enrollmentID string) (portal.EnrollmentState, error) {
	r, err := call(c, ctx, "getEnrollmentState", http.StatusOK, func(ctx context.Context) (*gen.GetEnrollmentStateResponse, error) {
		return c.api.GetEnrollmentStateWithResponse(ctx, gen.EnrollmentRequest{EnrollmentId: enrollmentID})
	})
	if err != nil {
		return "", err
	}
	return portal.EnrollmentState(r.JSON200.State), nil
}

// PasswordInText implements portal.Core: POST /v1/password/in-text, the
// text in the JSON body only (it may hold the password). A read: retried
// like the other reads.
func (c *Client) PasswordInText(ctx context.Context, accountID, text string) (bool, error) {
	r, err := call(c, ctx, "passwordInText", http.StatusOK, func(ctx context.Context) (*gen.PasswordInTextResponse, error) {
		return c.api.PasswordInTextWithResponse(ctx, gen.PasswordInTextRequest{AccountId: accountID, Text: text})
	})
	if err != nil {
		return false, err
	}
	return r.JSON200.Found, nil
}

// ElevateWithTOTP implements portal.Core: POST /v1/grants/elevate-totp,
// with a random Idempotency-Key made once per call (the server keeps the
// first answer) and the context's source in Guidedfix-Source.
func (c *Client) ElevateWithTOTP(ctx context.Context, grantToken, code string) (portal.Grant, error) {
	p := &gen.ElevateWithTOTPParams{IdempotencyKey: newKey(), GuidedfixSource: source(ctx)}
	r, err := call(c, ctx, "elevateWithTOTP", http.StatusOK, func(ctx context.Context) (*gen.ElevateWithTOTPResponse, error) {
		return c.api.ElevateWithTOTPWithResponse(ctx, p, gen.CodeGrantRequest{GrantToken: grantToken, Code: code})
	})
	if err != nil {
		return portal.Grant{}, err
	}
	return grantIn(r.JSON200), nil
}

// ElevateWithRecoveryCode implements portal.Core: POST
// /v1/grants/elevate-recovery (keyed by the core).
func (c *Client) ElevateWithRecoveryCode(ctx context.Context, grantToken, code, key string) (portal.RecoveryElevation, error) {
	p := &gen.ElevateWithRecoveryCodeParams{IdempotencyKey: key, GuidedfixSource: source(ctx)}
	r, err := call(c, ctx, "elevateWithRecoveryCode", http.StatusOK, func(ctx context.Context) (*gen.ElevateWithRecoveryCodeResponse, error) {
		return c.api.ElevateWithRecoveryCodeWithResponse(ctx, p, gen.CodeGrantRequest{GrantToken: grantToken, Code: code})
	})
	if err != nil {
		return portal.RecoveryElevation{}, err
	}
	return portal.RecoveryElevation{Grant: grantIn(&r.JSON200.Grant), Codes: r.JSON200.Codes}, nil
}

// BeginTOTPReplacement implements portal.Core: POST /v1/totp-replacements.
func (c *Client) BeginTOTPReplacement(ctx context.Context, grantToken, key string) (portal.Enrollment, error) {
	p := &gen.BeginTOTPReplacementParams{IdempotencyKey: key}
	r, err := call(c, ctx, "beginTOTPReplacement", http.StatusOK, func(ctx context.Context) (*gen.BeginTOTPReplacementResponse, error) {
		return c.api.BeginTOTPReplacementWithResponse(ctx, p, gen.GrantRequest{GrantToken: grantToken})
	})
	if err != nil {
		return portal.Enrollment{}, err
	}
	v := r.JSON200
	return portal.Enrollment{ID: v.Id, AccountID: v.AccountId, URI: v.Uri, Secret: v.Secret, Issuer: v.Issuer, Label: v.Label, ExpiresAt: v.ExpiresAt.UTC(), AttemptsLeft: v.AttemptsLeft}, nil
}

// ConfirmTOTPReplacement implements portal.Core: POST
// /v1/totp-replacements/confirm, with the chat's language
// (portal.WithLocale) as Guidedfix-Locale.
func (c *Client) ConfirmTOTPReplacement(ctx context.Context, enrollmentID, code, key string) error {
	p := &gen.ConfirmTOTPReplacementParams{IdempotencyKey: key, GuidedfixSource: source(ctx), GuidedfixLocale: locale(ctx)}
	_, err := call(c, ctx, "confirmTOTPReplacement", http.StatusNoContent, func(ctx context.Context) (*gen.ConfirmTOTPReplacementResponse, error) {
		return c.api.ConfirmTOTPReplacementWithResponse(ctx, p, gen.ConfirmRequest{EnrollmentId: enrollmentID, Code: code})
	})
	return err
}
