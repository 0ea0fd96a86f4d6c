package mailtext

import (
	"strings"
	"testing"
)

// TestRender: every kind renders with the holder's name, no leftover
// template, and ends with the support contact.
func TestRender(t *testing.T) {
	d := Data{Holder: "Ana Lee", Email: "ana@example.com", Issuer: "IP ServerOne", At: "2026-01-02 03:04:05",
		Phone: "+60•••••789", Link: "https://t.me/bot?start=x", Expires: "2026-01-03 03:04", Support: "support@ipserverone.example, +60 3 1234 5678"}
	for _, kind := range []string{Alert, Restored, Confirmation, Handoff} {
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
