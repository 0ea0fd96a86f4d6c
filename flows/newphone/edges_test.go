package newphone_test

import (
	"strings"
	"testing"

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
