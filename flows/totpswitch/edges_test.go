package totpswitch_test

import (
	"context"
	"strings"
	"testing"

	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// accountID is the portal id of email's account.
func accountID(t *testing.T, env *testkit.Env, email string) string {
	t.Helper()
	a, err := env.Core.LookupAccount(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return a.ID
}

func TestFullWidthEmailIsNormalised(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	wantIDs(t, c.text("ａｌｉｃｅ＠ＥＸＡＭＰＬＥ．ｃｏｍ"), "totp.ask_password")
	if got, want := c.session().Tags["account"], accountID(t, env, "alice@example.com"); got != want {
		t.Fatalf("account tag %q, want %q", got, want)
	}
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.sms_sent")
}

func TestOverlongEmailChangesNothing(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	for _, in := range []string{
		strings.Repeat("a", 65) + "@example.com", // local part over 64 octets
		"alice@" + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 63) + "." + strings.Repeat("e", 60) + ".com", // over 254
		"ali\u200bce@example.com",
	} {
		wantIDs(t, c.text(in), "totp.bad_email")
		s := c.session()
		if s.State != totpswitch.StateAwaitingEmail || s.Tags["account"] != "" {
			t.Fatalf("after %.20q: state %q tags %v", in, s.State, s.Tags)
		}
	}
	if st := env.Core.Stats(); st.SMSSent != 0 {
		t.Fatalf("stats %+v", st)
	}
}
