package main

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"guidedfix/internal/portal/embedded"
)

// controlIn returns the first control or bidi formatting character of s
// other than the line feed that ends lines and the tabwriter's spaces, or -1.
func controlIn(s string) rune {
	for _, r := range s {
		if r != '\n' && (unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r)) {
			return r
		}
	}
	return -1
}

// TestAdminOutputHasNoControls: an e-mail holding a C1 CSI and a
// right-to-left override is refused by portal add-account with an escaped
// error; a ticket holding ESC sequences and a line feed comes out of
// handoff and audit escaped, and no line of output of add-account, list,
// show, unlock, handoff and audit is forged.
func TestAdminOutputHasNoControls(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	t.Setenv("GUIDEDFIX_FLOW__ORDER", "disable-then-enroll")
	t.Setenv("GUIDEDFIX_TELEGRAM__BOT_USERNAME", "guidedfix_bot")
	// An e-mail holding a C1 CSI and a right-to-left override is refused
	// by add-account (portal.NormalizeEmail, fixcore item 2), its error
	// escaped; the other commands run on a plain address.
	bad := "x\u009b2j\u202eevil@example.com"
	if _, err := runCLI(t, "a-long-password\n", "portal", "add-account", "--data-dir", dir, "--email", bad, "--phone", "+60123456789", "--2fa", "sms"); !errors.Is(err, embedded.ErrInvalidAccount) || controlIn(err.Error()) >= 0 {
		t.Fatalf("add-account %q: %v, want ErrInvalidAccount, escaped", bad, err)
	}
	email := "evil@example.com"
	ticket := "T-1\x1b]0;pwned\x07\x1b[2J\nunlocked everyone"
	runs := [][]string{
		{"portal", "add-account", "--data-dir", dir, "--email", email, "--phone", "+60123456789", "--2fa", "sms", "--name", "Siti"},
		{"portal", "list", "--data-dir", dir},
		{"portal", "show", "--data-dir", dir, email},
		{"handoff", "--data-dir", dir, email, ticket},
		{"audit", "--data-dir", dir, email},
		{"portal", "unlock", "--data-dir", dir, "--operator", "op", email},
	}
	outputs := map[string]string{}
	for _, args := range runs {
		out, err := runCLI(t, "a-long-password\n", args...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args[:2], err, out)
		}
		if r := controlIn(out); r >= 0 {
			t.Errorf("%v prints %U:\n%q", args[:2], r, out)
		}
		outputs[args[0]+" "+args[1]] = out
	}
	if out := outputs["portal list"]; !strings.Contains(out, email) || strings.Count(out, "\n") != 2 {
		t.Errorf("portal list:\n%q", out)
	}
	if out := outputs["audit --data-dir"]; !strings.Contains(out, `ticket T-1\nunlocked everyone`) || strings.Contains(out, "pwned") {
		t.Errorf("audit:\n%q", out)
	}
	// An error quoting the argument is escaped too.
	_, err := runCLI(t, "", "portal", "show", "--data-dir", dir, "no\x1b[2Jbody@example.com")
	if err == nil || controlIn(err.Error()) >= 0 {
		t.Errorf("error %q", err)
	}
}
