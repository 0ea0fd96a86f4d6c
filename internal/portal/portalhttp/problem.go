// Package portalhttp carries the portal.Core contract over HTTP, as
// api/portal.openapi.yaml documents it: Server exposes any portal.Core,
// Client implements portal.Core against such a server. The wire code
// (models, routing, request building) is generated into package gen by
// oapi-codegen; this package holds the mapping between the two.
//
// Adding a method to portal.Core: add its operation to
// api/portal.openapi.yaml (a POST with a JSON body for anything secret, an
// Idempotency-Key when it may change state, Guidedfix-Source when it
// checks a password or code, an example, the default problem response),
// run go generate ./internal/portal/portalhttp/..., then write the
// server method the generated ServerInterface now asks for (decode, call
// the core, s.result) and the Client method (call(...) with the generated
// ...WithResponse). TestDocumentValid counts the operations; the
// conformance suite then runs the new behaviour through HTTP too.
package portalhttp

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portalhttp/gen"
)

// Problem types (RFC 9457 §3.1.1): one stable URI per typed error of
// portal.Core, listed in the document's ProblemType schema.
const (
	TypeNotFound            = "urn:guidedfix:problem:not-found"
	TypeBadPassword         = "urn:guidedfix:problem:bad-password"
	TypeLocked              = "urn:guidedfix:problem:locked"
	TypeBadCode             = "urn:guidedfix:problem:bad-code"
	TypeClockDrift          = "urn:guidedfix:problem:clock-drift"
	TypeCodeFormat          = "urn:guidedfix:problem:code-format"
	TypeCodeReplayed        = "urn:guidedfix:problem:code-replayed"
	TypeExpired             = "urn:guidedfix:problem:expired"
	TypeBadGrant            = "urn:guidedfix:problem:bad-grant"
	TypeNeedElevation       = "urn:guidedfix:problem:need-elevation"
	TypeWrongState          = "urn:guidedfix:problem:wrong-state"
	TypeIdempotencyMismatch = "urn:guidedfix:problem:idempotency-mismatch"
	TypeInvalidRequest      = "urn:guidedfix:problem:invalid-request"
	TypeUnauthorized        = "urn:guidedfix:problem:unauthorized"
	TypeInternal            = "urn:guidedfix:problem:internal"
)

// ProblemContentType is the media type of problem details (RFC 9457 §3).
const ProblemContentType = "application/problem+json"

// sentinels maps each sentinel of package portal to its problem type,
// HTTP status and title; typed errors add their members in problemFor.
var sentinels = []struct {
	err    error
	typ    string
	status int
	title  string
}{
	{portal.ErrNotFound, TypeNotFound, http.StatusNotFound, "Not found"},
	{portal.ErrBadPassword, TypeBadPassword, http.StatusUnprocessableEntity, "Wrong e-mail or password"},
	{portal.ErrLocked, TypeLocked, http.StatusTooManyRequests, "Account temporarily locked"},
	// Before ErrBadCode: a *portal.BadCodeError with DriftSteps matches
	// both.
	{portal.ErrClockDrift, TypeClockDrift, http.StatusUnprocessableEntity, "Wrong code: the device's clock is off"},
	{portal.ErrBadCode, TypeBadCode, http.StatusUnprocessableEntity, "Wrong code"},
	{portal.ErrCodeFormat, TypeCodeFormat, http.StatusUnprocessableEntity, "A code has 6 digits"},
	{portal.ErrCodeReplayed, TypeCodeReplayed, http.StatusConflict, "Code already used"},
	{portal.ErrExpired, TypeExpired, http.StatusGone, "Expired"},
	{portal.ErrBadGrant, TypeBadGrant, http.StatusForbidden, "Invalid grant"},
	{portal.ErrNeedElevation, TypeNeedElevation, http.StatusForbidden, "Re-authentication with the second factor required"},
	{portal.ErrWrongState, TypeWrongState, http.StatusConflict, "Account is not in the required state"},
	{portal.ErrIdempotencyMismatch, TypeIdempotencyMismatch, http.StatusUnprocessableEntity, "Idempotency key reused for another request"},
}

// problemFor returns the problem body for err and, for a lock, the
// Retry-After delay in whole seconds (rounded up, at least 1; -1 for no
// header). An error that is none of portal's is TypeInternal with no
// detail, so nothing internal leaks.
func problemFor(err error, now time.Time) (gen.Problem, int) {
	var inv *invalidRequest
	if errors.As(err, &inv) {
		d := inv.msg
		return gen.Problem{Type: TypeInvalidRequest, Title: "Invalid request", Status: http.StatusBadRequest, Detail: &d}, -1
	}
	for _, s := range sentinels {
		if !errors.Is(err, s.err) {
			continue
		}
		p := gen.Problem{Type: s.typ, Title: s.title, Status: s.status}
		retry := -1
		var le *portal.LockedError
		var be *portal.BadCodeError
		var we *portal.WrongStateError
		switch {
		case errors.As(err, &le):
			at, lim := le.RetryAfter.UTC(), le.SMSLimit
			p.RetryAfter, p.SmsLimit = &at, &lim
			if le.Operator {
				// Refused until an operator unlocks it: no retryAfter,
				// no Retry-After header.
				op := true
				p.RetryAfter, p.Operator = nil, &op
				break
			}
			if s.typ != TypeLocked {
				// An expired enrollment that also started a lock
				// (portal.ExhaustedError): the data, no header.
				break
			}
			// Delay-seconds rounded up, at least 1 (the document's
			// "Retry-After"): 0 would invite an immediate retry.
			retry = max(int((at.Sub(now)+time.Second-1)/time.Second), 1)
		case errors.As(err, &be):
			n := be.AttemptsLeft
			p.AttemptsLeft = &n
			if s.typ == TypeClockDrift {
				d := be.DriftSteps
				p.DriftSteps = &d
			}
		case errors.As(err, &we):
			m := gen.Method(we.Method)
			p.Method = &m
		}
		return p, retry
	}
	return gen.Problem{Type: TypeInternal, Title: "Internal error", Status: http.StatusInternalServerError}, -1
}

// errorFor maps a problem body back to the error of package portal the
// server's Core returned: the same sentinel, and the same typed error with
// its data for locked, bad-code, clock-drift, wrong-state and an expired
// one with lock data (portal.ExhaustedError) (a wrong-state problem
// without a method is the bare sentinel). Other types become a *RemoteError.
func errorFor(p *gen.Problem, status int) error {
	switch p.Type {
	case TypeLocked:
		le := &portal.LockedError{}
		if p.RetryAfter != nil {
			le.RetryAfter = p.RetryAfter.UTC()
		}
		if p.SmsLimit != nil {
			le.SMSLimit = *p.SmsLimit
		}
		if p.Operator != nil {
			le.Operator = *p.Operator
		}
		return le
	case TypeBadCode, TypeClockDrift:
		be := &portal.BadCodeError{}
		if p.AttemptsLeft != nil {
			be.AttemptsLeft = *p.AttemptsLeft
		}
		if p.Type == TypeClockDrift {
			// A clock-drift problem always names a drift; one without it
			// still says the clock is off.
			be.DriftSteps = portal.MaxDriftSteps
			if p.DriftSteps != nil && *p.DriftSteps != 0 {
				be.DriftSteps = *p.DriftSteps
			}
		}
		return be
	case TypeExpired:
		// An expiry with lock data is the 5th wrong code that also
		// throttled the source (portal.ExhaustedError).
		if p.RetryAfter != nil || (p.Operator != nil && *p.Operator) {
			ee := &portal.ExhaustedError{}
			if p.RetryAfter != nil {
				ee.Lock.RetryAfter = p.RetryAfter.UTC()
			}
			if p.SmsLimit != nil {
				ee.Lock.SMSLimit = *p.SmsLimit
			}
			if p.Operator != nil {
				ee.Lock.Operator = *p.Operator
			}
			return ee
		}
		return portal.ErrExpired
	case TypeWrongState:
		if p.Method != nil {
			return &portal.WrongStateError{Method: portal.Method(*p.Method)}
		}
		return portal.ErrWrongState
	}
	for _, s := range sentinels {
		if s.typ == p.Type {
			return s.err
		}
	}
	re := &RemoteError{Status: status, Type: p.Type, Title: p.Title}
	if p.Detail != nil {
		re.Detail = *p.Detail
	}
	return re
}

// RemoteError is a problem the client could not map to an error of package
// portal: invalid-request, unauthorized, internal or a type this version
// does not know, or a non-problem answer (Type empty).
type RemoteError struct {
	// Status is the HTTP status code.
	Status int
	// Type, Title and Detail are the problem's members (RFC 9457 §3.1).
	Type, Title, Detail string
}

// ErrUnauthorized matches (errors.Is) a *RemoteError whose status is 401:
// the portal refused the client's service token (or, with mutual TLS, its
// certificate) — a configuration error of portal.token / portal.token_file,
// never a customer's mistake (api/portal.openapi.yaml "unauthorized").
var ErrUnauthorized = errors.New("portal: the portal refused guidedfix's credentials")

// Is reports whether target is ErrUnauthorized and e's status is 401, so
// that callers can tell a configuration error from a portal failure.
func (e *RemoteError) Is(target error) bool {
	return target == ErrUnauthorized && e.Status == http.StatusUnauthorized
}

func (e *RemoteError) Error() string {
	if e.Status == http.StatusUnauthorized {
		return "portal: the portal refused guidedfix's service token (401 unauthorized): check portal.token or portal.token_file against the portal's portal.serve.tokens (and portal.client_cert with mutual TLS)"
	}
	s := "portal: remote answered " + strconv.Itoa(e.Status)
	if e.Type != "" {
		s += " " + e.Type
	}
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// invalidRequest is a request the server refuses before calling the Core.
type invalidRequest struct{ msg string }

func (e *invalidRequest) Error() string { return "portal: invalid request: " + e.msg }

// ProblemTypes returns every problem type this package sends or maps, in
// no particular order: the document's ProblemType enum.
func ProblemTypes() []string {
	out := []string{TypeInvalidRequest, TypeUnauthorized, TypeInternal}
	for _, s := range sentinels {
		out = append(out, s.typ)
	}
	return out
}
