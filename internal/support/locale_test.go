package support_test

import (
	"context"
	"testing"

	"guidedfix/internal/mailtext"
	"guidedfix/internal/portal/embedded"
)

// TestHandOffMailInTheAccountsLanguage: the hand-off link e-mail is
// written in the account's language (portal.Account.Locale): the exact
// ms subject for a Malay account, the English one for an account without
// a language.
func TestHandOffMailInTheAccountsLanguage(t *testing.T) {
	d, env, _ := newDesk(t)
	ctx := context.Background()
	for _, a := range []embedded.NewAccount{
		{Email: "siti@example.com", Name: "Siti", Method: "sms", Phone: "+60123456789", Password: "pw-siti-Secret!", Locale: "ms-MY"},
		{Email: "zoe@example.com", Name: "Zoe", Method: "sms", Phone: "+60123456789", Password: "pw-zoe-Secret!"},
	} {
		if _, err := env.Core.AddAccount(ctx, a); err != nil {
			t.Fatal(err)
		}
		env.AddSecret(a.Password)
	}
	for _, email := range []string{"siti@example.com", "zoe@example.com"} {
		if _, _, err := d.HandOff(ctx, email, "", "slack", "U1"); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]string{}
	for to, lang := range map[string]string{"siti@example.com": "ms", "zoe@example.com": "en"} {
		subject, _, err := mailtext.RenderIn(lang, mailtext.Handoff, mailtext.Data{})
		if err != nil {
			t.Fatal(err)
		}
		want[to] = subject
	}
	if want["siti@example.com"] == want["zoe@example.com"] {
		t.Fatal("the ms and en hand-off subjects are the same")
	}
	mails := env.Mails(t)
	if len(mails) != 2 {
		t.Fatalf("%d e-mails, want 2", len(mails))
	}
	for _, m := range mails {
		if m.Subject != want[m.To] {
			t.Errorf("hand-off e-mail to %s has subject %q, want %q", m.To, m.Subject, want[m.To])
		}
	}
}
