package main

import (
	"strings"
	"testing"
)

// TestPortalAccountLanguage: `portal add-account --locale ms-MY` stores
// the account's language as ms and `portal show` prints it; an account
// without one shows none yet; a language without e-mail catalogs is
// refused and creates nothing.
func TestPortalAccountLanguage(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	add := func(email string, extra ...string) (string, error) {
		args := append([]string{"portal", "add-account", "--data-dir", dir, "--email", email, "--phone", "+60123456789"}, extra...)
		return runCLI(t, "a-long-password\n", args...)
	}
	if out, err := add("siti@example.com", "--locale", "ms-MY"); err != nil {
		t.Fatalf("add-account --locale ms-MY: %v\n%s", err, out)
	}
	if out, err := add("zoe@example.com"); err != nil {
		t.Fatalf("add-account: %v\n%s", err, out)
	}
	if out, err := add("pierre@example.com", "--locale", "fr"); err == nil {
		t.Fatalf("add-account --locale fr succeeded:\n%s", out)
	}
	for email, want := range map[string]string{"siti@example.com": "language: ms\n", "zoe@example.com": "language: none yet"} {
		out, err := runCLI(t, "", "portal", "show", "--data-dir", dir, email)
		if err != nil || !strings.Contains(out, want) {
			t.Fatalf("show %s (%v):\n%s\nwant %q", email, err, out, want)
		}
	}
	if out, err := runCLI(t, "", "portal", "show", "--data-dir", dir, "pierre@example.com"); err == nil {
		t.Fatalf("the refused account exists:\n%s", out)
	}
}
