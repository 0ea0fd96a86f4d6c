package embedded

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portaltest"
)

// TestConformance runs the portal.Core contract suite against the embedded
// core.
func TestConformance(t *testing.T) {
	portaltest.Run(t, portaltest.Harness{New: func(t *testing.T) portaltest.Env {
		e := newEnv(t)
		return portaltest.Env{
			Core: e.core,
			AddAccount: func(t *testing.T, email, phone string, m portal.Method, password string) portal.Account {
				return e.add(t, email, phone, m, password)
			},
			SetNow:      e.clock.Set,
			Now:         e.clock.Now,
			LastSMSCode: e.sms.LastCode,
			Mails:       e.mail.Messages,
		}
	}})
}

// env is an embedded Core on a temporary directory with test doubles.
type env struct {
	core  *Core
	opts  Options
	clock *portaltest.Clock
	sms   *portaltest.SMSRecorder
	mail  *portaltest.MailRecorder
	logs  *syncBuffer
	seq   int // makes idempotency keys unique
}

// testArgon2 keeps hashing cheap in tests.
var testArgon2 = Argon2Params{Memory: 1024, Time: 1}

func newEnv(t *testing.T, modify ...func(*Options)) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{
		clock: portaltest.NewClock(portaltest.Start),
		sms:   &portaltest.SMSRecorder{},
		mail:  &portaltest.MailRecorder{},
		logs:  &syncBuffer{},
	}
	e.opts = Options{
		Path:    filepath.Join(dir, "data", "portal.db"),
		KeyFile: filepath.Join(dir, "data", "portal.key"),
		Mail:    e.mail,
		SMS:     e.sms,
		Now:     e.clock.Now,
		Argon2:  testArgon2,
		Logger:  slog.New(slog.NewTextHandler(e.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, m := range modify {
		m(&e.opts)
	}
	e.open(t)
	return e
}

func (e *env) open(t *testing.T) {
	t.Helper()
	c, err := Open(e.opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	e.core = c
	t.Cleanup(func() { c.Close() })
}

// reopen closes the Core and opens the same files again.
func (e *env) reopen(t *testing.T) {
	t.Helper()
	if err := e.core.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(t)
}

func (e *env) add(t *testing.T, email, phone string, m portal.Method, password string) portal.Account {
	t.Helper()
	a, err := e.core.AddAccount(context.Background(), NewAccount{Email: email, Phone: phone, Method: m, Password: password, Name: "Test"})
	if err != nil {
		t.Fatalf("AddAccount(%s): %v", email, err)
	}
	return a
}

func (e *env) alice(t *testing.T) portal.Account {
	return e.add(t, portaltest.AliceEmail, portaltest.AlicePhone, portal.MethodSMS, portaltest.Password)
}

func (e *env) grant(t *testing.T, a portal.Account) portal.Grant {
	t.Helper()
	g, err := e.core.VerifyPassword(context.Background(), a.ID, portaltest.Password)
	if err != nil {
		t.Fatalf("VerifyPassword: %v", err)
	}
	return g
}

// elevated passes the SMS challenge and returns the elevated grant and
// the SMS code used.
func (e *env) elevated(t *testing.T, a portal.Account) (portal.Grant, string) {
	t.Helper()
	ctx := context.Background()
	g := e.grant(t, a)
	e.seq++
	ch, err := e.core.SendSMSChallenge(ctx, g.Token, fmt.Sprint("sms-", e.seq))
	if err != nil {
		t.Fatalf("SendSMSChallenge: %v", err)
	}
	code, _ := e.sms.LastCode(a.Phone)
	g, err = e.core.VerifySMSChallenge(ctx, g.Token, ch.ID, code)
	if err != nil {
		t.Fatalf("VerifySMSChallenge: %v", err)
	}
	return g, code
}

func (e *env) enroll(t *testing.T, a portal.Account) portal.Enrollment {
	t.Helper()
	g, _ := e.elevated(t, a)
	en, err := e.core.BeginTOTPEnrollment(context.Background(), g.Token, "begin-"+a.ID)
	if err != nil {
		t.Fatalf("BeginTOTPEnrollment: %v", err)
	}
	return en
}

// totpAccount returns Alice with TOTP active (confirmed at the current
// time step) and her secret.
func (e *env) totpAccount(t *testing.T) (portal.Account, string) {
	t.Helper()
	a := e.alice(t)
	en := e.enroll(t, a)
	code := portaltest.Code(t, en.Secret, e.clock.Now())
	if err := e.core.ConfirmTOTPEnrollment(context.Background(), en.ID, code, "confirm-"+a.ID); err != nil {
		t.Fatalf("ConfirmTOTPEnrollment: %v", err)
	}
	return a, en.Secret
}

type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// step returns the RFC 6238 time step of t.
func step(t time.Time) int64 { return t.Unix() / 30 }
