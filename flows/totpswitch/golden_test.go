package totpswitch_test

import (
	"path/filepath"
	"strings"
	"testing"

	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
	"guidedfix/internal/testkit/golden"
)

// TestGoldenTranscripts records the main paths of the flow, in both
// orders, as transcripts (testkit.Transcript: every input, every reply's
// id, ref, flags, text and buttons; passwords, codes, keys and the
// sensitive messages masked) and compares them with
// testdata/<name>.golden. After a deliberate change of the flow's replies,
// regenerate them with
//
//	go test ./flows/totpswitch/ -run TestGoldenTranscripts -update
//
// and review the diff.
func TestGoldenTranscripts(t *testing.T) {
	// switchToApp is the main path from the confirmed SMS code on, in
	// either order: Disable 2FA, Setup, Authenticator App, the code, Okay.
	switchToApp := func(c *chat, pw string) {
		c.press("disable")
		c.press("setup")
		c.press("app")
		c.text(c.env.TOTPCode(c.t, c.env.KeyFromQR(c.t, qrImage(c)), 0))
		c.press("okay")
	}
	for _, tc := range []struct {
		name     string
		order    string
		walk     func(c *chat, pw string)
		recovery int
	}{
		{"enroll_then_switch", totpswitch.OrderEnrollThenSwitch, switchToApp, 0},
		{"disable_then_enroll", totpswitch.OrderDisableThenEnroll, switchToApp, 0},
		{"recovery_codes", totpswitch.OrderEnrollThenSwitch, func(c *chat, pw string) {
			c.press("disable")
			c.press("setup")
			c.press("app")
			c.text(c.env.TOTPCode(c.t, c.env.KeyFromQR(c.t, qrImage(c)), 0))
			n := 0
			for _, rep := range c.press("okay") {
				if rep.Ref == "recovery" {
					// The codes are the lines that hold a "-".
					for _, line := range strings.Split(rep.Text, "\n") {
						if strings.Contains(line, "-") && !strings.Contains(line, " ") {
							c.env.AddSecret(line)
							n++
						}
					}
				}
			}
			if n != 10 {
				c.t.Fatalf("%d recovery codes shown, want 10", n)
			}
			c.press("saved")
		}, 10},
		{"cancel_at_qr", totpswitch.OrderEnrollThenSwitch, func(c *chat, pw string) {
			c.press("disable")
			c.press("setup")
			c.press("app")
			c.cmd("cancel")
		}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testkit.New(t, testkit.Options{Order: tc.order, RecoveryCodes: tc.recovery})
			pw := env.AddAccount(t, "alice@example.com", portal.MethodSMS)
			c := newChat(t, env)
			tr := &testkit.Transcript{Mask: env.Mask}
			c.Transcript = tr
			c.start()
			c.text("alice@example.com")
			c.text(pw)
			c.text(env.LastSMSCode(t))
			tc.walk(c, pw)
			env.CheckNoSecretsIn(t, "the transcript", tr.String())
			golden.Check(t, filepath.Join("testdata", tc.name+".golden"), tr.String())
		})
	}
}

// qrImage returns the newest QR image the chat got.
func qrImage(c *chat) []byte {
	c.t.Helper()
	for i := len(c.All) - 1; i >= 0; i-- {
		if len(c.All[i].Image) > 0 {
			return c.All[i].Image
		}
	}
	c.t.Fatalf("no QR image; replies %v", ids(c.All))
	return nil
}
