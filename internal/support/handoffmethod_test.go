package support_test

import (
	"context"
	"errors"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/support"
)

// TestHandOffRefusesWrongMethod (fixcore item 4): a hand-off of a flow
// whose descriptor needs another 2FA method than the account's is
// ErrWrongMethod with both methods, creates no hand-off, sends no e-mail,
// opens no thread, and is audited as refused; the fitting flow still works.
func TestHandOffRefusesWrongMethod(t *testing.T) {
	d, env, ch := newDesk(t)
	eng, err := bot.New(bot.Options{Store: env.Store, Flows: []bot.Flow{
		totpswitch.New(totpswitch.Options{Core: env.Core}), newphone.New(newphone.Options{Core: env.Core})}})
	if err != nil {
		t.Fatal(err)
	}
	d.Flows, d.Texts = eng.Flows(), eng.Catalog()
	ctx := context.Background()
	env.AddAccount(t, "sms@example.com", portal.MethodSMS)
	env.AddAccount(t, "none@example.com", portal.MethodNone)
	env.AddTOTPAccount(t, "app@example.com")
	before := len(env.Mails(t)) // the core's own mails of the TOTP set-up
	for _, tc := range []struct {
		flow, email string
		has         portal.Method
		needs       string
	}{
		{newphone.Name, "sms@example.com", portal.MethodSMS, "totp"},
		{totpswitch.Name, "app@example.com", portal.MethodTOTP, "sms"},
		{"", "none@example.com", portal.MethodNone, "sms"},
	} {
		_, _, err := d.HandOffFlow(ctx, tc.flow, tc.email, "T-1", "slack", "U1")
		var wm *support.WrongMethodError
		if !errors.Is(err, support.ErrWrongMethod) || !errors.As(err, &wm) || wm.Has != tc.has || wm.Needs != tc.needs {
			t.Errorf("HandOffFlow(%q, %s) = %v, want WrongMethodError{%s, %s}", tc.flow, tc.email, err, tc.has, tc.needs)
		}
		entries, err := d.AuditFor(ctx, tc.email, 5)
		if err != nil || len(entries) != 1 || entries[0].Action != "handoff_created" || entries[0].AccountID == "" ||
			len(entries[0].Outcome) < 8 || entries[0].Outcome[:8] != "refused:" {
			t.Errorf("audit of %s: %+v %v, want one refused handoff_created", tc.email, entries, err)
		}
	}
	if n := len(env.Mails(t)) - before; n != 0 {
		t.Fatalf("%d e-mails after refusals, want 0", n)
	}
	if len(ch.threads) != 0 {
		t.Fatalf("threads after refusals: %q", ch.threads)
	}
	if _, h, err := d.HandOffFlow(ctx, newphone.Name, "app@example.com", "", "slack", "U1"); err != nil || h.Flow != newphone.Name {
		t.Fatalf("fitting flow: %+v %v", h, err)
	}
	if _, h, err := d.HandOffFlow(ctx, "", "sms@example.com", "", "slack", "U1"); err != nil || h.Flow != totpswitch.Name {
		t.Fatalf("fitting default flow: %+v %v", h, err)
	}
	if n := len(env.Mails(t)) - before; n != 2 {
		t.Fatalf("%d e-mails after two hand-offs, want 2", n)
	}
}
