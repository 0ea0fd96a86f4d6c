package totpswitch_test

import (
	"context"
	"slices"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// wantQRShownAgain checks that r shows the code step again as "Show the
// QR code again" does: the earlier QR and key messages deleted, the QR
// code of the same secret and the manual key sent again protected and
// sensitive under their refs, then the code prompt with the step's
// buttons; the session's id, state and step are those of before and its
// QR message is the new one.
func wantQRShownAgain(t *testing.T, c *chat, r []bot.Reply, secret string, before *bot.Session) {
	t.Helper()
	wantIDs(t, r, "delete:qr", "delete:key", "totp.qr_caption", "totp.manual_key", "totp.ask_totp")
	if r[0].MessageID != before.Messages["qr"] || r[1].MessageID != before.Messages["key"] {
		t.Fatalf("deleted %q and %q, want the QR %q and key %q shown before", r[0].MessageID, r[1].MessageID, before.Messages["qr"], before.Messages["key"])
	}
	if !r[2].Protected || !r[2].Sensitive || r[2].Ref != "qr" || !r[3].Protected || !r[3].Sensitive || r[3].Ref != "key" {
		t.Fatalf("QR/key sent again unprotected: %+v %+v", r[2].LogValue(), r[3].LogValue())
	}
	if k := c.env.KeyFromQR(t, r[2].Image); k.Secret() != secret {
		t.Fatal("the QR code sent again has another secret")
	}
	if r[4].Secret != bot.SecretTOTPCode {
		t.Fatalf("the prompt after the QR code asks for %q, want the code", r[4].Secret)
	}
	if got := testkit.ButtonActions(r[4]); !slices.Contains(got, "show_qr") || !slices.Contains(got, "cancel") {
		t.Fatalf("code prompt buttons %v, want show_qr and cancel among them", got)
	}
	s := c.session()
	if s.ID != before.ID || s.State != totpswitch.StateAwaitingTOTPCode || s.Step != before.Step || s.Messages["qr"] == "" || s.Messages["qr"] == before.Messages["qr"] {
		t.Fatalf("after the resume: %s/%q step %d qr %q; before %s/%q step %d qr %q", s.ID, s.State, s.Step, s.Messages["qr"],
			before.ID, before.State, before.Step, before.Messages["qr"])
	}
}

// wantActivatedDeletesQR types the app's code and checks that it verifies
// and deletes the QR and key messages shown last, once.
func wantActivatedDeletesQR(t *testing.T, c *chat, code string) {
	t.Helper()
	last := c.session()
	r := c.text(code)
	wantIDs(t, r, "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated")
	if r[1].MessageID != last.Messages["qr"] || r[2].MessageID != last.Messages["key"] {
		t.Fatalf("verify deleted %q and %q, want the QR %q and key %q sent last", r[1].MessageID, r[2].MessageID, last.Messages["qr"], last.Messages["key"])
	}
	if st := c.env.Core.Stats(); st.Activations != 1 {
		t.Fatalf("stats %+v, want one activation", st)
	}
}

// TestContinueAfterCrashShowsQRAgain (issue 14 F8): after a restart at
// the code step, /start asks first and "Continue where I left off" sends
// the QR code and manual key again (same secret, protected, sensitive),
// not only the code request; the scanned entry then verifies and the QR
// code sent again is deleted.
func TestContinueAfterCrashShowsQRAgain(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	c := newChat(t, env)
	key := toCodeStep(t, env, c, "alice@example.com")
	before := c.session()
	env.Restart(t)
	env.Engine.Register(c.conv.Channel, c.rec)
	wantIDs(t, c.start(), "engine.start_again")
	wantQRShownAgain(t, c, c.press("_continue"), key.Secret(), before)
	wantActivatedDeletesQR(t, c, env.TOTPCode(t, key, 0))
}

// TestHandBackAtQRStepShowsQRAgain (issue 14 F8): a support agent's
// hand-back at the code step shows the QR code and key again with the
// same secret.
func TestHandBackAtQRStepShowsQRAgain(t *testing.T) {
	env := testkit.New(t, testkit.Options{Support: &deskRecorder{}})
	c := newChat(t, env)
	key := toCodeStep(t, env, c, "alice@example.com")
	before := c.session()
	ctx := context.Background()
	if err := env.Engine.TakeOver(ctx, c.conv, "Nadia"); err != nil {
		t.Fatal(err)
	}
	if err := env.Engine.HandBack(ctx, c.conv); err != nil {
		t.Fatal(err)
	}
	r := c.Arrived()
	if i := slices.Index(ids(r), bot.MsgHandedBack); i < 0 {
		t.Fatalf("replies %v, want %s", ids(r), bot.MsgHandedBack)
	} else {
		r = r[i+1:]
	}
	before.Step = c.session().Step // the take-over counts as a step of its own
	wantQRShownAgain(t, c, r, key.Secret(), before)
	wantActivatedDeletesQR(t, c, env.TOTPCode(t, key, 0))
	if m := method(t, env, "alice@example.com"); m != portal.MethodTOTP {
		t.Fatalf("method %q", m)
	}
}

// TestLanguageSwitchAtQRStepShowsQRAgain (issue 14 F8): /language ms at
// the code step shows that step again, in Malay, QR code and key
// included, with the same secret.
func TestLanguageSwitchAtQRStepShowsQRAgain(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	c := newChat(t, env)
	key := toCodeStep(t, env, c, "alice@example.com")
	before := c.session()
	r := c.send(bot.Event{Kind: bot.KindCommand, Command: bot.CommandLanguage, Text: "ms"})
	if len(r) == 0 || r[0].ID != bot.MsgLanguageSet {
		t.Fatalf("replies %v, want %s first", ids(r), bot.MsgLanguageSet)
	}
	wantQRShownAgain(t, c, r[1:], key.Secret(), before)
	if s := c.session(); s.Locale != "ms" {
		t.Fatalf("locale %q, want ms", s.Locale)
	}
	wantActivatedDeletesQR(t, c, env.TOTPCode(t, key, 0))
}
