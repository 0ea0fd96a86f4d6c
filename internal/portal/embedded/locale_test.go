package embedded

import (
	"context"
	"errors"
	"testing"

	"guidedfix/internal/mailtext"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portaltest"
)

// TestAccountLanguageFromTheOperator: NewAccount.Locale is normalised to
// a catalog language ("ms-MY" is "ms") and refused when no catalog has
// it; every e-mail to the account is in it, also the lock notice that
// wrong passwords from an English chat cause (a failed call never sets
// or changes the language); ResetAccount sets it again from its NewAccount.
func TestAccountLanguageFromTheOperator(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	if _, err := e.core.AddAccount(ctx, NewAccount{Email: "x@example.com", Method: portal.MethodNone, Password: portaltest.Password, Locale: "fr"}); !errors.Is(err, ErrInvalidAccount) {
		t.Fatalf("locale fr: %v, want ErrInvalidAccount", err)
	}
	a, err := e.core.AddAccount(ctx, NewAccount{Email: portaltest.AliceEmail, Phone: portaltest.AlicePhone, Method: portal.MethodSMS,
		Password: portaltest.Password, Name: "Siti", Locale: "ms-MY"})
	if err != nil || a.Locale != "ms" {
		t.Fatalf("AddAccount: locale %q, %v; want ms", a.Locale, err)
	}
	en := portal.WithSource(portal.WithLocale(ctx, "en"), "telegram:1")
	for i := 0; i < 30 && len(e.mail.Messages()) == 0; i++ {
		if _, err := e.core.VerifyPassword(en, a.ID, "wrong password"); err == nil {
			t.Fatal("a wrong password was accepted")
		}
	}
	mails := e.mail.Messages()
	want, _, err := mailtext.RenderIn("ms", mailtext.Paused, mailtext.Data{Factor: "password"})
	if err != nil {
		t.Fatal(err)
	}
	if len(mails) != 1 || mails[0].Subject != want {
		t.Fatalf("lock notices %+v, want one with the ms subject %q", mails, want)
	}
	if got, _ := e.core.Account(ctx, a.ID); got.Locale != "ms" {
		t.Fatalf("language after failed calls from an English chat %q, want ms", got.Locale)
	}
	r, err := e.core.ResetAccount(ctx, NewAccount{Email: a.Email, Phone: a.Phone, Method: portal.MethodSMS, Password: portaltest.Password, Name: "Siti"})
	if err != nil || r.Locale != "" {
		t.Fatalf("ResetAccount without a locale: %q, %v", r.Locale, err)
	}
}
