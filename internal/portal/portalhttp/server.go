package portalhttp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portalhttp/gen"
)

// SourceHeader is the request header that carries portal.SourceFromContext
// of a password or code check (api/portal.openapi.yaml "Failure limits").
const SourceHeader = "Guidedfix-Source"

// maxBody bounds a request body: every body of the contract is a few
// hundred bytes.
const maxBody = 64 << 10

// ServerOptions configure Server.
type ServerOptions struct {
	// Tokens are the accepted bearer tokens (rotation: list the new one
	// beside the old one, then drop the old one). With none, every request
	// is refused with 401.
	Tokens []string
	// RequireClientCert refuses (401) a request that did not come over TLS
	// with a verified client certificate (mutual TLS); the listener's
	// tls.Config must ask for and verify client certificates.
	RequireClientCert bool
	// Capabilities overrides what GET /v1/capabilities answers; nil asks
	// the core (portal.CapabilitiesOf).
	Capabilities *portal.Capabilities
	// Logger receives one line per request (operation, status, problem
	// type, duration; never a body or a header value). Nil discards.
	Logger *slog.Logger
	// ReplayTTL is how long the answer of an operation the core does not
	// key itself is kept for a repeated Idempotency-Key; default 10 minutes.
	ReplayTTL time.Duration
	// Now is the clock of Retry-After and of the replay cache; default
	// time.Now.
	Now func() time.Time
}

// Server returns the HTTP handler of api/portal.openapi.yaml in front of
// core: bearer-token (and optionally mTLS) service authentication on every
// path, then the generated router, then core. Errors of core become RFC
// 9457 problems (problemFor); anything else is a 500 problem without
// detail.
func Server(core portal.Core, opts ServerOptions) http.Handler {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.ReplayTTL <= 0 {
		opts.ReplayTTL = 10 * time.Minute
	}
	s := &server{core: core, opts: opts, replays: newReplayCache(opts.ReplayTTL, opts.Now)}
	h := gen.HandlerWithOptions(s, gen.StdHTTPServerOptions{
		ErrorHandlerFunc: func(w http.ResponseWriter, r *http.Request, err error) {
			s.write(w, r, s.fail(&invalidRequest{msg: "bad parameters"}))
		},
	})
	return s.authenticate(h)
}

type server struct {
	core    portal.Core
	opts    ServerOptions
	replays *replayCache
}

var _ gen.ServerInterface = (*server)(nil)

// reply is one answer, kept as bytes so a repeated key replays it exactly.
type reply struct {
	status     int
	ctype      string
	retryAfter int // seconds, -1: no header
	body       []byte
	ptype      string // problem type, for the log line
}

func (s *server) ok(v any) reply {
	if v == nil {
		return reply{status: http.StatusNoContent, retryAfter: -1}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return s.fail(err)
	}
	return reply{status: http.StatusOK, ctype: "application/json", body: b, retryAfter: -1}
}

func (s *server) fail(err error) reply {
	p, retry := problemFor(err, s.opts.Now())
	if p.Type == TypeInternal {
		s.opts.Logger.Error("portal core error", "err", err)
	}
	b, _ := json.Marshal(p)
	return reply{status: p.Status, ctype: ProblemContentType, body: b, retryAfter: retry, ptype: p.Type}
}

func (s *server) result(v any, err error) reply {
	if err != nil {
		return s.fail(err)
	}
	return s.ok(v)
}

func (s *server) write(w http.ResponseWriter, r *http.Request, rp reply) {
	if rp.ctype != "" {
		w.Header().Set("Content-Type", rp.ctype)
	}
	if rp.retryAfter >= 0 {
		w.Header().Set("Retry-After", strconv.Itoa(rp.retryAfter))
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(rp.status)
	w.Write(rp.body)
	s.opts.Logger.Debug("portal request", "method", r.Method, "path", r.URL.Path, "status", rp.status, "problem", rp.ptype)
}

// decode reads the JSON body into v (a generated request struct); on
// failure it answers 400 invalid-request and returns false. A body that is
// not a JSON object, gives a member the wrong JSON type, or lacks a
// required member (a field of v without omitempty) or sets it to null is
// refused, as the document's "Request bodies" says: before any core call
// and before the Idempotency-Key is looked at, so nothing is counted,
// changed or bound to the key. It returns the raw body for the replay
// fingerprint.
func (s *server) decode(w http.ResponseWriter, r *http.Request, v any) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		s.write(w, r, s.fail(&invalidRequest{msg: "the body could not be read"}))
		return nil, false
	}
	var members map[string]json.RawMessage
	if json.Unmarshal(b, &members) != nil || members == nil {
		s.write(w, r, s.fail(&invalidRequest{msg: "the body is not a JSON object"}))
		return nil, false
	}
	if name := missingMember(members, v); name != "" {
		s.write(w, r, s.fail(&invalidRequest{msg: "the required member " + name + " is missing or null"}))
		return nil, false
	}
	if err := json.Unmarshal(b, v); err != nil {
		s.write(w, r, s.fail(&invalidRequest{msg: "a member has the wrong JSON type for the operation's schema"}))
		return nil, false
	}
	return b, true
}

// missingMember returns the JSON name of the first required member of the
// struct v points to (a field whose json tag has no omitempty: how
// oapi-codegen writes a schema's required properties) that members lacks
// or holds as null, or "" when all are there.
func missingMember(members map[string]json.RawMessage, v any) string {
	t := reflect.TypeOf(v)
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return ""
	}
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" || strings.Contains(","+opts+",", ",omitempty,") {
			continue
		}
		if raw, ok := members[name]; !ok || string(raw) == "null" {
			return name
		}
	}
	return ""
}

// checkKey answers 400 for an Idempotency-Key outside 1..200 bytes.
func (s *server) checkKey(w http.ResponseWriter, r *http.Request, key string) bool {
	if key == "" || len(key) > 200 {
		s.write(w, r, s.fail(&invalidRequest{msg: "Idempotency-Key must have 1 to 200 bytes"}))
		return false
	}
	return true
}

// mutating is the context of a core call that changes state: it outlives
// the client's connection, so a dropped connection never stops a change
// half-way (the client's retry with the same key then finds it done).
func mutating(r *http.Request, source *string) context.Context {
	ctx := context.WithoutCancel(r.Context())
	if source != nil {
		ctx = portal.WithSource(ctx, *source)
	}
	return ctx
}

// withLocale adds the Guidedfix-Locale header's value, if any, to ctx
// (portal.WithLocale).
func withLocale(ctx context.Context, locale *string) context.Context {
	if locale != nil {
		ctx = portal.WithLocale(ctx, *locale)
	}
	return ctx
}

// once runs fn at most once per key: a repeated key with the same
// operation, body and source replays the first reply, one with another
// operation, body or source is idempotency-mismatch. Internal errors are not kept, so a retry runs fn
// again.
func (s *server) once(w http.ResponseWriter, r *http.Request, op, key string, source *string, body []byte, fn func() reply) {
	if !s.checkKey(w, r, key) {
		return
	}
	src := ""
	if source != nil {
		src = *source
	}
	// One key space for every check operation (the document's
	// "Idempotency"): the same key on another operation differs in the
	// fingerprint, so it is idempotency-mismatch.
	rp, err := s.replays.do(r.Context(), key, []string{op, src, string(body)}, fn)
	if err != nil {
		rp = s.fail(err)
	}
	s.write(w, r, rp)
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func grantOut(g portal.Grant) gen.Grant {
	return gen.Grant{Token: g.Token, AccountId: g.AccountID, Level: gen.GrantLevel(g.Level), ExpiresAt: g.ExpiresAt.UTC()}
}

func accountOut(a portal.Account) gen.Account {
	out := gen.Account{Id: a.ID, Email: a.Email, Name: a.Name, Phone: a.Phone, Method: gen.Method(a.Method), CreatedAt: a.CreatedAt.UTC()}
	if a.Locale != "" {
		out.Locale = &a.Locale
	}
	return out
}

// GetCapabilities implements gen.ServerInterface: GET /v1/capabilities.
func (s *server) GetCapabilities(w http.ResponseWriter, r *http.Request) {
	var c portal.Capabilities
	var err error
	if s.opts.Capabilities != nil {
		c = *s.opts.Capabilities
	} else {
		c, err = portal.CapabilitiesOf(r.Context(), s.core)
	}
	s.write(w, r, s.result(gen.Capabilities{ContractVersion: c.ContractVersion, AtomicSwitch: c.AtomicSwitch, RestoreFactor: c.RestoreFactor, RecoveryCodes: c.RecoveryCodes, ReplaceTOTP: &c.ReplaceTOTP}, err))
}

// LookupAccount implements gen.ServerInterface: POST /v1/accounts/lookup.
func (s *server) LookupAccount(w http.ResponseWriter, r *http.Request) {
	var req gen.EmailRequest
	if _, ok := s.decode(w, r, &req); !ok {
		return
	}
	a, err := s.core.LookupAccount(r.Context(), req.Email)
	s.write(w, r, s.result(accountOut(a), err))
}

// UnknownAccount implements gen.ServerInterface: POST /v1/accounts/unknown-id.
func (s *server) UnknownAccount(w http.ResponseWriter, r *http.Request) {
	var req gen.EmailRequest
	if _, ok := s.decode(w, r, &req); !ok {
		return
	}
	s.write(w, r, s.ok(gen.UnknownAccount{AccountId: s.core.UnknownAccount(req.Email)}))
}

// GetAccount implements gen.ServerInterface: GET /v1/accounts/{accountId}.
func (s *server) GetAccount(w http.ResponseWriter, r *http.Request, accountID gen.AccountId) {
	a, err := s.core.Account(r.Context(), accountID)
	s.write(w, r, s.result(accountOut(a), err))
}

// GetSecurityStatus implements gen.ServerInterface: GET
// /v1/accounts/{accountId}/security-status.
func (s *server) GetSecurityStatus(w http.ResponseWriter, r *http.Request, accountID gen.AccountId) {
	st, err := s.core.SecurityStatus(r.Context(), accountID)
	s.write(w, r, s.result(gen.Status{AccountId: st.AccountID, Method: gen.Method(st.Method), MaskedPhone: st.MaskedPhone, RecoveryCodes: &st.RecoveryCodes}, err))
}

// VerifyPassword implements gen.ServerInterface: POST /v1/password/verify.
func (s *server) VerifyPassword(w http.ResponseWriter, r *http.Request, p gen.VerifyPasswordParams) {
	var req gen.VerifyPasswordRequest
	body, ok := s.decode(w, r, &req)
	if !ok {
		return
	}
	s.once(w, r, "verifyPassword", p.IdempotencyKey, p.GuidedfixSource, body, func() reply {
		g, err := s.core.VerifyPassword(mutating(r, p.GuidedfixSource), req.AccountId, req.Password)
		return s.result(grantOut(g), err)
	})
}

// Reauthenticate implements gen.ServerInterface: POST /v1/grants/reauthenticate.
func (s *server) Reauthenticate(w http.ResponseWriter, r *http.Request, p gen.ReauthenticateParams) {
	var req gen.ReauthenticateRequest
	body, ok := s.decode(w, r, &req)
	if !ok {
		return
	}
	s.once(w, r, "reauthenticate", p.IdempotencyKey, p.GuidedfixSource, body, func() reply {
		g, err := s.core.Reauthenticate(mutating(r, p.GuidedfixSource), req.GrantToken, req.Password)
		return s.result(grantOut(g), err)
	})
}

// SendSMSChallenge implements gen.ServerInterface: POST /v1/sms-challenges
// (keyed by the core).
func (s *server) SendSMSChallenge(w http.ResponseWriter, r *http.Request, p gen.SendSMSChallengeParams) {
	var req gen.GrantRequest
	if _, ok := s.decode(w, r, &req); !ok || !s.checkKey(w, r, p.IdempotencyKey) {
		return
	}
	ch, err := s.core.SendSMSChallenge(mutating(r, nil), req.GrantToken, p.IdempotencyKey)
	s.write(w, r, s.result(gen.Challenge{Id: ch.ID, MaskedPhone: ch.MaskedPhone, ExpiresAt: ch.ExpiresAt.UTC(), AttemptsLeft: ch.AttemptsLeft}, err))
}

// VerifySMSChallenge implements gen.ServerInterface: POST /v1/sms-challenges/verify.
func (s *server) VerifySMSChallenge(w http.ResponseWriter, r *http.Request, p gen.VerifySMSChallengeParams) {
	var req gen.VerifySMSRequest
	body, ok := s.decode(w, r, &req)
	if !ok {
		return
	}
	s.once(w, r, "verifySMSChallenge", p.IdempotencyKey, p.GuidedfixSource, body, func() reply {
		g, err := s.core.VerifySMSChallenge(mutating(r, p.GuidedfixSource), req.GrantToken, req.ChallengeId, req.Code)
		return s.result(grantOut(g), err)
	})
}

// Disable2FA implements gen.ServerInterface: POST /v1/second-factor/disable
// (keyed by the core).
func (s *server) Disable2FA(w http.ResponseWriter, r *http.Request, p gen.Disable2FAParams) {
	var req gen.GrantRequest
	if _, ok := s.decode(w, r, &req); !ok || !s.checkKey(w, r, p.IdempotencyKey) {
		return
	}
	s.write(w, r, s.result(nil, s.core.Disable2FA(withLocale(mutating(r, nil), p.GuidedfixLocale), req.GrantToken, p.IdempotencyKey)))
}

// RestoreFactor implements gen.ServerInterface: POST
// /v1/second-factor/restore (keyed by the core).
func (s *server) RestoreFactor(w http.ResponseWriter, r *http.Request, p gen.RestoreFactorParams) {
	var req gen.RestoreRequest
	if _, ok := s.decode(w, r, &req); !ok || !s.checkKey(w, r, p.IdempotencyKey) {
		return
	}
	s.write(w, r, s.result(nil, s.core.RestoreFactor(mutating(r, nil), req.DisableKey, p.IdempotencyKey)))
}

// BeginTOTPEnrollment implements gen.ServerInterface: POST
// /v1/totp-enrollments (keyed by the core).
func (s *server) BeginTOTPEnrollment(w http.ResponseWriter, r *http.Request, p gen.BeginTOTPEnrollmentParams) {
	var req gen.GrantRequest
	if _, ok := s.decode(w, r, &req); !ok || !s.checkKey(w, r, p.IdempotencyKey) {
		return
	}
	e, err := s.core.BeginTOTPEnrollment(mutating(r, nil), req.GrantToken, p.IdempotencyKey)
	s.write(w, r, s.result(gen.Enrollment{Id: e.ID, AccountId: e.AccountID, Uri: e.URI, Secret: e.Secret, Issuer: e.Issuer, Label: e.Label, ExpiresAt: e.ExpiresAt.UTC(), AttemptsLeft: e.AttemptsLeft}, err))
}

// ConfirmTOTPEnrollment implements gen.ServerInterface: POST
// /v1/totp-enrollments/confirm (keyed by the core).
func (s *server) ConfirmTOTPEnrollment(w http.ResponseWriter, r *http.Request, p gen.ConfirmTOTPEnrollmentParams) {
	var req gen.ConfirmRequest
	if _, ok := s.decode(w, r, &req); !ok || !s.checkKey(w, r, p.IdempotencyKey) {
		return
	}
	s.write(w, r, s.result(nil, s.core.ConfirmTOTPEnrollment(withLocale(mutating(r, p.GuidedfixSource), p.GuidedfixLocale), req.EnrollmentId, req.Code, p.IdempotencyKey)))
}

// IssueRecoveryCodes implements gen.ServerInterface: POST
// /v1/totp-enrollments/recovery-codes.
func (s *server) IssueRecoveryCodes(w http.ResponseWriter, r *http.Request, p gen.IssueRecoveryCodesParams) {
	var req gen.RecoveryCodesRequest
	body, ok := s.decode(w, r, &req)
	if !ok {
		return
	}
	if req.Count < 1 || req.Count > 20 {
		s.write(w, r, s.fail(&invalidRequest{msg: fmt.Sprintf("count %d outside 1..20", req.Count)}))
		return
	}
	s.once(w, r, "issueRecoveryCodes", p.IdempotencyKey, nil, body, func() reply {
		codes, err := s.core.IssueRecoveryCodes(mutating(r, nil), req.EnrollmentId, req.Count)
		return s.result(gen.RecoveryCodes{Codes: codes}, err)
	})
}

// CancelTOTPEnrollment implements gen.ServerInterface: POST
// /v1/totp-enrollments/cancel.
func (s *server) CancelTOTPEnrollment(w http.ResponseWriter, r *http.Request, p gen.CancelTOTPEnrollmentParams) {
	var req gen.EnrollmentRequest
	body, ok := s.decode(w, r, &req)
	if !ok {
		return
	}
	s.once(w, r, "cancelTOTPEnrollment", p.IdempotencyKey, nil, body, func() reply {
		return s.result(nil, s.core.CancelTOTPEnrollment(mutating(r, nil), req.EnrollmentId))
	})
}

// GetEnrollmentState implements gen.ServerInterface: POST
// /v1/totp-enrollments/state.
func (s *server) GetEnrollmentState(w http.ResponseWriter, r *http.Request) {
	var req gen.EnrollmentRequest
	if _, ok := s.decode(w, r, &req); !ok {
		return
	}
	st, err := s.core.EnrollmentState(r.Context(), req.EnrollmentId)
	s.write(w, r, s.result(gen.EnrollmentStateResult{State: gen.EnrollmentState(st)}, err))
}

// PasswordInText implements gen.ServerInterface: POST /v1/password/in-text.
func (s *server) PasswordInText(w http.ResponseWriter, r *http.Request) {
	var req gen.PasswordInTextRequest
	if _, ok := s.decode(w, r, &req); !ok {
		return
	}
	found, err := s.core.PasswordInText(r.Context(), req.AccountId, req.Text)
	s.write(w, r, s.result(gen.PasswordInTextResult{Found: found}, err))
}

// ElevateWithTOTP implements gen.ServerInterface: POST
// /v1/grants/elevate-totp (the first answer kept per key).
func (s *server) ElevateWithTOTP(w http.ResponseWriter, r *http.Request, p gen.ElevateWithTOTPParams) {
	var req gen.CodeGrantRequest
	body, ok := s.decode(w, r, &req)
	if !ok {
		return
	}
	s.once(w, r, "elevateWithTOTP", p.IdempotencyKey, p.GuidedfixSource, body, func() reply {
		g, err := s.core.ElevateWithTOTP(mutating(r, p.GuidedfixSource), req.GrantToken, req.Code)
		return s.result(grantOut(g), err)
	})
}

// ElevateWithRecoveryCode implements gen.ServerInterface: POST
// /v1/grants/elevate-recovery (keyed by the core, so the new codes are
// never kept by the server).
func (s *server) ElevateWithRecoveryCode(w http.ResponseWriter, r *http.Request, p gen.ElevateWithRecoveryCodeParams) {
	var req gen.CodeGrantRequest
	if _, ok := s.decode(w, r, &req); !ok || !s.checkKey(w, r, p.IdempotencyKey) {
		return
	}
	el, err := s.core.ElevateWithRecoveryCode(mutating(r, p.GuidedfixSource), req.GrantToken, req.Code, p.IdempotencyKey)
	codes := el.Codes
	if codes == nil {
		codes = []string{}
	}
	s.write(w, r, s.result(gen.RecoveryElevation{Grant: grantOut(el.Grant), Codes: codes}, err))
}

// BeginTOTPReplacement implements gen.ServerInterface: POST
// /v1/totp-replacements (keyed by the core).
func (s *server) BeginTOTPReplacement(w http.ResponseWriter, r *http.Request, p gen.BeginTOTPReplacementParams) {
	var req gen.GrantRequest
	if _, ok := s.decode(w, r, &req); !ok || !s.checkKey(w, r, p.IdempotencyKey) {
		return
	}
	e, err := s.core.BeginTOTPReplacement(mutating(r, nil), req.GrantToken, p.IdempotencyKey)
	s.write(w, r, s.result(gen.Enrollment{Id: e.ID, AccountId: e.AccountID, Uri: e.URI, Secret: e.Secret, Issuer: e.Issuer, Label: e.Label, ExpiresAt: e.ExpiresAt.UTC(), AttemptsLeft: e.AttemptsLeft}, err))
}

// ConfirmTOTPReplacement implements gen.ServerInterface: POST
// /v1/totp-replacements/confirm (keyed by the core).
func (s *server) ConfirmTOTPReplacement(w http.ResponseWriter, r *http.Request, p gen.ConfirmTOTPReplacementParams) {
	var req gen.ConfirmRequest
	if _, ok := s.decode(w, r, &req); !ok || !s.checkKey(w, r, p.IdempotencyKey) {
		return
	}
	s.write(w, r, s.result(nil, s.core.ConfirmTOTPReplacement(withLocale(mutating(r, p.GuidedfixSource), p.GuidedfixLocale), req.EnrollmentId, req.Code, p.IdempotencyKey)))
}
