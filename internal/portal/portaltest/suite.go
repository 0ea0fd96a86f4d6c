package portaltest

import (
	"context"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
)

// Start is the instant every suite test begins at: 10 s into a 30-second
// TOTP time step.
var Start = time.Date(2026, 3, 2, 9, 0, 10, 0, time.UTC)

// Password is the password of the accounts the suite creates.
const Password = "correct horse battery"

// Accounts the suite creates.
const (
	AliceEmail = "alice@example.com"
	AlicePhone = "+60123456789"
	BobEmail   = "bob@example.com"
	BobPhone   = "+60198765432"
)

// Run runs the conformance suite against h: one parallel subtest per
// behaviour, each on a fresh Env.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(s *suite)
	}{
		{"LookupAndStatus", testLookupAndStatus},
		{"PasswordGrant", testPasswordGrant},
		{"PasswordUnknownAccount", testPasswordUnknownAccount},
		{"PasswordLock", testPasswordLock},
		{"PasswordFailuresWindow", testPasswordFailuresWindow},
		{"PasswordSuccessResetsFailures", testPasswordSuccessResets},
		{"GrantErrors", testGrantErrors},
		{"SMSChallenge", testSMSChallenge},
		{"SMSThreeWrongCodes", testSMSThreeWrong},
		{"SMSIdempotentAndReplaced", testSMSIdempotent},
		{"SMSRateLimit", testSMSRate},
		{"SMSWrongStateAndAccount", testSMSWrongState},
		{"Disable2FA", testDisable},
		{"DisableNeedsElevation", testDisableNeedsElevation},
		{"IdempotencyMismatch", testIdempotencyMismatch},
		{"BeginEnrollment", testBegin},
		{"BeginNeedsElevationWhileSMS", testBeginNeedsElevation},
		{"BeginReplacesPending", testBeginReplaces},
		{"OpenSwitchNeedsElevation", testOpenSwitchNeedsElevation},
		{"Reauthenticate", testReauthenticate},
		{"ConfirmEnrollment", testConfirm},
		{"ConfirmFiveWrongCodes", testConfirmFiveWrong},
		{"ConfirmExpiry", testConfirmExpiry},
		{"ConfirmWindow", testConfirmWindow},
		{"ConfirmClockDrift", testConfirmClockDrift},
		{"ConfirmUnicodeDigits", testConfirmUnicode},
		{"ConfirmConcurrent", testConfirmConcurrent},
		{"ConfirmConcurrentSameKey", testConfirmConcurrentSameKey},
		{"CancelAndState", testCancel},
		{"KBFlow", testKBFlow},
		{"SafeSwap", testSafeSwap},
		{"ElevateWithTOTP", testElevateWithTOTP},
		{"ElevateWithTOTPLock", testElevateWithTOTPLock},
		{"ElevateWithRecoveryCode", testElevateWithRecoveryCode},
		{"ElevateWithRecoveryCodeLock", testElevateWithRecoveryCodeLock},
		{"TOTPReplacement", testTOTPReplacement},
		{"TOTPReplacementAbandoned", testTOTPReplacementAbandoned},
		{"TOTPReplacementClockDrift", testReplacementClockDrift},
		{"AccountLocale", testAccountLocale},
		{"ReplacementLocale", testReplacementLocale},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := h.New(t)
			env.SetNow(Start)
			tc.fn(&suite{t: t, Env: env, ctx: context.Background()})
		})
	}
}

type suite struct {
	t *testing.T
	Env
	ctx context.Context
	seq int // makes idempotency keys unique
}

func (s *suite) advance(d time.Duration) { s.SetNow(s.Now().Add(d)) }

// norm makes times comparable with ==: UTC, no monotonic reading.
func norm(t time.Time) time.Time { return t.UTC().Round(0) }

func (s *suite) alice() portal.Account {
	return s.AddAccount(s.t, AliceEmail, AlicePhone, portal.MethodSMS, Password)
}

func (s *suite) bob(m portal.Method) portal.Account {
	return s.AddAccount(s.t, BobEmail, BobPhone, m, Password)
}

func (s *suite) grant(a portal.Account) portal.Grant {
	s.t.Helper()
	g, err := s.Core.VerifyPassword(s.ctx, a.ID, Password)
	if err != nil {
		s.t.Fatalf("VerifyPassword: %v", err)
	}
	return g
}

// elevated returns a LevelElevated grant for an SMS account.
func (s *suite) elevated(a portal.Account) portal.Grant {
	s.t.Helper()
	g := s.grant(a)
	s.seq++
	ch, err := s.Core.SendSMSChallenge(s.ctx, g.Token, fmt.Sprint("elevate-", s.seq))
	if err != nil {
		s.t.Fatalf("SendSMSChallenge: %v", err)
	}
	code, _ := s.LastSMSCode(a.Phone)
	eg, err := s.Core.VerifySMSChallenge(s.ctx, g.Token, ch.ID, code)
	if err != nil {
		s.t.Fatalf("VerifySMSChallenge: %v", err)
	}
	return eg
}

// enroll begins an enrollment for an SMS account.
func (s *suite) enroll(a portal.Account) portal.Enrollment {
	s.t.Helper()
	e, err := s.Core.BeginTOTPEnrollment(s.ctx, s.elevated(a).Token, "begin-"+a.ID)
	if err != nil {
		s.t.Fatalf("BeginTOTPEnrollment: %v", err)
	}
	return e
}

func (s *suite) mailsTo(addr string) []mail.Message {
	var out []mail.Message
	for _, m := range s.Mails() {
		if m.To == addr {
			out = append(out, m)
		}
	}
	return out
}

func (s *suite) state(id string) portal.EnrollmentState {
	s.t.Helper()
	st, err := s.Core.EnrollmentState(s.ctx, id)
	if err != nil {
		s.t.Fatalf("EnrollmentState: %v", err)
	}
	return st
}

func (s *suite) method(id string) portal.Method {
	s.t.Helper()
	st, err := s.Core.SecurityStatus(s.ctx, id)
	if err != nil {
		s.t.Fatalf("SecurityStatus: %v", err)
	}
	return st.Method
}

// Code returns the 6-digit RFC 6238 code (SHA1, 30 s) of a base32 secret
// at t.
func Code(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := totp.GenerateCodeCustom(secret, at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatalf("GenerateCodeCustom: %v", err)
	}
	return c
}

// WrongCode returns a 6-digit code matching none of the steps around at,
// nor any step within portal.MaxDriftSteps of it (so it is never taken for
// a drifted clock).
func WrongCode(t *testing.T, secret string, at time.Time) string {
	valid := map[string]bool{}
	for d := -portal.MaxDriftSteps; d <= portal.MaxDriftSteps; d++ {
		valid[Code(t, secret, at.Add(time.Duration(d)*30*time.Second))] = true
	}
	for i := 0; ; i++ {
		if c := strings.Repeat(strconv.Itoa(i), 6); !valid[c] {
			return c
		}
	}
}

// otherCode returns a different 6-digit code.
func otherCode(code string) string {
	n, _ := strconv.Atoi(code)
	return fmt.Sprintf("%06d", (n+1)%1_000_000)
}

// WantErr fails t unless errors.Is(err, target).
func WantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("error = %v, want %v", err, target)
	}
}

// WantBadCode fails t unless err is a *portal.BadCodeError with left
// attempts.
func WantBadCode(t *testing.T, err error, left int) {
	t.Helper()
	var bc *portal.BadCodeError
	if !errors.As(err, &bc) || bc.AttemptsLeft != left {
		t.Fatalf("error = %v, want BadCodeError with %d attempts left", err, left)
	}
}

// WantLocked fails t unless err is a *portal.LockedError until retry.
func WantLocked(t *testing.T, err error, retry time.Time) {
	t.Helper()
	var le *portal.LockedError
	if !errors.As(err, &le) || !le.RetryAfter.Equal(retry) || !errors.Is(err, portal.ErrLocked) {
		t.Fatalf("error = %v, want LockedError until %v", err, retry)
	}
}

// WantWrongState fails t unless err is a *portal.WrongStateError for m.
func WantWrongState(t *testing.T, err error, m portal.Method) {
	t.Helper()
	var ws *portal.WrongStateError
	if !errors.As(err, &ws) || ws.Method != m || !errors.Is(err, portal.ErrWrongState) {
		t.Fatalf("error = %v, want WrongStateError(%q)", err, m)
	}
}

func testLookupAndStatus(s *suite) {
	a := s.alice()
	if a.Email != AliceEmail || a.Phone != AlicePhone || a.Method != portal.MethodSMS || a.ID == "" {
		s.t.Fatalf("AddAccount = %+v", a)
	}
	got, err := s.Core.LookupAccount(s.ctx, "  Alice@Example.COM ")
	if err != nil || got.ID != a.ID || got.Email != AliceEmail {
		s.t.Fatalf("LookupAccount = %+v, %v; want id %s", got, err, a.ID)
	}
	_, err = s.Core.LookupAccount(s.ctx, "nobody@example.com")
	WantErr(s.t, err, portal.ErrNotFound)
	got, err = s.Core.Account(s.ctx, a.ID)
	got.CreatedAt, a.CreatedAt = norm(got.CreatedAt), norm(a.CreatedAt)
	if err != nil || got != a {
		s.t.Fatalf("Account = %+v, %v; want %+v", got, err, a)
	}
	_, err = s.Core.Account(s.ctx, "no-such-id")
	WantErr(s.t, err, portal.ErrNotFound)
	st, err := s.Core.SecurityStatus(s.ctx, a.ID)
	want := portal.Status{AccountID: a.ID, Method: portal.MethodSMS, MaskedPhone: "+60•••••6789"}
	if err != nil || st != want {
		s.t.Fatalf("SecurityStatus = %+v, %v; want %+v", st, err, want)
	}
	_, err = s.Core.SecurityStatus(s.ctx, "no-such-id")
	WantErr(s.t, err, portal.ErrNotFound)
}

func testPasswordGrant(s *suite) {
	a := s.alice()
	_, err := s.Core.VerifyPassword(s.ctx, a.ID, "wrong password")
	WantErr(s.t, err, portal.ErrBadPassword)
	g := s.grant(a)
	if g.AccountID != a.ID || g.Level != portal.LevelPassword || !g.ExpiresAt.Equal(Start.Add(5*time.Minute)) {
		s.t.Fatalf("grant = %+v", g)
	}
	raw, err := base64.RawURLEncoding.DecodeString(g.Token)
	if err != nil || len(raw) < 16 {
		s.t.Fatalf("token %q: %d bytes, %v; want base64url of at least 128 bits", g.Token, len(raw), err)
	}
	if g2 := s.grant(a); g2.Token == g.Token {
		s.t.Fatal("two grants share a token")
	}
}

func testPasswordUnknownAccount(s *suite) {
	a := s.alice()
	for i := 0; i < 7; i++ {
		_, err := s.Core.VerifyPassword(s.ctx, "", Password)
		WantErr(s.t, err, portal.ErrBadPassword)
	}
	// An unknown e-mail's failures lock it exactly as a real account's
	// (no enumeration through the lock), whatever the password.
	unknown := s.Core.UnknownAccount(" Nobody@Example.com ")
	if unknown != s.Core.UnknownAccount("nobody@example.com") || unknown == s.Core.UnknownAccount("other@example.com") ||
		strings.Contains(strings.ToLower(unknown), "nobody") || unknown == "" || unknown == a.ID {
		s.t.Fatalf("UnknownAccount = %q: want one opaque id per address", unknown)
	}
	for i := 0; i < 4; i++ {
		for _, id := range []string{unknown, a.ID} {
			_, err := s.Core.VerifyPassword(s.ctx, id, "wrong password")
			WantErr(s.t, err, portal.ErrBadPassword)
		}
		s.advance(time.Minute)
	}
	retry := s.Now().Add(15 * time.Minute)
	for _, id := range []string{unknown, a.ID} {
		_, err := s.Core.VerifyPassword(s.ctx, id, "wrong password")
		WantLocked(s.t, err, retry)
		_, err = s.Core.VerifyPassword(s.ctx, id, Password)
		WantLocked(s.t, err, retry)
	}
	// Another unknown e-mail has its own count.
	_, err := s.Core.VerifyPassword(s.ctx, s.Core.UnknownAccount("other@example.com"), Password)
	WantErr(s.t, err, portal.ErrBadPassword)
	s.SetNow(retry)
	_, err = s.Core.VerifyPassword(s.ctx, unknown, Password)
	WantErr(s.t, err, portal.ErrBadPassword)
}

func testPasswordLock(s *suite) {
	a := s.alice()
	for i := 0; i < 4; i++ {
		_, err := s.Core.VerifyPassword(s.ctx, a.ID, "wrong password")
		WantErr(s.t, err, portal.ErrBadPassword)
		s.advance(time.Minute)
	}
	fifth := s.Now()
	retry := fifth.Add(15 * time.Minute)
	_, err := s.Core.VerifyPassword(s.ctx, a.ID, "wrong password")
	WantLocked(s.t, err, retry)
	if le := new(portal.LockedError); !errors.As(err, &le) || le.SMSLimit {
		s.t.Fatalf("error %#v: a failures lock marked as the SMS limit", err)
	}
	_, err = s.Core.VerifyPassword(s.ctx, a.ID, Password)
	WantLocked(s.t, err, retry)
	s.SetNow(retry.Add(-time.Second))
	_, err = s.Core.VerifyPassword(s.ctx, a.ID, Password)
	WantLocked(s.t, err, retry)
	s.SetNow(retry)
	s.grant(a)
}

func testPasswordFailuresWindow(s *suite) {
	a := s.alice()
	for i := 0; i < 4; i++ {
		_, err := s.Core.VerifyPassword(s.ctx, a.ID, "wrong password")
		WantErr(s.t, err, portal.ErrBadPassword)
	}
	s.advance(15 * time.Minute) // the four failures leave the window
	for i := 0; i < 4; i++ {
		_, err := s.Core.VerifyPassword(s.ctx, a.ID, "wrong password")
		WantErr(s.t, err, portal.ErrBadPassword)
	}
	_, err := s.Core.VerifyPassword(s.ctx, a.ID, "wrong password")
	WantLocked(s.t, err, s.Now().Add(15*time.Minute))
}

func testPasswordSuccessResets(s *suite) {
	a := s.alice()
	for round := 0; round < 2; round++ {
		for i := 0; i < 4; i++ {
			_, err := s.Core.VerifyPassword(s.ctx, a.ID, "wrong password")
			WantErr(s.t, err, portal.ErrBadPassword)
		}
		s.grant(a)
	}
}

func testGrantErrors(s *suite) {
	a := s.alice()
	none := s.bob(portal.MethodNone)
	_, err := s.Core.SendSMSChallenge(s.ctx, "no-such-token", "k1")
	WantErr(s.t, err, portal.ErrBadGrant)
	_, err = s.Core.VerifySMSChallenge(s.ctx, "no-such-token", "chl", "123456")
	WantErr(s.t, err, portal.ErrBadGrant)
	WantErr(s.t, s.Core.Disable2FA(s.ctx, "no-such-token", "k2"), portal.ErrBadGrant)
	_, err = s.Core.BeginTOTPEnrollment(s.ctx, "no-such-token", "k3")
	WantErr(s.t, err, portal.ErrBadGrant)

	g, gn := s.grant(a), s.grant(none)
	eg := s.elevated(a)
	s.advance(5 * time.Minute) // password grants expire, the elevated one lasts 10 minutes
	_, err = s.Core.SendSMSChallenge(s.ctx, g.Token, "k4")
	WantErr(s.t, err, portal.ErrExpired)
	_, err = s.Core.BeginTOTPEnrollment(s.ctx, gn.Token, "k5")
	WantErr(s.t, err, portal.ErrExpired)
	if !eg.ExpiresAt.Equal(Start.Add(10 * time.Minute)) {
		s.t.Fatalf("elevated grant expires %v, want %v", eg.ExpiresAt, Start.Add(10*time.Minute))
	}
	s.advance(5 * time.Minute)
	WantErr(s.t, s.Core.Disable2FA(s.ctx, eg.Token, "k6"), portal.ErrExpired)
	if m := s.method(a.ID); m != portal.MethodSMS {
		s.t.Fatalf("method = %q after refused calls, want sms", m)
	}
}

func testSMSChallenge(s *suite) {
	a := s.alice()
	g := s.grant(a)
	s.advance(time.Minute)
	ch, err := s.Core.SendSMSChallenge(s.ctx, g.Token, "k1")
	if err != nil {
		s.t.Fatal(err)
	}
	want := portal.Challenge{ID: ch.ID, MaskedPhone: "+60•••••6789", ExpiresAt: norm(s.Now().Add(5 * time.Minute)), AttemptsLeft: 3}
	if ch.ExpiresAt = norm(ch.ExpiresAt); ch.ID == "" || ch != want {
		s.t.Fatalf("challenge = %+v, want %+v", ch, want)
	}
	code, n := s.LastSMSCode(AlicePhone)
	if n != 1 || len(code) != 6 {
		s.t.Fatalf("SMS: %d sent, code %q", n, code)
	}
	_, err = s.Core.VerifySMSChallenge(s.ctx, g.Token, ch.ID, otherCode(code))
	WantBadCode(s.t, err, 2)
	_, err = s.Core.VerifySMSChallenge(s.ctx, g.Token, ch.ID, "12a456")
	WantErr(s.t, err, portal.ErrCodeFormat)
	_, err = s.Core.VerifySMSChallenge(s.ctx, g.Token, ch.ID, otherCode(code))
	WantBadCode(s.t, err, 1) // the malformed code counted nothing
	s.advance(time.Minute)
	eg, err := s.Core.VerifySMSChallenge(s.ctx, g.Token, ch.ID, code[:3]+" "+code[3:])
	if err != nil {
		s.t.Fatal(err)
	}
	wantG := portal.Grant{Token: g.Token, AccountID: a.ID, Level: portal.LevelElevated, ExpiresAt: norm(s.Now().Add(10 * time.Minute))}
	if eg.ExpiresAt = norm(eg.ExpiresAt); eg != wantG {
		s.t.Fatalf("elevated grant = %+v, want %+v", eg, wantG)
	}
	_, err = s.Core.VerifySMSChallenge(s.ctx, g.Token, ch.ID, code)
	WantErr(s.t, err, portal.ErrExpired) // a code is used once
	_, err = s.Core.VerifySMSChallenge(s.ctx, g.Token, "no-such-challenge", code)
	WantErr(s.t, err, portal.ErrNotFound)
}

func testSMSThreeWrong(s *suite) {
	a := s.alice()
	g := s.grant(a)
	ch, err := s.Core.SendSMSChallenge(s.ctx, g.Token, "k1")
	if err != nil {
		s.t.Fatal(err)
	}
	code, _ := s.LastSMSCode(AlicePhone)
	for left := 2; left > 0; left-- {
		_, err = s.Core.VerifySMSChallenge(s.ctx, g.Token, ch.ID, otherCode(code))
		WantBadCode(s.t, err, left)
	}
	_, err = s.Core.VerifySMSChallenge(s.ctx, g.Token, ch.ID, otherCode(code))
	WantErr(s.t, err, portal.ErrExpired)
	_, err = s.Core.VerifySMSChallenge(s.ctx, g.Token, ch.ID, code)
	WantErr(s.t, err, portal.ErrExpired)
}

func testSMSIdempotent(s *suite) {
	a := s.alice()
	g := s.grant(a)
	first, err := s.Core.SendSMSChallenge(s.ctx, g.Token, "k1")
	if err != nil {
		s.t.Fatal(err)
	}
	firstCode, _ := s.LastSMSCode(AlicePhone)
	again, err := s.Core.SendSMSChallenge(s.ctx, g.Token, "k1")
	first.ExpiresAt, again.ExpiresAt = norm(first.ExpiresAt), norm(again.ExpiresAt)
	if err != nil || again != first {
		s.t.Fatalf("repeat = %+v, %v; want %+v", again, err, first)
	}
	if _, n := s.LastSMSCode(AlicePhone); n != 1 {
		s.t.Fatalf("%d SMS after a repeated key, want 1", n)
	}
	second, err := s.Core.SendSMSChallenge(s.ctx, g.Token, "k2")
	if err != nil || second.ID == first.ID {
		s.t.Fatalf("second challenge = %+v, %v", second, err)
	}
	if _, n := s.LastSMSCode(AlicePhone); n != 2 {
		s.t.Fatalf("%d SMS, want 2", n)
	}
	_, err = s.Core.VerifySMSChallenge(s.ctx, g.Token, first.ID, firstCode)
	WantErr(s.t, err, portal.ErrExpired) // replaced
}

func testSMSRate(s *suite) {
	a := s.alice()
	g := s.grant(a)
	for i := 0; i < 5; i++ {
		if _, err := s.Core.SendSMSChallenge(s.ctx, g.Token, fmt.Sprint("k", i)); err != nil {
			s.t.Fatalf("challenge %d: %v", i+1, err)
		}
		s.advance(50 * time.Second)
	}
	_, err := s.Core.SendSMSChallenge(s.ctx, g.Token, "k5")
	WantLocked(s.t, err, Start.Add(15*time.Minute))
	if le := new(portal.LockedError); !errors.As(err, &le) || !le.SMSLimit {
		s.t.Fatalf("error %#v, want the SMS limit marked", err)
	}
	if _, n := s.LastSMSCode(AlicePhone); n != 5 {
		s.t.Fatalf("%d SMS, want 5", n)
	}
	s.SetNow(Start.Add(15 * time.Minute))
	if _, err := s.Core.SendSMSChallenge(s.ctx, s.grant(a).Token, "k6"); err != nil {
		s.t.Fatalf("after the window: %v", err)
	}
}

func testSMSWrongState(s *suite) {
	a := s.alice()
	b := s.bob(portal.MethodNone)
	_, err := s.Core.SendSMSChallenge(s.ctx, s.grant(b).Token, "k1")
	WantWrongState(s.t, err, portal.MethodNone)
	ch, err := s.Core.SendSMSChallenge(s.ctx, s.grant(a).Token, "k2")
	if err != nil {
		s.t.Fatal(err)
	}
	code, _ := s.LastSMSCode(AlicePhone)
	_, err = s.Core.VerifySMSChallenge(s.ctx, s.grant(b).Token, ch.ID, code)
	WantErr(s.t, err, portal.ErrBadGrant) // Alice's challenge with Bob's grant
}

func testDisable(s *suite) {
	a := s.alice()
	eg := s.elevated(a)
	if err := s.Core.Disable2FA(s.ctx, eg.Token, "d1"); err != nil {
		s.t.Fatal(err)
	}
	if m := s.method(a.ID); m != portal.MethodNone {
		s.t.Fatalf("method = %q, want none", m)
	}
	if err := s.Core.Disable2FA(s.ctx, eg.Token, "d1"); err != nil {
		s.t.Fatalf("repeated key: %v", err)
	}
	mails := s.mailsTo(AliceEmail)
	if len(mails) != 1 {
		s.t.Fatalf("%d e-mails, want 1 alert", len(mails))
	}
	m := mails[0]
	if m.ID == "" || !strings.Contains(strings.ToLower(m.Subject), "two-factor authentication was disabled") ||
		!strings.Contains(m.Text, "2FA was disabled on your account") || !strings.Contains(m.Text, "UTC") ||
		strings.Contains(m.Text, Password) {
		s.t.Fatalf("alert = %+v", m)
	}
	err := s.Core.Disable2FA(s.ctx, eg.Token, "d2")
	WantWrongState(s.t, err, portal.MethodNone)
	if n := len(s.mailsTo(AliceEmail)); n != 1 {
		s.t.Fatalf("%d e-mails, want 1", n)
	}
}

func testDisableNeedsElevation(s *suite) {
	a := s.alice()
	WantErr(s.t, s.Core.Disable2FA(s.ctx, s.grant(a).Token, "d1"), portal.ErrNeedElevation)
	if m := s.method(a.ID); m != portal.MethodSMS || len(s.Mails()) != 0 {
		s.t.Fatalf("method %q, %d e-mails after a refused disable", m, len(s.Mails()))
	}
}

func testIdempotencyMismatch(s *suite) {
	a := s.alice()
	b := s.bob(portal.MethodSMS)
	ea, eb := s.elevated(a), s.elevated(b)
	if err := s.Core.Disable2FA(s.ctx, ea.Token, "shared"); err != nil {
		s.t.Fatal(err)
	}
	WantErr(s.t, s.Core.Disable2FA(s.ctx, eb.Token, "shared"), portal.ErrIdempotencyMismatch)
	_, err := s.Core.BeginTOTPEnrollment(s.ctx, ea.Token, "shared")
	WantErr(s.t, err, portal.ErrIdempotencyMismatch)
	_, err = s.Core.SendSMSChallenge(s.ctx, eb.Token, "shared")
	WantErr(s.t, err, portal.ErrIdempotencyMismatch)
	if m := s.method(b.ID); m != portal.MethodSMS {
		s.t.Fatalf("Bob's method = %q, want sms", m)
	}
}

func testBegin(s *suite) {
	a := s.alice()
	eg := s.elevated(a)
	e, err := s.Core.BeginTOTPEnrollment(s.ctx, eg.Token, "b1")
	if err != nil {
		s.t.Fatal(err)
	}
	if e.ID == "" || e.AccountID != a.ID || e.Label != AliceEmail || e.Issuer == "" ||
		e.AttemptsLeft != 5 || !e.ExpiresAt.Equal(Start.Add(10*time.Minute)) {
		s.t.Fatalf("enrollment = %+v", e)
	}
	k, err := otp.NewKeyFromURL(e.URI)
	if err != nil {
		s.t.Fatal(err)
	}
	if k.Type() != "totp" || k.Issuer() != e.Issuer || k.AccountName() != e.Label || k.Secret() != e.Secret ||
		k.Algorithm() != otp.AlgorithmSHA1 || k.Digits() != otp.DigitsSix || k.Period() != 30 {
		s.t.Fatalf("URI %s does not carry the enrollment", e.URI)
	}
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(e.Secret)
	if err != nil || len(raw) < 20 {
		s.t.Fatalf("secret: %d bytes, %v; want at least 20", len(raw), err)
	}
	if st := s.state(e.ID); st != portal.EnrollmentPending {
		s.t.Fatalf("state = %q", st)
	}
	s.advance(time.Minute)
	again, err := s.Core.BeginTOTPEnrollment(s.ctx, eg.Token, "b1")
	e.ExpiresAt, again.ExpiresAt = norm(e.ExpiresAt), norm(again.ExpiresAt)
	if err != nil || again != e {
		s.t.Fatalf("repeated key = %+v, %v; want %+v", again, err, e)
	}
}

func testBeginNeedsElevation(s *suite) {
	a := s.alice()
	_, err := s.Core.BeginTOTPEnrollment(s.ctx, s.grant(a).Token, "b1")
	WantErr(s.t, err, portal.ErrNeedElevation)
	b := s.bob(portal.MethodNone)
	if _, err := s.Core.BeginTOTPEnrollment(s.ctx, s.grant(b).Token, "b2"); err != nil {
		s.t.Fatalf("password grant without 2FA: %v", err)
	}
}

func testBeginReplaces(s *suite) {
	a := s.alice()
	eg := s.elevated(a)
	old, err := s.Core.BeginTOTPEnrollment(s.ctx, eg.Token, "b1")
	if err != nil {
		s.t.Fatal(err)
	}
	e, err := s.Core.BeginTOTPEnrollment(s.ctx, eg.Token, "b2")
	if err != nil || e.ID == old.ID || e.Secret == old.Secret {
		s.t.Fatalf("second enrollment = %+v, %v", e, err)
	}
	if st := s.state(old.ID); st != portal.EnrollmentVoid {
		s.t.Fatalf("replaced enrollment is %q, want void", st)
	}
	err = s.Core.ConfirmTOTPEnrollment(s.ctx, old.ID, Code(s.t, old.Secret, s.Now()), "c1")
	WantErr(s.t, err, portal.ErrExpired)
	if err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, s.Now()), "c2"); err != nil {
		s.t.Fatal(err)
	}
	_, err = s.Core.BeginTOTPEnrollment(s.ctx, eg.Token, "b3")
	WantErr(s.t, err, portal.ErrBadGrant) // the activation voided it
	_, err = s.Core.BeginTOTPEnrollment(s.ctx, s.grant(a).Token, "b4")
	WantWrongState(s.t, err, portal.MethodTOTP)
}

// testOpenSwitchNeedsElevation: while the SMS factor is off for a switch
// under way, the password alone (an attacker's, from another chat) cannot
// begin an enrollment and so cannot void the holder's pending QR code or
// bind an authenticator; the holder's elevated grant can.
func testOpenSwitchNeedsElevation(s *suite) {
	a := s.alice()
	eg := s.elevated(a)
	if err := s.Core.Disable2FA(s.ctx, eg.Token, "d1"); err != nil {
		s.t.Fatal(err)
	}
	mine, err := s.Core.BeginTOTPEnrollment(s.ctx, eg.Token, "b1")
	if err != nil {
		s.t.Fatal(err)
	}
	_, err = s.Core.BeginTOTPEnrollment(s.ctx, s.grant(a).Token, "attacker")
	WantErr(s.t, err, portal.ErrNeedElevation)
	if st := s.state(mine.ID); st != portal.EnrollmentPending {
		s.t.Fatalf("the holder's enrollment is %q after the refused begin, want pending", st)
	}
	if err := s.Core.RestoreFactor(s.ctx, "d1", "r1"); err != nil {
		s.t.Fatal(err)
	}
	if m := s.method(a.ID); m != portal.MethodSMS {
		s.t.Fatalf("method after restore = %q, want sms", m)
	}
	// Restored: the grants of the abandoned switch are void.
	_, err = s.Core.BeginTOTPEnrollment(s.ctx, eg.Token, "b2")
	WantErr(s.t, err, portal.ErrBadGrant)
	// (An account that simply has no second factor needs only the
	// password: testBeginNeedsElevation.)
}

// testReauthenticate: the KB's "password again" renews a lapsed elevated
// grant at its level for 5 minutes, never past 20 minutes after the SMS
// code; a renewal whose answer was lost can be asked again; a wrong
// password counts like VerifyPassword's.
func testReauthenticate(s *suite) {
	a := s.alice()
	eg := s.elevated(a)
	proved := s.Now()
	if err := s.Core.Disable2FA(s.ctx, eg.Token, "d1"); err != nil {
		s.t.Fatal(err)
	}
	s.SetNow(eg.ExpiresAt.Add(time.Minute))
	_, err := s.Core.BeginTOTPEnrollment(s.ctx, eg.Token, "b1")
	WantErr(s.t, err, portal.ErrExpired)
	_, err = s.Core.Reauthenticate(s.ctx, eg.Token, Password+"x")
	WantErr(s.t, err, portal.ErrBadPassword)
	g, err := s.Core.Reauthenticate(s.ctx, eg.Token, Password)
	if err != nil {
		s.t.Fatal(err)
	}
	if g.AccountID != a.ID || g.Level != portal.LevelElevated || !g.ExpiresAt.Equal(s.Now().Add(5*time.Minute)) || g.Token == eg.Token {
		s.t.Fatalf("renewed grant %+v, want elevated for %s until now+5m", g, a.ID)
	}
	// The answer was lost: the same call again works.
	if again, err := s.Core.Reauthenticate(s.ctx, eg.Token, Password); err != nil || again.Token == g.Token || again.Level != portal.LevelElevated {
		s.t.Fatalf("repeated renewal %+v, %v", again, err)
	}
	if _, err := s.Core.BeginTOTPEnrollment(s.ctx, g.Token, "b2"); err != nil {
		s.t.Fatalf("begin with the renewed grant: %v", err)
	}
	// Renewing a renewal never stretches the SMS proof past 20 minutes.
	s.SetNow(proved.Add(19 * time.Minute))
	last, err := s.Core.Reauthenticate(s.ctx, g.Token, Password)
	if err != nil || !last.ExpiresAt.Equal(proved.Add(20*time.Minute)) {
		s.t.Fatalf("renewal at 19 minutes %+v, %v; want it to end 20 minutes after the SMS code", last, err)
	}
	s.SetNow(proved.Add(20 * time.Minute))
	_, err = s.Core.Reauthenticate(s.ctx, last.Token, Password)
	WantErr(s.t, err, portal.ErrExpired)
	err = s.Core.Disable2FA(s.ctx, last.Token, "d2")
	WantErr(s.t, err, portal.ErrExpired)

	// A password grant renews as a password grant.
	pg := s.grant(a)
	rg, err := s.Core.Reauthenticate(s.ctx, pg.Token, Password)
	if err != nil || rg.Level != portal.LevelPassword {
		s.t.Fatalf("renewed password grant %+v, %v", rg, err)
	}
	_, err = s.Core.Reauthenticate(s.ctx, "no-such-token", Password)
	WantErr(s.t, err, portal.ErrBadGrant)
}

func testConfirm(s *suite) {
	a := s.alice()
	e := s.enroll(a)
	err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, WrongCode(s.t, e.Secret, s.Now()), "c1")
	WantBadCode(s.t, err, 4)
	err = s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, "12a456", "c1")
	WantErr(s.t, err, portal.ErrCodeFormat)
	err = s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, WrongCode(s.t, e.Secret, s.Now()), "c1")
	WantBadCode(s.t, err, 3) // the malformed code counted nothing
	if err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, s.Now()), "c1"); err != nil {
		s.t.Fatal(err)
	}
	if m, st := s.method(a.ID), s.state(e.ID); m != portal.MethodTOTP || st != portal.EnrollmentConfirmed {
		s.t.Fatalf("method %q, enrollment %q; want totp, confirmed", m, st)
	}
	if err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, "not a code", "c1"); err != nil {
		s.t.Fatalf("repeated key: %v", err)
	}
	mails := s.mailsTo(AliceEmail)
	if len(mails) != 1 || !strings.Contains(mails[0].Text, "TOTP") || strings.Contains(mails[0].Text, e.Secret) {
		s.t.Fatalf("e-mails = %+v, want 1 confirmation without the secret", mails)
	}
	err = s.Core.ConfirmTOTPEnrollment(s.ctx, "no-such-enrollment", "123456", "c2")
	WantErr(s.t, err, portal.ErrNotFound)
}

func testConfirmFiveWrong(s *suite) {
	a := s.alice()
	e := s.enroll(a)
	for left := 4; left > 0; left-- {
		err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, WrongCode(s.t, e.Secret, s.Now()), "c1")
		WantBadCode(s.t, err, left)
	}
	err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, WrongCode(s.t, e.Secret, s.Now()), "c1")
	WantErr(s.t, err, portal.ErrExpired)
	if st := s.state(e.ID); st != portal.EnrollmentVoid {
		s.t.Fatalf("state = %q, want void", st)
	}
	err = s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, s.Now()), "c1")
	WantErr(s.t, err, portal.ErrExpired)
	if m := s.method(a.ID); m != portal.MethodSMS {
		s.t.Fatalf("method = %q, want sms", m)
	}
}

func testConfirmExpiry(s *suite) {
	a := s.alice()
	e := s.enroll(a)
	s.SetNow(e.ExpiresAt.Add(-time.Second))
	if st := s.state(e.ID); st != portal.EnrollmentPending {
		s.t.Fatalf("state before expiry = %q", st)
	}
	s.SetNow(e.ExpiresAt)
	if st := s.state(e.ID); st != portal.EnrollmentVoid {
		s.t.Fatalf("state at expiry = %q, want void", st)
	}
	err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, s.Now()), "c1")
	WantErr(s.t, err, portal.ErrExpired)
}

func testConfirmWindow(s *suite) {
	a := s.alice()
	e := s.enroll(a)
	now := s.Now()
	for i, d := range []time.Duration{-60 * time.Second, 60 * time.Second} {
		err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, now.Add(d)), "c1")
		WantBadCode(s.t, err, 4-i)
	}
	if err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, now.Add(-30*time.Second)), "c1"); err != nil {
		s.t.Fatalf("code of the previous step: %v", err)
	}
}

func testConfirmUnicode(s *suite) {
	a := s.alice()
	e := s.enroll(a)
	var wide strings.Builder
	for _, r := range Code(s.t, e.Secret, s.Now()) {
		wide.WriteRune(r - '0' + '０')
	}
	if err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, wide.String(), "c1"); err != nil {
		s.t.Fatalf("full-width code %q: %v", wide.String(), err)
	}
}

func testConfirmConcurrent(s *suite) {
	a := s.alice()
	e := s.enroll(a)
	code := Code(s.t, e.Secret, s.Now())
	errs := make([]error, 50)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, code, fmt.Sprint("c", i)) })
	}
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		}
	}
	if ok != 1 || len(s.mailsTo(AliceEmail)) != 1 {
		s.t.Fatalf("%d successes and %d e-mails, want 1 and 1", ok, len(s.mailsTo(AliceEmail)))
	}
}

func testConfirmConcurrentSameKey(s *suite) {
	a := s.alice()
	e := s.enroll(a)
	code := Code(s.t, e.Secret, s.Now())
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, code, "c1"); err != nil {
				s.t.Errorf("same key: %v", err)
			}
		})
	}
	wg.Wait()
	if n := len(s.mailsTo(AliceEmail)); n != 1 {
		s.t.Fatalf("%d e-mails, want 1", n)
	}
}

func testCancel(s *suite) {
	a := s.alice()
	e := s.enroll(a)
	if err := s.Core.CancelTOTPEnrollment(s.ctx, e.ID); err != nil {
		s.t.Fatal(err)
	}
	if st := s.state(e.ID); st != portal.EnrollmentVoid {
		s.t.Fatalf("state = %q, want void", st)
	}
	err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, s.Now()), "c1")
	WantErr(s.t, err, portal.ErrExpired)
	if err := s.Core.CancelTOTPEnrollment(s.ctx, e.ID); err != nil {
		s.t.Fatalf("second cancel: %v", err)
	}
	WantErr(s.t, s.Core.CancelTOTPEnrollment(s.ctx, "no-such-enrollment"), portal.ErrNotFound)
	_, err = s.Core.EnrollmentState(s.ctx, "no-such-enrollment")
	WantErr(s.t, err, portal.ErrNotFound)
}

// testKBFlow follows the knowledge-base order: disable SMS 2FA, then set
// up the authenticator app with the same fresh grant.
func testKBFlow(s *suite) {
	a := s.alice()
	eg := s.elevated(a)
	if err := s.Core.Disable2FA(s.ctx, eg.Token, "d1"); err != nil {
		s.t.Fatal(err)
	}
	e, err := s.Core.BeginTOTPEnrollment(s.ctx, eg.Token, "b1")
	if err != nil {
		s.t.Fatal(err)
	}
	s.advance(40 * time.Second)
	if err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, s.Now()), "c1"); err != nil {
		s.t.Fatal(err)
	}
	if m := s.method(a.ID); m != portal.MethodTOTP {
		s.t.Fatalf("method = %q", m)
	}
	if n := len(s.mailsTo(AliceEmail)); n != 2 {
		s.t.Fatalf("%d e-mails, want alert + confirmation", n)
	}
	// The activation voided the grant elevated by the SMS code: it cannot
	// disable the app it just helped to bind, nor be renewed.
	err = s.Core.Disable2FA(s.ctx, eg.Token, "d2")
	WantErr(s.t, err, portal.ErrBadGrant)
	if m := s.method(a.ID); m != portal.MethodTOTP {
		s.t.Fatalf("method = %q, want totp", m)
	}
	_, err = s.Core.Reauthenticate(s.ctx, eg.Token, Password)
	WantErr(s.t, err, portal.ErrBadGrant)
}

// testSafeSwap binds TOTP without disabling SMS first: the method goes
// from sms to totp in one step.
func testSafeSwap(s *suite) {
	a := s.alice()
	e := s.enroll(a)
	if err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, s.Now()), "c1"); err != nil {
		s.t.Fatal(err)
	}
	if m := s.method(a.ID); m != portal.MethodTOTP {
		s.t.Fatalf("method = %q", m)
	}
	if n := len(s.mailsTo(AliceEmail)); n != 1 {
		s.t.Fatalf("%d e-mails, want 1 confirmation", n)
	}
}
