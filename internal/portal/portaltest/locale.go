package portaltest

import (
	"strings"

	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
)

// locale returns the Locale of account id as Core.Account reports it.
func (s *suite) locale(id string) string {
	s.t.Helper()
	a, err := s.Core.Account(s.ctx, id)
	if err != nil {
		s.t.Fatalf("Account: %v", err)
	}
	return a.Locale
}

// testAccountLocale checks the account's language (portal.Account.Locale,
// api/portal.openapi.yaml Guidedfix-Locale): an account without one takes
// the chat's language passed with a successful Disable2FA or
// ConfirmTOTPEnrollment (by its primary subtag), in time for that call's
// e-mail; a failed call, an unknown tag and a later call in another
// language change nothing.
func testAccountLocale(s *suite) {
	ms := portal.WithLocale(s.ctx, "ms-MY")
	a, b := s.alice(), s.bob(portal.MethodSMS)
	if a.Locale != "" || s.locale(a.ID) != "" {
		s.t.Fatalf("new account has language %q", s.locale(a.ID))
	}
	// A password grant cannot disable: the failed call sets nothing.
	WantErr(s.t, s.Core.Disable2FA(ms, s.grant(a).Token, "d0"), portal.ErrNeedElevation)
	if got := s.locale(a.ID); got != "" {
		s.t.Fatalf("a failed Disable2FA set the language %q", got)
	}
	eg := s.elevated(a)
	if err := s.Core.Disable2FA(ms, eg.Token, "d1"); err != nil {
		s.t.Fatal(err)
	}
	if got := s.locale(a.ID); got != "ms" {
		s.t.Fatalf("language after Disable2FA with ms-MY = %q, want ms", got)
	}
	if acc, err := s.Core.LookupAccount(s.ctx, AliceEmail); err != nil || acc.Locale != "ms" {
		s.t.Fatalf("LookupAccount: locale %q, %v", acc.Locale, err)
	}
	// Bob's disable carries no language: his alert is the English one.
	ebg := s.elevated(b)
	if err := s.Core.Disable2FA(s.ctx, ebg.Token, "d2"); err != nil {
		s.t.Fatal(err)
	}
	if got := s.locale(b.ID); got != "" {
		s.t.Fatalf("Disable2FA without a language set %q", got)
	}
	alertMS, alertEN := s.mailsTo(AliceEmail), s.mailsTo(BobEmail)
	if len(alertMS) != 1 || len(alertEN) != 1 {
		s.t.Fatalf("%d and %d alerts, want 1 each", len(alertMS), len(alertEN))
	}
	if !strings.Contains(strings.ToLower(alertEN[0].Subject), "two-factor authentication was disabled") ||
		alertMS[0].Subject == alertEN[0].Subject || strings.Contains(alertMS[0].Text, "2FA was disabled on your account") {
		s.t.Fatalf("alert subjects %q (ms account) and %q (no language): the first is not the Malay alert", alertMS[0].Subject, alertEN[0].Subject)
	}
	// Alice confirms in an English chat: her language stays Malay.
	s.enrollIn(eg.Token, "en", "1")
	if got := s.locale(a.ID); got != "ms" {
		s.t.Fatalf("a chat in English replaced the account's language: %q", got)
	}
	// Bob confirms with a tag no catalog has, then Carol with Malay.
	s.enrollIn(ebg.Token, "tlh", "2")
	if got := s.locale(b.ID); got != "" {
		s.t.Fatalf("an unknown tag was adopted: %q", got)
	}
	carol := s.AddAccount(s.t, "carol@example.com", "+60123450003", portal.MethodSMS, Password)
	s.enrollIn(s.elevated(carol).Token, "MS", "3")
	if got := s.locale(carol.ID); got != "ms" {
		s.t.Fatalf("language after ConfirmTOTPEnrollment with MS = %q, want ms", got)
	}
	confMS, confEN := s.mailsTo("carol@example.com"), s.mailsTo(BobEmail)
	if len(confMS) != 1 || len(confEN) != 2 || confMS[0].Subject == confEN[1].Subject || confMS[0].Subject != s.mailsTo(AliceEmail)[1].Subject {
		s.t.Fatalf("confirmation subjects: carol %q, bob %q, alice %q; want carol's and alice's Malay, bob's English", subjects(confMS), subjects(confEN), subjects(s.mailsTo(AliceEmail)))
	}
}

// enrollIn begins a TOTP enrollment with the elevated grant and confirms
// it with the current code in a context of locale (a BCP 47 tag), under
// the idempotency keys "b"+n and "c"+n; any error fails the test.
func (s *suite) enrollIn(grant, locale, n string) {
	s.t.Helper()
	e, err := s.Core.BeginTOTPEnrollment(s.ctx, grant, "b"+n)
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.Core.ConfirmTOTPEnrollment(portal.WithLocale(s.ctx, locale), e.ID, Code(s.t, e.Secret, s.Now()), "c"+n); err != nil {
		s.t.Fatal(err)
	}
}

func subjects(ms []mail.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Subject
	}
	return out
}
