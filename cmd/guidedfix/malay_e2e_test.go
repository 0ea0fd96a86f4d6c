package main

import (
	"slices"
	"testing"

	"guidedfix/internal/mailtext"
)

// TestMalayCustomerMailsEndToEnd: `guidedfix serve` with a customer whose
// Telegram client says language_code "ms" and an account without a
// language: the customer goes through the KB steps by the buttons the
// bot offers, the account takes Malay on Disable 2FA, and the security
// alert and the confirmation reach the real SMTP server with exactly the
// ms catalog's subjects, written to the account's address.
func TestMalayCustomerMailsEndToEnd(t *testing.T) {
	e := newE2E(t)
	e.customer.LanguageCode = "ms"

	e.text("/start")
	e.text(zoe)
	e.text(zoePassword)
	e.text(e.smsCode(1))
	e.press("disable")
	e.press("setup")
	e.press("app")
	var photos int
	e.eventually("the QR code", func() bool {
		photos = len(e.tg.Calls("sendPhoto"))
		return photos > 0
	})
	photo := e.tg.Calls("sendPhoto")[photos-1]
	e.text(e.totpCode(e.keyFromQR(photo.Files["photo"].Data)))
	e.press("okay")

	var want []string
	for _, kind := range []string{mailtext.Alert, mailtext.Confirmation} {
		ms, _, err := mailtext.RenderIn("ms", kind, mailtext.Data{})
		if err != nil {
			t.Fatal(err)
		}
		if en, _, _ := mailtext.RenderIn("en", kind, mailtext.Data{}); en == ms {
			t.Fatalf("the ms subject of %s is the English one", kind)
		}
		want = append(want, ms)
	}
	var got []string
	e.eventually("the Malay alert and confirmation", func() bool {
		got = nil
		for _, m := range e.smtp.messages() {
			if m.To == zoe {
				got = append(got, m.Subject)
			}
		}
		return len(got) >= 2
	})
	if !slices.Equal(got, want) {
		t.Fatalf("e-mails to %s: subjects %q, want exactly %q", zoe, got, want)
	}
}
