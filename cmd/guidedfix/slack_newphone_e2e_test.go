package main

import (
	"regexp"
	"strings"
	"testing"

	"guidedfix/flows/newphone"
)

// TestSlackStaffHandsOffNewPhone: on the fake Slack (Socket Mode, driven
// through slack-go), a staff member hands the new-phone flow to Zoe with
// `/guidedfix handoff <e-mail> newphone <ticket>`; the link carries the
// flow's payload prefix, the record names the flow, Zoe moves her app in
// Telegram with a recovery code, and the watch thread names each step by
// the flow's descriptor, ending with the outcome.
func TestSlackStaffHandsOffNewPhone(t *testing.T) {
	e := newE2E(t)
	_, codes, _ := zoeOnTOTP(t, e, nil)

	e.command(agent, "handoff "+zoe+" newphone T-55")
	got := e.ephemeralTo(agent)
	link := regexp.MustCompile(`https://t\.me/` + e2eBot + `\?start=(np_[A-Za-z0-9_-]{43})`).FindStringSubmatch(got)
	if link == nil || !strings.Contains(got, "Move the authenticator app to a new phone") || !strings.Contains(got, "T-55") {
		t.Fatalf("handoff answered %q", got)
	}
	e.secrets = append(e.secrets, strings.TrimPrefix(link[1], newphone.PayloadPrefix))
	w := e.root("Hand-off ho_")
	if !strings.Contains(w.Text, "(Move the authenticator app to a new phone)") || !strings.Contains(w.Text, zoe) {
		t.Fatalf("watch thread %q", w.Text)
	}
	e.eventually("the hand-off e-mail", func() bool {
		for _, m := range e.smtp.messages() {
			if m.To == zoe && strings.Contains(m.Text, link[0]) && strings.Contains(m.Subject, "new phone") {
				return true
			}
		}
		return false
	})

	e.text("/start " + link[1])
	e.botSaid("Our support team prepared this change")
	e.press("handoff_start")
	e.botSaid("type the password")
	e.text(zoePassword)
	e.botSaid("Do you still have the phone")
	e.press("lost_old")
	e.botSaid("recovery codes (you have 3 unused)")
	e.text(codes[1])
	e.botSaid("These are your new recovery codes")
	e.press("saved")
	key := e.keyFromQR(e.botSaid("scan this QR code").Files["photo"].Data)
	e.text(e.totpCode(key))
	e.botSaid("Your authenticator app is now on your new phone")

	e.waitThread(w.TS, "finished: completed")
	var steps []string
	for _, s := range e.threadTexts(w.TS) {
		_, step, _ := strings.Cut(s, " UTC — ")
		steps = append(steps, step)
	}
	want := []string{"Verify password", "Choose how to prove the current factor", "Verify a recovery code",
		"New recovery codes shown", "QR code sent; waiting for the new app's code", "Completed — finished: completed"}
	if strings.Join(steps, " | ") != strings.Join(want, " | ") {
		t.Fatalf("watch thread steps\n%q\nwant\n%q", steps, want)
	}
}
