package main

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/portal/portaltest"
	"guidedfix/internal/support"
)

// addTOTPAccountAt creates an account with email in data directory dir
// (no process may have it open) and moves it from SMS to an authenticator
// app through the embedded core.
func addTOTPAccountAt(t *testing.T, dir, email string) {
	t.Helper()
	ctx := context.Background()
	sms := &portaltest.SMSRecorder{}
	core, err := embedded.Open(embedded.Options{Path: filepath.Join(dir, "portal.db"), KeyFile: filepath.Join(dir, "portal.key"),
		Mail: &portaltest.MailRecorder{}, SMS: sms})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	const pw = "correct horse battery"
	acc, err := core.AddAccount(ctx, embedded.NewAccount{Email: email, Phone: "+60123456780", Method: portal.MethodSMS, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	g, err := core.VerifyPassword(ctx, acc.ID, pw)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := core.SendSMSChallenge(ctx, g.Token, "setup-sms-"+email)
	if err != nil {
		t.Fatal(err)
	}
	code, _ := sms.LastCode("+60123456780")
	if _, err := core.VerifySMSChallenge(ctx, g.Token, ch.ID, code); err != nil {
		t.Fatal(err)
	}
	en, err := core.BeginTOTPEnrollment(ctx, g.Token, "setup-begin-"+email)
	if err != nil {
		t.Fatal(err)
	}
	tc, err := totp.GenerateCode(en.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := core.ConfirmTOTPEnrollment(ctx, en.ID, tc, "setup-confirm-"+email); err != nil {
		t.Fatal(err)
	}
}

// TestHandoffCLIRefusesWrongMethod (fixcore item 4): `guidedfix handoff
// --flow newphone` for an SMS account, and the default flow for an
// authenticator-app account, fail with support.ErrWrongMethod and print no
// link; the audit log of each account holds only the refusal.
func TestHandoffCLIRefusesWrongMethod(t *testing.T) {
	t.Setenv("GUIDEDFIX_TELEGRAM__BOT_USERNAME", "portal_bot")
	dir := t.TempDir()
	a, err := openApp(context.Background(), &globalFlags{dataDir: dir}, openOptions{logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.core.AddAccount(context.Background(), embedded.NewAccount{Email: "sms@example.com", Phone: "+60123456789",
		Method: portal.MethodSMS, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	addTOTPAccountAt(t, dir, "app@example.com")
	for _, args := range [][]string{
		{"--flow", "newphone", "sms@example.com"},
		{"app@example.com"},
		{"--flow", "2fa", "app@example.com"},
	} {
		out, err := runCLI(t, "", append([]string{"--data-dir", dir, "handoff"}, args...)...)
		if !errors.Is(err, support.ErrWrongMethod) || out != "" {
			t.Errorf("handoff %q: %q, %v; want ErrWrongMethod and no output", args, out, err)
		}
	}
	a, err = openApp(context.Background(), &globalFlags{dataDir: dir}, openOptions{logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	for email, want := range map[string]int{"sms@example.com": 1, "app@example.com": 2} {
		entries, err := a.desk.AuditFor(context.Background(), email, 10)
		refused := 0
		for _, e := range entries {
			if e.Action == "handoff_created" && len(e.Outcome) >= 8 && e.Outcome[:8] == "refused:" {
				refused++
			} else if e.Action == "handoff_created" {
				t.Errorf("%s: hand-off created: %+v", email, e)
			}
		}
		if err != nil || refused != want {
			t.Errorf("%s: %d refusals (%v), want %d", email, refused, err, want)
		}
	}
}
