package embedded

import (
	"context"
	"errors"
	"strings"
	"testing"

	"guidedfix/internal/portal"
)

// TestRecoveryCodeUseNotifies (security checklist item 31, NIST SP
// 800-63B-4 §4.2.1.1/§4.6): each use of a recovery code e-mails the
// account holder exactly once, with the count left and the support
// contact, never the code; a wrong or replayed code sends no such e-mail.
func TestRecoveryCodeUseNotifies(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.SupportContact = "support@ipserverone.example" })
	ctx := context.Background()
	a, enID := e.confirmed(t)
	codes, err := e.core.IssueRecoveryCodes(ctx, enID, 3)
	if err != nil {
		t.Fatal(err)
	}
	notices := func() []string {
		var out []string
		for _, m := range e.mail.Messages() {
			if m.Subject == "Security alert: a recovery code was used on your account" {
				if m.To != a.Email || !strings.Contains(m.Text, "support@ipserverone.example") {
					t.Fatalf("notice to %q without the contact:\n%s", m.To, m.Text)
				}
				for _, c := range codes {
					if strings.Contains(m.Text, c) || strings.Contains(m.Text, strings.ReplaceAll(c, "-", "")) {
						t.Fatal("the notice holds a recovery code")
					}
				}
				out = append(out, m.Text)
			}
		}
		return out
	}
	if err := e.core.VerifyRecoveryCode(ctx, a.ID, codes[0]); err != nil {
		t.Fatal(err)
	}
	if n := notices(); len(n) != 1 || !strings.Contains(n[0], "Unused recovery codes left: 2.") {
		t.Fatalf("after one use: %q", n)
	}
	var bad *portal.BadCodeError
	if err := e.core.VerifyRecoveryCode(ctx, a.ID, codes[0]); !errors.As(err, &bad) {
		t.Fatalf("second use: %v", err)
	}
	if n := notices(); len(n) != 1 {
		t.Fatalf("a refused code sent a notice: %d", len(n))
	}
	e.clock.Advance(1)
	if err := e.core.VerifyRecoveryCode(ctx, a.ID, codes[1]); err != nil {
		t.Fatal(err)
	}
	if n := notices(); len(n) != 2 || !strings.Contains(n[1], "Unused recovery codes left: 1.") {
		t.Fatalf("after the second use: %q", n)
	}
}
