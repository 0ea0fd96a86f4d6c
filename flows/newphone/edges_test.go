package newphone_test

import (
	"strings"
	"testing"
	"time"

	"guidedfix/flows/newphone"
)

// TestEmailNormalisedAndBounded: a full-width e-mail finds the account;
// an overlong one is refused and changes nothing.
func TestEmailNormalisedAndBounded(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := e.totpAccount("alice@example.com", 0)
	c := e.chat()
	wantIDs(t, c.cmd("newphone"), "newphone.welcome", "newphone.ask_email")
	wantIDs(t, c.text(strings.Repeat("a", 65)+"@example.com"), "newphone.bad_email")
	c.wantState(newphone.StateAwaitingEmail, false)
	if s := c.session(); s.Tags["account"] != "" {
		t.Fatalf("tags %v after a refused e-mail", s.Tags)
	}
	wantIDs(t, c.text("ＡＬＩＣＥ＠ｅｘａｍｐｌｅ．ｃｏｍ"), "newphone.ask_password")
	if s := c.session(); s.Tags["account"] != e.accountID(acc.email) {
		t.Fatalf("tags %v, want account %q", s.Tags, e.accountID(acc.email))
	}
	wantIDs(t, c.text(acc.password), "delete:engine.delete_user_secret", "newphone.choose_proof")
}

// TestNewAppClockDrift: the new app's code 3 steps behind is refused, costs
// a try and gets the clock hint; the current code then moves the app.
func TestNewAppClockDrift(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := e.totpAccount("alice@example.com", 0)
	c := e.chat()
	c.toChooseProof(acc)
	key := c.toNewCode(acc)
	e.clock.Advance(30 * time.Second)
	r := c.text(e.codeOf(key.Secret(), -3))
	wantIDs(t, r, "delete:engine.delete_user_secret", "newphone.clock_drift")
	if !strings.Contains(r[1].Text, "4 tries") {
		t.Fatalf("clock hint %q, want 4 tries left", r[1].Text)
	}
	c.wantState(newphone.StateAwaitingNewCode, false)
	wantIDs(t, c.text(e.codeOf(key.Secret(), 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "newphone.done")
}

// TestNewphoneStartInTheMiddleContinues: /newphone at the new code step
// asks first; Continue shows the step again (the QR code of the same
// secret sent again, issue 14 F8) and the scanned QR code still moves the
// app.
func TestNewphoneStartInTheMiddleContinues(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := e.totpAccount("alice@example.com", 0)
	c := e.chat()
	c.toChooseProof(acc)
	key := c.toNewCode(acc)
	before := c.session()
	wantIDs(t, c.cmd("newphone"), "engine.start_again")
	c.wantQRShownAgain(c.press("_continue"), key.Secret(), before)
	c.wantDoneDeletesQR(key.Secret())
}
