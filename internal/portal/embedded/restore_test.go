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
