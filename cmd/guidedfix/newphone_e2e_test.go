package main

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"guidedfix/flows/newphone"
	"guidedfix/internal/portal"
)

// TestNewPhoneRecoveryCodeEndToEnd is the lost-phone story in Telegram
// (the fake Bot API driven through the real go-telegram/bot client, the
// real core, store and engine of `guidedfix serve`, mail over real SMTP):
// Zoe, whose account uses an authenticator app and who lost the phone,
// opens t.me/<bot>?start=newphone, proves her password and a recovery
// code, saves the recovery codes that replace her set, scans the new QR
// code and verifies the new app. The old app's secret stops working only
// then; she gets the e-mails; no secret reaches the log.
func TestNewPhoneRecoveryCodeEndToEnd(t *testing.T) {
	e := newE2E(t)
	ctx := context.Background()
	oldSecret, codes, acc := zoeOnTOTP(t, e, nil)
	mailsBefore := len(e.smtp.messages())

	// /start runs the SMS → authenticator flow, which finds the app
	// already in use and points to the new-phone flow.
	e.text("/start")
	e.botSaid("Which e-mail address")
	e.text(zoe)
	e.botSaid("password")
	e.text(zoePassword)
	e.botSaid("Moving to a new phone? Send /newphone")

	// The flow's own command is registered with setMyCommands, with the
	// flow's description, and starts it.
	var registered []struct{ Command, Description string }
	for _, c := range e.tg.Calls("setMyCommands") {
		if err := json.Unmarshal([]byte(c.Fields["commands"]), &registered); err != nil {
			t.Fatal(err)
		}
	}
	names := ""
	for _, c := range registered {
		names += c.Command + " "
	}
	if names != "start 2fa newphone cancel help language " { // the last call: the Malay list
		t.Fatalf("setMyCommands registered %q", names)
	}
	e.text("/newphone")
	e.botSaid("move the authenticator app")
	e.botSaid("Which e-mail address")
	e.text(zoe)
	e.botSaid("type the password")
	e.text(zoePassword)
	e.botSaid("Do you still have the phone")
	e.press("lost_old")
	e.botSaid("type one of your recovery codes (you have 3 unused)")
	e.text("AAAAA-AAAAA-AAAAA")
	e.botSaid("not right or was already used")
	e.text(codes[2])
	shown := e.botSaid("These are your new recovery codes")
	if shown.Fields["protect_content"] != "true" {
		t.Fatalf("new recovery codes sent without protect_content: %v", shown.Fields)
	}
	var fresh []string
	for _, line := range strings.Split(shown.Fields["text"], "\n") {
		if len(line) == 17 && strings.Count(line, "-") == 2 {
			fresh = append(fresh, line)
		}
	}
	e.secrets = append(e.secrets, fresh...)
	if len(fresh) != 10 {
		t.Fatalf("%d new recovery codes shown, want 10", len(fresh))
	}
	e.press("saved")
	photo := e.botSaid("scan this QR code")
	if photo.Fields["protect_content"] != "true" {
		t.Fatalf("QR code sent without protect_content")
	}
	key := e.keyFromQR(photo.Files["photo"].Data)
	if key.Secret() == oldSecret || key.AccountName() != zoe {
		t.Fatalf("new key for %q (must be a new secret)", key.AccountName())
	}
	e.botSaid("When the new app shows a 6-digit code")
	e.text(e.totpCode(key))
	e.botSaid("Your authenticator app is now on your new phone")

	// The old app stopped working, the new one works; the recovery codes
	// were replaced; Zoe was told by e-mail (the recovery-code use and
	// the move), with no code or secret in them.
	e.stop()
	b, err := openApp(ctx, e.g(), openOptions{logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	st, err := b.core.SecurityStatus(ctx, acc.ID)
	if err != nil || st.Method != portal.MethodTOTP || st.RecoveryCodes != 10 {
		t.Fatalf("status %+v, %v; want totp with 10 recovery codes", st, err)
	}
	oldCode, err := totp.GenerateCode(oldSecret, time.Now().Add(30*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	var bad *portal.BadCodeError
	if err := b.core.VerifyTOTP(ctx, acc.ID, oldCode); !errors.As(err, &bad) {
		t.Fatalf("old app after the move: %v, want a wrong code", err)
	}
	entries, err := b.core.AuditLog(ctx, acc.ID, 50)
	if err != nil {
		t.Fatal(err)
	}
	actions := ""
	for _, en := range entries {
		actions += en.Action + " "
	}
	for _, want := range []string{"recovery_code_used", "recovery_codes_replaced", "totp_replacement_begun", "totp_replaced"} {
		if !strings.Contains(actions, want) {
			t.Fatalf("audit %q lacks %s", actions, want)
		}
	}
	var subjects []string
	e.eventually("the two e-mails", func() bool { return len(e.smtp.messages()) >= mailsBefore+2 })
	for _, m := range e.smtp.messages()[mailsBefore:] {
		subjects = append(subjects, m.Subject)
		for _, s := range e.secrets {
			if len(s) >= 6 && strings.Contains(m.Text, s) {
				t.Fatalf("e-mail %q holds a secret", m.Subject)
			}
		}
	}
	if got := strings.Join(subjects, " | "); !strings.Contains(got, "recovery codes were replaced") || !strings.Contains(got, "moved to a new device") {
		t.Fatalf("e-mails %q", got)
	}
	logText := e.log.String()
	for _, s := range e.secrets {
		if len(s) >= 6 && strings.Contains(logText, s) {
			t.Fatalf("the log holds a secret (%d bytes)", len(s))
		}
	}
}

// zoeOnTOTP stops e's server, moves Zoe's account to an authenticator app
// with 3 recovery codes through the core (one process owns the data
// directory), runs also (if set) on the stopped app, and starts the
// server again. It returns the app's secret, the codes and the account.
func zoeOnTOTP(t *testing.T, e *e2e, also func(a *app)) (string, []string, portal.Account) {
	t.Helper()
	e.stop()
	ctx := context.Background()
	a, err := openApp(ctx, e.g(), openOptions{logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := a.core.LookupAccount(ctx, zoe)
	if err != nil {
		t.Fatal(err)
	}
	g, err := a.core.VerifyPassword(ctx, acc.ID, zoePassword)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := a.core.SendSMSChallenge(ctx, g.Token, "setup-sms")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.core.VerifySMSChallenge(ctx, g.Token, ch.ID, e.smsCode(1)); err != nil {
		t.Fatal(err)
	}
	en, err := a.core.BeginTOTPEnrollment(ctx, g.Token, "setup-begin")
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, en.Secret)
	code, err := totp.GenerateCode(en.Secret, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if err := a.core.ConfirmTOTPEnrollment(ctx, en.ID, code, "setup-confirm"); err != nil {
		t.Fatal(err)
	}
	codes, err := a.core.IssueRecoveryCodes(ctx, en.ID, 3)
	if err != nil {
		t.Fatal(err)
	}
	e.secrets = append(e.secrets, codes...)
	if also != nil {
		also(a)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	e.start()
	return en.Secret, codes, acc
}

// TestNewPhoneHandOffEndToEnd: a support agent hands the new-phone flow
// to Zoe (guidedfix handoff --flow newphone): she gets the link by e-mail
// over real SMTP, opens it in Telegram, presses Start (which spends the
// token), proves her password and a recovery code and moves the app; the
// hand-off records the outcome "completed" and the audit log the agent's
// hand-off; the link works once.
func TestNewPhoneHandOffEndToEnd(t *testing.T) {
	e := newE2E(t)
	ctx := context.Background()
	var handoffID string
	_, codes, acc := zoeOnTOTP(t, e, func(a *app) {
		_, h, err := a.desk.HandOffFlow(ctx, newphone.Name, zoe, "T-77", "cli", "sam")
		if err != nil {
			t.Fatal(err)
		}
		handoffID = h.ID
	})
	var link string
	e.eventually("the hand-off e-mail", func() bool {
		for _, m := range e.smtp.messages() {
			if strings.Contains(m.Subject, "new phone") {
				link = regexp.MustCompile(`https://t\.me/\S+`).FindString(m.Text)
				return true
			}
		}
		return false
	})
	payload := strings.TrimPrefix(link, "https://t.me/"+e2eBot+"?start=")
	if !strings.HasPrefix(payload, newphone.PayloadPrefix) || payload == link {
		t.Fatalf("hand-off link %q", link)
	}
	e.secrets = append(e.secrets, strings.TrimPrefix(payload, newphone.PayloadPrefix))
	e.text("/start " + payload)
	e.botSaid("Our support team prepared this change")
	e.press("handoff_start")
	e.botSaid("z•••@example.com")
	e.botSaid("type the password")
	e.text(zoePassword)
	e.botSaid("Do you still have the phone")
	e.press("lost_old")
	e.botSaid("recovery codes (you have 3 unused)")
	e.text(codes[0])
	e.botSaid("These are your new recovery codes")
	e.press("saved")
	key := e.keyFromQR(e.botSaid("scan this QR code").Files["photo"].Data)
	e.text(e.totpCode(key))
	e.botSaid("Your authenticator app is now on your new phone")
	// The link works once: opened again after the change completed, it
	// is answered as invalid at once (issue 14 F9).
	e.text("/start " + payload)
	e.botSaid("This link is not valid or has expired")

	e.stop()
	b, err := openApp(ctx, e.g(), openOptions{logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	h, err := b.desk.Store.Handoff(ctx, handoffID)
	if err != nil || h.Outcome != "completed" || h.Flow != "newphone" || h.AccountID != acc.ID {
		t.Fatalf("hand-off %+v, %v; want newphone completed for %s", h, err, acc.ID)
	}
	entries, err := b.desk.Store.Audit(ctx, acc.ID, 100)
	if err != nil {
		t.Fatal(err)
	}
	created := false
	for _, en := range entries {
		if en.Action == "handoff_created" && en.Staff && strings.Contains(en.Outcome, "newphone") {
			created = true
		}
	}
	if !created {
		t.Fatalf("audit %+v lacks the agent's hand-off", entries)
	}
	logText := e.log.String()
	for _, s := range e.secrets {
		if len(s) >= 6 && strings.Contains(logText, s) {
			t.Fatalf("the log holds a secret (%d bytes)", len(s))
		}
	}
}
