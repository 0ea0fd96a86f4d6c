package newphone_test

import (
	"context"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
)

// TestReplacementAdoptsChatLanguage: the flow passes the chat's language
// to the core (portal.WithLocale), so an account without a language takes
// the Malay of a Malay chat on ConfirmTOTPReplacement, in time for the
// e-mail telling the move; a chat without a language leaves the account
// without one and its e-mail in the default language.
func TestReplacementAdoptsChatLanguage(t *testing.T) {
	move := func(t *testing.T, locale string) (string, string) {
		e := newEnv(t, envOptions{})
		acc := e.totpAccount("alice@example.com", 0)
		c := e.chat()
		wantIDs(t, c.send(bot.Event{Kind: bot.KindCommand, Command: "newphone", Locale: locale}), "newphone.welcome", "newphone.ask_email")
		if got := c.session().Locale; got != locale {
			t.Fatalf("session locale %q, want %q", got, locale)
		}
		wantIDs(t, c.text(acc.email), "newphone.ask_password")
		wantIDs(t, c.text(acc.password), "delete:engine.delete_user_secret", "newphone.choose_proof")
		wantIDs(t, c.press("have_old"), "newphone.ask_current_code")
		r := c.text(e.codeOf(acc.secret, 0))
		wantIDs(t, r, "delete:engine.delete_user_secret", "newphone.qr_caption", "newphone.manual_key", "newphone.ask_new_code")
		key := e.keyFromQR(r[1].Image)
		e.clock.Advance(30 * time.Second)
		wantIDs(t, c.text(e.codeOf(key.Secret(), 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "newphone.done")
		c.wantState(newphone.StateDone, true)
		a, err := e.core.Account(context.Background(), e.accountID(acc.email))
		if err != nil {
			t.Fatal(err)
		}
		mails := e.mails(acc.email)
		if len(mails) == 0 {
			t.Fatal("no e-mail")
		}
		return a.Locale, mails[len(mails)-1].Subject
	}
	msLocale, msSubject := move(t, "ms-MY")
	enLocale, enSubject := move(t, "")
	if msLocale != "ms" || enLocale != "" {
		t.Fatalf("account languages %q (Malay chat) and %q (no language), want ms and none", msLocale, enLocale)
	}
	if msSubject == enSubject {
		t.Fatalf("the move's e-mail is %q in both: the Malay chat's is not in Malay", msSubject)
	}
}
