package embedded

import (
	"context"
	"errors"
	"slices"
	"testing"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portaltest"
)

func TestRestoreFactorUndoesDisableOnce(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	g, _ := e.elevated(t, a)
	if err := e.core.Disable2FA(ctx, g.Token, "dis-1"); err != nil {
		t.Fatal(err)
	}
	en, err := e.core.BeginTOTPEnrollment(ctx, g.Token, "begin-1")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if err := e.core.RestoreFactor(ctx, "dis-1", "restore-1"); err != nil {
			t.Fatalf("restore %d: %v", i, err)
		}
	}
	st, _ := e.core.SecurityStatus(ctx, a.ID)
	if st.Method != portal.MethodSMS {
		t.Fatalf("method after restore %q", st.Method)
	}
	if s := e.core.Stats(); s.Restores != 1 || s.RestoreMailsSent != 1 {
		t.Fatalf("stats %+v", s)
	}
	var subjects []string
	for _, m := range e.mail.Messages() {
		subjects = append(subjects, m.Subject)
	}
	want := []string{"Security alert: two-factor authentication was disabled", "Two-factor authentication by SMS was restored"}
	if !slices.Equal(subjects, want) {
		t.Fatalf("mails %q, want %q", subjects, want)
	}
	// The pending enrollment is void: its code no longer confirms.
	if state, _ := e.core.EnrollmentState(ctx, en.ID); state != portal.EnrollmentVoid {
		t.Fatalf("enrollment %q after restore", state)
	}
	// Another key cannot restore twice, and the account's log tells the story.
	if err := e.core.RestoreFactor(ctx, "dis-1", "restore-2"); !errors.Is(err, portal.ErrWrongState) {
		t.Fatalf("second restore with another key: %v", err)
	}
	log, err := e.core.AuditLog(ctx, a.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, l := range log {
		actions = append(actions, l.Action)
	}
	if !slices.Equal(actions, []string{"2fa_restored", "2fa_disabled"}) {
		t.Fatalf("audit %q", actions)
	}
}

func TestRestoreFactorRefusals(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if err := e.core.RestoreFactor(ctx, "no-such-key", "r"); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("unknown disable key: %v", err)
	}
	a := e.alice(t)
	g, _ := e.elevated(t, a)
	if err := e.core.Disable2FA(ctx, g.Token, "dis"); err != nil {
		t.Fatal(err)
	}
	en, err := e.core.BeginTOTPEnrollment(ctx, g.Token, "begin")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, portaltest.Code(t, en.Secret, e.clock.Now()), "confirm"); err != nil {
		t.Fatal(err)
	}
	var ws *portal.WrongStateError
	if err := e.core.RestoreFactor(ctx, "dis", "r"); !errors.As(err, &ws) || ws.Method != portal.MethodTOTP {
		t.Fatalf("restore after TOTP activation: %v", err)
	}
	// A key of another operation is not a disable record.
	if err := e.core.RestoreFactor(ctx, "begin", "r2"); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("restore with an enrollment key: %v", err)
	}
}

func TestResetAccountRevokesGrants(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	g, _ := e.elevated(t, a)
	if _, err := e.core.ResetAccount(ctx, NewAccount{Email: a.Email, Phone: a.Phone, Method: portal.MethodSMS, Password: "another-password"}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.core.BeginTOTPEnrollment(ctx, g.Token, "after-reset"); !errors.Is(err, portal.ErrBadGrant) {
		t.Fatalf("a grant from before the reset still works: %v", err)
	}
	if err := e.core.Disable2FA(ctx, g.Token, "after-reset-2"); !errors.Is(err, portal.ErrBadGrant) {
		t.Fatalf("disable with a revoked grant: %v", err)
	}
}

func TestSMSAttemptsLeftCountsAccountFailures(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	// Wrong SMS codes across two challenges: the fifth code failure locks.
	g := e.grant(t, a)
	var last error
	for round := 1; round <= 2; round++ {
		ch, err := e.core.SendSMSChallenge(ctx, g.Token, "sms-round-"+string(rune('0'+round)))
		if err != nil {
			t.Fatal(err)
		}
		code, _ := e.sms.LastCode(a.Phone)
		for i := 0; i < 3 && !errors.Is(last, portal.ErrLocked); i++ {
			_, last = e.core.VerifySMSChallenge(ctx, g.Token, ch.ID, flipDigit(code))
			if round == 2 && i == 0 {
				var bad *portal.BadCodeError
				// 4 failures so far: one more before the lock, whatever
				// the new challenge allows.
				if !errors.As(last, &bad) || bad.AttemptsLeft != 1 {
					t.Fatalf("4th failure: %v, want 1 attempt left", last)
				}
			}
		}
	}
	if !errors.Is(last, portal.ErrLocked) {
		t.Fatalf("5 code failures: %v, want locked", last)
	}
}

func TestPhoneIsNormalised(t *testing.T) {
	e := newEnv(t)
	a, err := e.core.AddAccount(context.Background(), NewAccount{Email: "ph@example.com", Phone: "+60 (12) 345-6789", Method: portal.MethodSMS, Password: "12345678"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Phone != "+60123456789" {
		t.Fatalf("phone %q", a.Phone)
	}
}

// flipDigit returns code with its last digit changed.
func flipDigit(code string) string {
	return code[:5] + string(rune('0'+(int(code[5]-'0')+1)%10))
}
