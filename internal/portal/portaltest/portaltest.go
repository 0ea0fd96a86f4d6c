// Package portaltest is the conformance suite of the portal.Core contract:
// Run checks an implementation's observable behaviour (errors, grants,
// attempt limits, idempotency, e-mails and SMS sent) through the interface
// only. It also provides the test doubles implementations can wire into
// their Harness: a settable Clock, an SMSRecorder and a MailRecorder.
package portaltest

import (
	"context"
	"regexp"
	"sync"
	"testing"
	"time"

	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
)

// Harness creates the Core under test.
type Harness struct {
	// New returns a fresh, empty Core with its hooks. The suite calls it
	// once per test, possibly from parallel tests; it should register its
	// own cleanup with t.Cleanup.
	New func(t *testing.T) Env
}

// Env is one Core under test and the hooks the suite needs.
type Env struct {
	// Core is the implementation under test.
	Core portal.Core
	// AddAccount creates an account (method portal.MethodNone or
	// portal.MethodSMS) with the given password and returns it.
	AddAccount func(t *testing.T, email, phone string, method portal.Method, password string) portal.Account
	// SetNow sets the Core's clock; Now reads it.
	SetNow func(time.Time)
	Now    func() time.Time
	// LastSMSCode returns the 6-digit code of the last SMS sent to phone
	// and the number of SMS sent to it so far.
	LastSMSCode func(phone string) (code string, count int)
	// Mails returns the e-mails accepted for delivery so far, in order.
	Mails func() []mail.Message
}

// Clock is a settable clock for tests, safe for concurrent use.
type Clock struct {
	mu sync.Mutex
	t  time.Time
}

// NewClock returns a Clock showing t.
func NewClock(t time.Time) *Clock { return &Clock{t: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

// Set sets the clock to t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// SMS is one message recorded by SMSRecorder.
type SMS struct {
	Phone, Text string
}

// SMSRecorder is a portal.SMSSender that records every message; SetError
// makes it fail. The zero value is ready to use.
type SMSRecorder struct {
	mu   sync.Mutex
	msgs []SMS
	err  error
}

// SendSMS records the message, or returns the configured error.
func (r *SMSRecorder) SendSMS(ctx context.Context, phone, text string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, SMS{phone, text})
	return nil
}

// SetError makes later SendSMS calls fail with err (nil: succeed).
func (r *SMSRecorder) SetError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// Messages returns the recorded messages in order.
func (r *SMSRecorder) Messages() []SMS {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]SMS(nil), r.msgs...)
}

var sixDigits = regexp.MustCompile(`\b[0-9]{6}\b`)

// LastCode returns the first 6-digit number in the last SMS sent to phone
// ("" when none) and the number of SMS sent to phone.
func (r *SMSRecorder) LastCode(phone string) (string, int) {
	code, n := "", 0
	for _, m := range r.Messages() {
		if m.Phone == phone {
			code, n = sixDigits.FindString(m.Text), n+1
		}
	}
	return code, n
}

// MailRecorder is a mail.Sender that records every message accepted;
// SetError makes it fail. The zero value is ready to use.
type MailRecorder struct {
	mu   sync.Mutex
	msgs []mail.Message
	err  error
}

// Send records m, or returns the configured error.
func (r *MailRecorder) Send(ctx context.Context, m mail.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, m)
	return nil
}

// SetError makes later Send calls fail with err (nil: succeed).
func (r *MailRecorder) SetError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.err = err
}

// Messages returns the accepted messages in order.
func (r *MailRecorder) Messages() []mail.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]mail.Message(nil), r.msgs...)
}
