package totpswitch_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"guidedfix/bot"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// fuzzActions are what a person (or a hostile client) can do in one step;
// each input byte picks one.
var fuzzActions = []string{
	"start", "email", "password", "wrong_password", "sms_code", "wrong_code", "totp", "totp_old",
	"disable", "setup", "app", "verify", "okay", "cancel", "resume", "resend", "other_email", "saved",
	"/cancel", "/help", "/2fa", "sticker", "garbage", "+1m", "+6m", "+11m", "restart", "stale_button",
}

// FuzzConversation feeds arbitrary sequences of events to one conversation
// of the real engine, flow and core. Invariants: no panic and no turn
// error; the account (SMS 2FA at the start) is never left without a second
// factor once every deadline has run; no secret reaches the session store
// or the log (checked by testkit on cleanup).
func FuzzConversation(f *testing.F) {
	f.Add([]byte{0, 1, 2, 4, 8, 9, 10, 6, 12})           // the happy path
	f.Add([]byte{0, 1, 2, 4, 8, 9, 10, 18})              // cancel at the QR step
	f.Add([]byte{0, 1, 2, 4, 8, 25, 25, 10, 2, 6, 12})   // grant lapses, re-authentication
	f.Add([]byte{0, 1, 3, 3, 3, 3, 3, 2})                // lock-out
	f.Add([]byte{0, 1, 2, 4, 8, 26, 24, 24, 14, 10, 6})  // restart, reminder, resume
	f.Add([]byte{0, 1, 2, 5, 5, 5, 15, 4, 8, 27, 27, 9}) // wrong SMS codes, resend, stale buttons
	f.Fuzz(func(t *testing.T, steps []byte) {
		if len(steps) > 40 {
			steps = steps[:40]
		}
		env := testkit.New(t, testkit.Options{})
		pw := env.AddAccount(t, "fuzz@example.com", portal.MethodSMS)
		c := newChat(t, env)
		var key *otp.Key
		var lastButtons []bot.Button
		for _, b := range steps {
			action := fuzzActions[int(b)%len(fuzzActions)]
			var ev bot.Event
			switch action {
			case "start":
				ev = bot.Event{Kind: bot.KindStart}
			case "email":
				ev = bot.Event{Kind: bot.KindText, Text: "fuzz@example.com"}
			case "password":
				ev = bot.Event{Kind: bot.KindText, Text: pw}
			case "wrong_password":
				ev = bot.Event{Kind: bot.KindText, Text: "not-the-password"}
			case "sms_code":
				code, n := env.SMS.LastCode("+60123456789")
				if n == 0 {
					continue
				}
				env.AddSecret(code)
				ev = bot.Event{Kind: bot.KindText, Text: code}
			case "wrong_code":
				ev = bot.Event{Kind: bot.KindText, Text: "000000"}
			case "totp", "totp_old":
				if key == nil {
					continue
				}
				steps := 0
				if action == "totp_old" {
					steps = -2
				}
				ev = bot.Event{Kind: bot.KindText, Text: env.TOTPCode(t, key, steps)}
			case "/cancel", "/help", "/2fa":
				ev = bot.Event{Kind: bot.KindCommand, Command: strings.TrimPrefix(action, "/")}
			case "sticker":
				ev = bot.Event{Kind: bot.KindUnsupported}
			case "garbage":
				ev = bot.Event{Kind: bot.KindText, Text: "\x00<b>*_[]</b>\u202e"}
			case "+1m", "+6m", "+11m":
				d := map[string]time.Duration{"+1m": time.Minute, "+6m": 6 * time.Minute, "+11m": 11 * time.Minute}[action]
				sweepAt(t, c, env.Clock.Now().Add(d))
				continue
			case "restart":
				env.Restart(t)
				env.Engine.Register(c.conv.Channel, c.rec)
				continue
			case "stale_button":
				if len(lastButtons) == 0 {
					continue
				}
				ev = bot.Event{Kind: bot.KindButton, Data: lastButtons[0].Data}
			default: // a button action
				data := c.button(action)
				if data == "" {
					continue
				}
				ev = bot.Event{Kind: bot.KindButton, Data: data}
			}
			for _, r := range c.send(ev) {
				if len(r.Image) > 0 {
					key = env.KeyFromQR(t, r.Image)
				}
				if len(r.Buttons) > 0 {
					lastButtons = r.Buttons
				}
			}
		}
		// Let every deadline run: reminders, enrollment expiry, idle expiry.
		for i := 0; i < 30; i++ {
			sweepAt(t, c, env.Clock.Now().Add(time.Minute))
		}
		if m := method(t, env, "fuzz@example.com"); m != portal.MethodSMS && m != portal.MethodTOTP {
			t.Fatalf("after %v the account's method is %q", steps, m)
		}
		if st := env.Core.Stats(); st.Activations > 1 || st.Restores > 1 || st.Disables > 1 {
			t.Fatalf("an effect happened twice: %+v", st)
		}
		if due, err := env.Store.Due(context.Background(), env.Clock.Now(), 10); err != nil || len(due) != 0 {
			t.Fatalf("sessions left pending: %v %v", due, err)
		}
	})
}
