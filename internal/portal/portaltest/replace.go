package portaltest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"guidedfix/internal/portal"
)

// The conformance tests of the operations that move an authenticator app
// to a new phone: ElevateWithTOTP, ElevateWithRecoveryCode,
// BeginTOTPReplacement and ConfirmTOTPReplacement.

// totpAlice makes Alice's account use TOTP (enrolled from SMS and
// confirmed) with n recovery codes (none for 0), moves the clock one time
// step on and returns the account, the active secret and the codes.
func (s *suite) totpAlice(n int) (portal.Account, string, []string) {
	s.t.Helper()
	a := s.alice()
	e := s.enroll(a)
	if err := s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, s.Now()), "confirm-"+a.ID); err != nil {
		s.t.Fatalf("ConfirmTOTPEnrollment: %v", err)
	}
	var codes []string
	if n > 0 {
		var err error
		if codes, err = s.Core.IssueRecoveryCodes(s.ctx, e.ID, n); err != nil {
			s.t.Fatalf("IssueRecoveryCodes: %v", err)
		}
	}
	s.advance(30 * time.Second)
	return a, e.Secret, codes
}

// totpElevated returns an elevated grant of a TOTP account whose active
// secret is secret, proved with the code of the current step.
func (s *suite) totpElevated(a portal.Account, secret string) portal.Grant {
	s.t.Helper()
	g, err := s.Core.ElevateWithTOTP(s.ctx, s.grant(a).Token, Code(s.t, secret, s.Now()))
	if err != nil {
		s.t.Fatalf("ElevateWithTOTP: %v", err)
	}
	return g
}

func (s *suite) recoveryLeft(id string) int {
	s.t.Helper()
	st, err := s.Core.SecurityStatus(s.ctx, id)
	if err != nil {
		s.t.Fatalf("SecurityStatus: %v", err)
	}
	return st.RecoveryCodes
}

func testElevateWithTOTP(s *suite) {
	a, secret, _ := s.totpAlice(0)
	g := s.grant(a)
	_, err := s.Core.ElevateWithTOTP(s.ctx, g.Token, WrongCode(s.t, secret, s.Now()))
	WantBadCode(s.t, err, 4)
	_, err = s.Core.ElevateWithTOTP(s.ctx, g.Token, "12a456")
	WantErr(s.t, err, portal.ErrCodeFormat)
	code := Code(s.t, secret, s.Now())
	eg, err := s.Core.ElevateWithTOTP(s.ctx, g.Token, code)
	if err != nil {
		s.t.Fatal(err)
	}
	if eg.Token != g.Token || eg.Level != portal.LevelElevated || eg.AccountID != a.ID || !norm(eg.ExpiresAt).Equal(s.Now().Add(10*time.Minute)) {
		s.t.Fatalf("grant = %+v, want the same token elevated until %v", eg, s.Now().Add(10*time.Minute))
	}
	// The step is spent: the same code elevates no other grant.
	_, err = s.Core.ElevateWithTOTP(s.ctx, s.grant(a).Token, code)
	WantErr(s.t, err, portal.ErrCodeReplayed)
	// An SMS account has no authenticator to prove.
	b := s.bob(portal.MethodSMS)
	_, err = s.Core.ElevateWithTOTP(s.ctx, s.grant(b).Token, code)
	WantWrongState(s.t, err, portal.MethodSMS)
	_, err = s.Core.ElevateWithTOTP(s.ctx, "no-such-grant", code)
	WantErr(s.t, err, portal.ErrBadGrant)
	g2 := s.grant(a)
	s.advance(5 * time.Minute)
	_, err = s.Core.ElevateWithTOTP(s.ctx, g2.Token, Code(s.t, secret, s.Now()))
	WantErr(s.t, err, portal.ErrExpired)
}

func testElevateWithTOTPLock(s *suite) {
	a, secret, _ := s.totpAlice(0)
	g := s.grant(a)
	for left := 4; left > 0; left-- {
		_, err := s.Core.ElevateWithTOTP(s.ctx, g.Token, WrongCode(s.t, secret, s.Now()))
		WantBadCode(s.t, err, left)
	}
	_, err := s.Core.ElevateWithTOTP(s.ctx, g.Token, WrongCode(s.t, secret, s.Now()))
	if !errors.Is(err, portal.ErrLocked) {
		s.t.Fatalf("fifth wrong code: %v, want locked", err)
	}
	// Locked: even the right code is refused and the grant stays a
	// password grant.
	_, err = s.Core.ElevateWithTOTP(s.ctx, g.Token, Code(s.t, secret, s.Now()))
	if !errors.Is(err, portal.ErrLocked) {
		s.t.Fatalf("right code while locked: %v, want locked", err)
	}
	_, err = s.Core.BeginTOTPReplacement(s.ctx, g.Token, "replace-1")
	WantErr(s.t, err, portal.ErrNeedElevation)
}

func testElevateWithRecoveryCode(s *suite) {
	a, _, codes := s.totpAlice(2)
	if n := s.recoveryLeft(a.ID); n != 2 {
		s.t.Fatalf("recovery codes = %d, want 2", n)
	}
	mails := len(s.mailsTo(AliceEmail))
	g := s.grant(a)
	_, err := s.Core.ElevateWithRecoveryCode(s.ctx, g.Token, "AAAAA-AAAAA-AAAAA", "rc-1")
	WantBadCode(s.t, err, 4)
	_, err = s.Core.ElevateWithRecoveryCode(s.ctx, g.Token, "not a code", "rc-2")
	WantErr(s.t, err, portal.ErrCodeFormat)
	el, err := s.Core.ElevateWithRecoveryCode(s.ctx, g.Token, strings.ToLower(codes[0]), "rc-3")
	if err != nil {
		s.t.Fatal(err)
	}
	if el.Grant.Token != g.Token || el.Grant.Level != portal.LevelElevated || len(el.Codes) != 10 {
		s.t.Fatalf("elevation = %+v with %d codes, want the same token elevated and 10 codes", el.Grant, len(el.Codes))
	}
	if slices.Contains(el.Codes, codes[1]) {
		s.t.Fatal("the new set holds an old code")
	}
	if n := s.recoveryLeft(a.ID); n != 10 {
		s.t.Fatalf("recovery codes after the use = %d, want 10 (the set replaced)", n)
	}
	got := s.mailsTo(AliceEmail)
	if len(got) != mails+1 || strings.Contains(got[len(got)-1].Text, codes[0]) || strings.Contains(got[len(got)-1].Text, el.Codes[0]) {
		s.t.Fatalf("e-mails %d (want %d), the last must name no code", len(got), mails+1)
	}
	// The repeated key answers again with a fresh set replacing the first
	// answer's, and e-mails nothing more.
	again, err := s.Core.ElevateWithRecoveryCode(s.ctx, g.Token, codes[0], "rc-3")
	if err != nil {
		s.t.Fatalf("repeated key: %v", err)
	}
	if again.Grant.Token != g.Token || len(again.Codes) != 10 || slices.Contains(again.Codes, el.Codes[0]) {
		s.t.Fatalf("repeated key: %+v, want the same grant with 10 fresh codes", again)
	}
	if n := len(s.mailsTo(AliceEmail)); n != mails+1 {
		s.t.Fatalf("repeated key sent e-mail: %d, want %d", n, mails+1)
	}
	// Spent and replaced codes no longer work; a code of the last set does.
	for i, c := range []string{codes[0], codes[1], el.Codes[0]} {
		_, err := s.Core.ElevateWithRecoveryCode(s.ctx, s.grant(a).Token, c, fmt.Sprint("rc-old-", i))
		var bc *portal.BadCodeError
		if !errors.As(err, &bc) {
			s.t.Fatalf("old code %d: %v, want bad code", i, err)
		}
	}
	if _, err := s.Core.ElevateWithRecoveryCode(s.ctx, s.grant(a).Token, again.Codes[3], "rc-4"); err != nil {
		s.t.Fatalf("a code of the last set: %v", err)
	}
	b := s.bob(portal.MethodSMS)
	_, err = s.Core.ElevateWithRecoveryCode(s.ctx, s.grant(b).Token, codes[0], "rc-bob")
	WantWrongState(s.t, err, portal.MethodSMS)
}

func testElevateWithRecoveryCodeLock(s *suite) {
	a, _, codes := s.totpAlice(1)
	g := s.grant(a)
	for left := 4; left > 0; left-- {
		_, err := s.Core.ElevateWithRecoveryCode(s.ctx, g.Token, "AAAAA-AAAAA-AAAAA", fmt.Sprint("rc-", left))
		WantBadCode(s.t, err, left)
	}
	_, err := s.Core.ElevateWithRecoveryCode(s.ctx, g.Token, "AAAAA-AAAAA-AAAAA", "rc-0")
	if !errors.Is(err, portal.ErrLocked) {
		s.t.Fatalf("fifth wrong code: %v, want locked", err)
	}
	_, err = s.Core.ElevateWithRecoveryCode(s.ctx, g.Token, codes[0], "rc-right")
	if !errors.Is(err, portal.ErrLocked) {
		s.t.Fatalf("right code while locked: %v, want locked", err)
	}
	if n := s.recoveryLeft(a.ID); n != 1 {
		s.t.Fatalf("recovery codes = %d, want 1 (nothing spent while locked)", n)
	}
}

func testTOTPReplacement(s *suite) {
	a, oldSecret, _ := s.totpAlice(0)
	_, err := s.Core.BeginTOTPReplacement(s.ctx, s.grant(a).Token, "replace-pw")
	WantErr(s.t, err, portal.ErrNeedElevation)
	b := s.bob(portal.MethodSMS)
	_, err = s.Core.BeginTOTPReplacement(s.ctx, s.elevated(b).Token, "replace-bob")
	WantWrongState(s.t, err, portal.MethodSMS)

	g := s.totpElevated(a, oldSecret)
	e, err := s.Core.BeginTOTPReplacement(s.ctx, g.Token, "replace-1")
	if err != nil {
		s.t.Fatal(err)
	}
	if e.Secret == "" || e.Secret == oldSecret || e.AttemptsLeft != 5 || !strings.Contains(e.URI, "secret="+e.Secret) {
		s.t.Fatalf("replacement enrollment %+v", e)
	}
	same, err := s.Core.BeginTOTPReplacement(s.ctx, g.Token, "replace-1")
	if err != nil || same.ID != e.ID || same.Secret != e.Secret {
		s.t.Fatalf("repeated key: %v, %q; want the same enrollment", err, same.ID)
	}
	// Until the new app is verified the old one works and the method
	// stays totp.
	s.advance(30 * time.Second)
	s.totpElevated(a, oldSecret)
	if m := s.method(a.ID); m != portal.MethodTOTP {
		s.t.Fatalf("method during replacement = %q", m)
	}
	err = s.Core.ConfirmTOTPEnrollment(s.ctx, e.ID, Code(s.t, e.Secret, s.Now()), "confirm-wrong-op")
	WantWrongState(s.t, err, portal.MethodTOTP)
	err = s.Core.ConfirmTOTPReplacement(s.ctx, e.ID, WrongCode(s.t, e.Secret, s.Now()), "c1")
	WantBadCode(s.t, err, 4)
	err = s.Core.ConfirmTOTPReplacement(s.ctx, e.ID, "12a456", "c1")
	WantErr(s.t, err, portal.ErrCodeFormat)
	mails := len(s.mailsTo(AliceEmail))
	if err := s.Core.ConfirmTOTPReplacement(s.ctx, e.ID, Code(s.t, e.Secret, s.Now()), "c1"); err != nil {
		s.t.Fatal(err)
	}
	if m, st := s.method(a.ID), s.state(e.ID); m != portal.MethodTOTP || st != portal.EnrollmentConfirmed {
		s.t.Fatalf("method %q, enrollment %q; want totp, confirmed", m, st)
	}
	if err := s.Core.ConfirmTOTPReplacement(s.ctx, e.ID, "not a code", "c1"); err != nil {
		s.t.Fatalf("repeated key: %v", err)
	}
	got := s.mailsTo(AliceEmail)
	if len(got) != mails+1 || strings.Contains(got[len(got)-1].Text, e.Secret) {
		s.t.Fatalf("e-mails %d (want %d) without the secret", len(got), mails+1)
	}
	// The replacement voided every grant.
	_, err = s.Core.BeginTOTPReplacement(s.ctx, g.Token, "replace-2")
	WantErr(s.t, err, portal.ErrBadGrant)
	// The old app stops working only now; the new one works.
	s.advance(30 * time.Second)
	_, err = s.Core.ElevateWithTOTP(s.ctx, s.grant(a).Token, Code(s.t, oldSecret, s.Now()))
	WantBadCode(s.t, err, 4)
	s.totpElevated(a, e.Secret)
	err = s.Core.ConfirmTOTPReplacement(s.ctx, "no-such-enrollment", "123456", "c2")
	WantErr(s.t, err, portal.ErrNotFound)
}

func testTOTPReplacementAbandoned(s *suite) {
	a, oldSecret, _ := s.totpAlice(0)
	e, err := s.Core.BeginTOTPReplacement(s.ctx, s.totpElevated(a, oldSecret).Token, "replace-1")
	if err != nil {
		s.t.Fatal(err)
	}
	for left := 4; left > 0; left-- {
		err := s.Core.ConfirmTOTPReplacement(s.ctx, e.ID, WrongCode(s.t, e.Secret, s.Now()), "c1")
		WantBadCode(s.t, err, left)
		s.advance(time.Minute)
	}
	err = s.Core.ConfirmTOTPReplacement(s.ctx, e.ID, WrongCode(s.t, e.Secret, s.Now()), "c1")
	WantErr(s.t, err, portal.ErrExpired)
	if st, m := s.state(e.ID), s.method(a.ID); st != portal.EnrollmentVoid || m != portal.MethodTOTP {
		s.t.Fatalf("after 5 wrong codes: enrollment %q, method %q; want void, totp", st, m)
	}
	// Never without a factor: the old app still proves the holder.
	s.advance(16 * time.Minute)
	s.totpElevated(a, oldSecret)
	// An expired replacement is refused the same way.
	e2, err := s.Core.BeginTOTPReplacement(s.ctx, s.totpElevatedNext(a, oldSecret).Token, "replace-2")
	if err != nil {
		s.t.Fatal(err)
	}
	s.SetNow(e2.ExpiresAt)
	err = s.Core.ConfirmTOTPReplacement(s.ctx, e2.ID, Code(s.t, e2.Secret, s.Now()), "c2")
	WantErr(s.t, err, portal.ErrExpired)
	s.advance(30 * time.Second)
	s.totpElevated(a, oldSecret)
	// An ordinary enrollment cannot be confirmed as a replacement.
	bob := s.bob(portal.MethodSMS)
	be, err := s.Core.BeginTOTPEnrollment(s.ctx, s.elevated(bob).Token, "begin-bob")
	if err != nil {
		s.t.Fatal(err)
	}
	err = s.Core.ConfirmTOTPReplacement(s.ctx, be.ID, Code(s.t, be.Secret, s.Now()), "c3")
	WantWrongState(s.t, err, portal.MethodSMS)
}

// totpElevatedNext moves the clock one time step on and elevates with the
// code of that step.
func (s *suite) totpElevatedNext(a portal.Account, secret string) portal.Grant {
	s.t.Helper()
	s.advance(30 * time.Second)
	return s.totpElevated(a, secret)
}
