package mailtext

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestRender: every kind renders with the holder's name, no leftover
// template, and ends with the support contact.
func TestRender(t *testing.T) {
	d := Data{Holder: "Ana Lee", Email: "ana@example.com", Issuer: "IP ServerOne", At: "2026-01-02 03:04:05",
		Phone: "+60•••••789", Link: "https://t.me/bot?start=x", Expires: "2026-01-03 03:04", Support: "support@ipserverone.example, +60 3 1234 5678"}
	for _, kind := range []string{Alert, Restored, Confirmation, Handoff, RecoveryReplaced, TOTPReplaced, HandoffNewPhone} {
		subject, text, err := Render(kind, d)
		if err != nil {
			t.Fatal(err)
		}
		if subject == "" || !strings.HasPrefix(text, "Hello Ana Lee,\n") || strings.Contains(text, "{{") || strings.Contains(text, "<no value>") {
			t.Errorf("%s: %q\n%s", kind, subject, text)
		}
		if !strings.HasSuffix(text, "\n\nOur support team: support@ipserverone.example, +60 3 1234 5678\n") {
			t.Errorf("%s does not end with the support contact:\n%s", kind, text)
		}
	}
	_, text, err := Render(Alert, Data{Holder: "a@example.com", Email: "a@example.com", Issuer: "X", At: "t"})
	if err != nil || !strings.HasSuffix(text, "\n\nOur support team: reply through the Customer Portal's support page (My Account > Support).\n") {
		t.Fatalf("default footer: %v\n%s", err, text)
	}
	if _, _, err := Render("nope", d); err == nil {
		t.Fatal("unknown kind rendered")
	}
}

// TestRenderIn: a Malay locale ("ms", "ms-MY") gets the ms catalog's
// subject, greeting and footer for every kind, with every placeholder
// filled; a locale without a catalog and "" get exactly the English text.
func TestRenderIn(t *testing.T) {
	b, err := files.ReadFile("locales/ms.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var ms map[string]any
	if err := yaml.Unmarshal(b, &ms); err != nil {
		t.Fatal(err)
	}
	d := Data{Holder: "Ana Lee", Email: "ana@example.com", Issuer: "IP ServerOne", At: "2026-01-02 03:04:05",
		Phone: "+60•••••789", Link: "https://t.me/bot?start=x", Expires: "2026-01-03 03:04", Support: "support@ipserverone.example"}
	for _, kind := range []string{Alert, Restored, Confirmation, Handoff, RecoveryReplaced, TOTPReplaced, HandoffNewPhone} {
		enSubject, enText, err := Render(kind, d)
		if err != nil {
			t.Fatal(err)
		}
		for _, locale := range []string{"ms", "ms-MY"} {
			subject, text, err := RenderIn(locale, kind, d)
			if err != nil {
				t.Fatalf("%s %s: %v", locale, kind, err)
			}
			if want := ms["mail."+kind+".subject"]; subject != want {
				t.Errorf("%s %s subject = %q, want %q", locale, kind, subject, want)
			}
			if !strings.HasPrefix(text, "Yang dihormati Ana Lee,\n") || strings.Contains(text, "{{") || strings.Contains(text, "<no value>") {
				t.Errorf("%s %s:\n%s", locale, kind, text)
			}
			for _, v := range []string{d.Email, d.At, d.Link, d.Phone} {
				if strings.Contains(enText, v) != strings.Contains(text, v) {
					t.Errorf("%s %s: %q in en %v, in ms %v", locale, kind, v, strings.Contains(enText, v), strings.Contains(text, v))
				}
			}
			if !strings.HasSuffix(text, "\n\nPasukan sokongan kami: support@ipserverone.example\n") {
				t.Errorf("%s %s does not end with the ms support footer:\n%s", locale, kind, text)
			}
		}
		for _, locale := range []string{"", "en", "fr"} {
			subject, text, err := RenderIn(locale, kind, d)
			if err != nil || subject != enSubject || text != enText {
				t.Errorf("locale %q %s: %v %q\n%s", locale, kind, err, subject, text)
			}
		}
	}
}

// TestRenderLockKinds: the paused and blocked e-mails name the count and
// the factor by its catalog name in the locale, and an unknown factor is
// an error rather than a blank.
func TestRenderLockKinds(t *testing.T) {
	d := Data{Holder: "Aisyah", Email: "a@example.com", Issuer: "IP ServerOne", At: "2026-12-02 10:00:00", Count: 5, Factor: "sms", Support: "support@example.com"}
	_, text, err := Render(Paused, d)
	if err != nil || !strings.Contains(text, "5 wrong attempts in a row at the SMS code of your") {
		t.Fatalf("paused: %v\n%s", err, text)
	}
	_, text, err = RenderIn("ms", Blocked, d)
	if err != nil || !strings.Contains(text, "5 cubaan salah berturut-turut pada kod SMS akaun") {
		t.Fatalf("blocked in ms: %v\n%s", err, text)
	}
	d.Factor = "fingerprint"
	if _, _, err := Render(Paused, d); err == nil {
		t.Fatal("an unknown factor rendered")
	}
}
