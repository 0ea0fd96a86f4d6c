package totpswitch_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// lossyCore commits the first call of op in the real core and then loses
// its answer, as a crash or a timeout between the call and the next save
// would.
type lossyCore struct {
	portal.Core
	op   string
	lost bool
}

func (c *lossyCore) lose(op string, err error) error {
	if err == nil && op == c.op && !c.lost {
		c.lost = true
		return context.DeadlineExceeded
	}
	return err
}

func (c *lossyCore) Disable2FA(ctx context.Context, grant, key string) error {
	return c.lose("disable", c.Core.Disable2FA(ctx, grant, key))
}

func (c *lossyCore) Reauthenticate(ctx context.Context, grant, pw string) (portal.Grant, error) {
	g, err := c.Core.Reauthenticate(ctx, grant, pw)
	return g, c.lose("reauth", err)
}

// lossyChat drives a flow whose core loses one answer (testkit.Chat,
// Lossy); a failed turn is logged, as the engine answers it with its
// internal-error message.
type lossyChat struct{ *testkit.Chat }

func newLossyChat(t *testing.T, env *testkit.Env, core portal.Core) *lossyChat {
	flow := totpswitch.New(totpswitch.Options{Core: core, Order: env.Options().Order})
	eng, err := bot.New(bot.Options{Store: env.Store, Flows: []bot.Flow{flow}, Now: env.Clock.Now, Logger: slog.New(slog.DiscardHandler), States: testkit.StateCheck(t)})
	if err != nil {
		t.Fatal(err)
	}
	c := testkit.NewChat(t, func() *bot.Engine { return eng }, bot.Conversation{Channel: "lossy", ID: "1"})
	c.UserID, c.Lossy = "u", true
	return &lossyChat{c}
}

func (c *lossyChat) send(ev bot.Event) []bot.Reply { return c.Send(ev) }

// text sends s as a message without an id (so nothing is deleted).
func (c *lossyChat) text(s string) []bot.Reply { return c.Send(bot.Event{Kind: bot.KindText, Text: s}) }

func (c *lossyChat) press(action string) []bot.Reply { return c.Press(action) }

// TestCancelAfterLostDisableAnswerRestores: Disable2FA committed but its
// answer was lost, so the session still says "disabling"; /cancel then
// restores SMS 2FA (it may be off) and the owner can start again.
func TestCancelAfterLostDisableAnswerRestores(t *testing.T) {
	env := testkit.New(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll})
	pw := env.AddAccount(t, "dia@example.com", portal.MethodSMS)
	c := newLossyChat(t, env, &lossyCore{Core: env.Core, op: "disable"})
	c.send(bot.Event{Kind: bot.KindStart})
	c.text("dia@example.com")
	c.text(pw)
	c.text(env.LastSMSCode(t))
	c.press("disable") // committed, answer lost
	if m := method(t, env, "dia@example.com"); m != portal.MethodNone {
		t.Fatalf("method %q after the lost answer, want none (the disable committed)", m)
	}
	r := c.send(bot.Event{Kind: bot.KindCommand, Command: "cancel"})
	wantIDs(t, r, "totp.restored", "totp.cancelled")
	if m := method(t, env, "dia@example.com"); m != portal.MethodSMS {
		t.Fatalf("method %q after /cancel, want sms again", m)
	}
	// A new conversation of the owner goes all the way.
	d := newChat(t, env)
	toConfirmDisable(t, d, "dia@example.com", pw)
	d.press("disable")
	d.press("setup")
	wantIDs(t, d.press("app"), "totp.qr_caption", "totp.manual_key", "totp.ask_totp")
}

// TestReauthAfterLostAnswerCanBeRetried: the password-again step's answer
// was lost after the core renewed the grant; typing the password again
// renews it again and the switch goes on.
func TestReauthAfterLostAnswerCanBeRetried(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "ria@example.com", portal.MethodSMS)
	c := newLossyChat(t, env, &lossyCore{Core: env.Core, op: "reauth"})
	c.send(bot.Event{Kind: bot.KindStart})
	c.text("ria@example.com")
	c.text(pw)
	c.text(env.LastSMSCode(t))
	c.press("disable")
	c.press("setup")
	env.Clock.Advance(11 * time.Minute)
	wantIDs(t, c.press("app"), "totp.reauth")
	c.text(pw) // renewed, answer lost
	// (This chat's messages have no ids, so nothing is deleted.)
	wantIDs(t, c.text(pw), "totp.qr_caption", "totp.manual_key", "totp.ask_totp")
}

// TestSwapOrderReauthKeepsTheSMSProof: in the enroll-then-switch order the
// password-again step renews the elevated grant too, instead of sending
// the customer back to password and SMS code.
func TestSwapOrderReauthKeepsTheSMSProof(t *testing.T) {
	env, c, pw := atConfirmDisable(t, testkit.Options{Order: totpswitch.OrderEnrollThenSwitch}, "swa@example.com")
	c.press("disable")
	c.press("setup")
	env.Clock.Advance(11 * time.Minute)
	wantIDs(t, c.press("app"), "totp.reauth")
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.qr_caption", "totp.manual_key", "totp.ask_totp")
	if st := env.Core.Stats(); st.SMSSent != 1 {
		t.Fatalf("stats %+v, want one SMS", st)
	}
}
