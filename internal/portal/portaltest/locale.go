package portaltest

import (
	"strings"
	"time"

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

// testReplacementLocale checks that ConfirmTOTPReplacement, the third call
// that proves the holder and e-mails them, adopts the chat's language as
// Disable2FA and ConfirmTOTPEnrollment do (api/portal.openapi.yaml
// Guidedfix-Locale): BeginTOTPReplacement and a wrong code set nothing; a
// successful confirmation in a Malay chat gives an account without a
// language "ms", in time for its e-mail (not the one an account without a
// language gets); an unknown tag is not adopted; a later replacement in an
// English chat keeps "ms".
func testReplacementLocale(s *suite) {
	ms := portal.WithLocale(s.ctx, "ms-MY")
	a, aSecret, _ := s.totpAlice(0)
	b := s.bob(portal.MethodSMS)
	eb := s.enroll(b)
	if err := s.Core.ConfirmTOTPEnrollment(s.ctx, eb.ID, Code(s.t, eb.Secret, s.Now()), "confirm-"+b.ID); err != nil {
		s.t.Fatalf("ConfirmTOTPEnrollment: %v", err)
	}
	s.advance(30 * time.Second)
	if la, lb := s.locale(a.ID), s.locale(b.ID); la != "" || lb != "" {
		s.t.Fatalf("languages %q, %q before the replacement, want none", la, lb)
	}
	ea, err := s.Core.BeginTOTPReplacement(ms, s.totpElevated(a, aSecret).Token, "rl-begin-a")
	if err != nil {
		s.t.Fatal(err)
	}
	WantBadCode(s.t, s.Core.ConfirmTOTPReplacement(ms, ea.ID, WrongCode(s.t, ea.Secret, s.Now()), "rl-wrong-a"), 4)
	if got := s.locale(a.ID); got != "" {
		s.t.Fatalf("BeginTOTPReplacement or a wrong code set the language %q", got)
	}
	if err := s.Core.ConfirmTOTPReplacement(ms, ea.ID, Code(s.t, ea.Secret, s.Now()), "rl-confirm-a"); err != nil {
		s.t.Fatal(err)
	}
	if got := s.locale(a.ID); got != "ms" {
		s.t.Fatalf("language after ConfirmTOTPReplacement with ms-MY = %q, want ms", got)
	}
	ebr, err := s.Core.BeginTOTPReplacement(s.ctx, s.totpElevated(b, eb.Secret).Token, "rl-begin-b")
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.Core.ConfirmTOTPReplacement(portal.WithLocale(s.ctx, "tlh"), ebr.ID, Code(s.t, ebr.Secret, s.Now()), "rl-confirm-b"); err != nil {
		s.t.Fatal(err)
	}
	if got := s.locale(b.ID); got != "" {
		s.t.Fatalf("an unknown tag was adopted: %q", got)
	}
	mailsA, mailsB := s.mailsTo(AliceEmail), s.mailsTo(BobEmail)
	if len(mailsA) == 0 || len(mailsB) == 0 || mailsA[len(mailsA)-1].Subject == mailsB[len(mailsB)-1].Subject {
		s.t.Fatalf("replacement e-mails: alice %q, bob %q; want alice's in Malay, bob's in the default language", subjects(mailsA), subjects(mailsB))
	}
	malay := mailsA[len(mailsA)-1].Subject
	// Alice moves her app again, from an English chat: she keeps Malay.
	s.advance(30 * time.Second)
	ea2, err := s.Core.BeginTOTPReplacement(s.ctx, s.totpElevated(a, ea.Secret).Token, "rl-begin-a2")
	if err != nil {
		s.t.Fatal(err)
	}
	if err := s.Core.ConfirmTOTPReplacement(portal.WithLocale(s.ctx, "en"), ea2.ID, Code(s.t, ea2.Secret, s.Now()), "rl-confirm-a2"); err != nil {
		s.t.Fatal(err)
	}
	mailsA = s.mailsTo(AliceEmail)
	if got := s.locale(a.ID); got != "ms" || mailsA[len(mailsA)-1].Subject != malay {
		s.t.Fatalf("after an English chat: language %q, e-mail %q; want ms and %q", got, mailsA[len(mailsA)-1].Subject, malay)
	}
}
