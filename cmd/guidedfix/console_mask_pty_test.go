package main

import (
	"strings"
	"testing"
)

// TestDemoHidesSecretsAtVisiblePromptsAfterALockout runs the built
// `guidedfix demo` on a pseudo-terminal: five wrong passwords lock the
// account; the password typed again at the visible prompt that follows
// is never echoed (echo stays off after the hidden prompt and that line is
// shown as dots), and a secret-looking line typed at a later visible
// prompt is erased once read (CUU, CR, ED) and shown as dots; an e-mail
// stays visible.
func TestDemoHidesSecretsAtVisiblePromptsAfterALockout(t *testing.T) {
	bin := binary(t)
	demo := startPTYDemo(t, bin, "GUIDEDFIX_DATA_DIR="+t.TempDir(), "GUIDEDFIX_FLOW__ORDER=disable-then-enroll")

	const afterLock, later = "again-Passw0rd-1", "later-Passw0rd-2"
	lines := []string{"demo@example.com"}
	for i := 1; i <= 5; i++ {
		lines = append(lines, "wrong-password-"+string(rune('0'+i)))
	}
	lines = append(lines, afterLock, later, "/start", "demo@example.com")
	sent := 0
	demo.converse(func(string) []byte {
		b := []byte{4} // Ctrl-D once every line is typed
		if sent < len(lines) {
			b = []byte(lines[sent] + "\r")
		}
		sent++
		return b
	}, func() string { return "" })
	demo.wait()
	out := demo.transcript.String()
	if !strings.Contains(out, "locked") || sent <= len(lines) {
		t.Fatalf("no lockout, or not every line typed (%d of %d):\n%s", sent, len(lines), out)
	}
	for _, secret := range []string{afterLock, "wrong-password-"} {
		if strings.Contains(out, secret) {
			t.Errorf("%q was echoed:\n%q", secret, out)
		}
	}
	// The later one was echoed by the terminal as it was typed, then
	// erased and replaced by dots.
	if i := strings.Index(out, later); i < 0 || !strings.Contains(out[i:], "\x1b[1A\r\x1b[Jyou › ••••••") {
		t.Errorf("the secret-looking line at a visible prompt was not erased:\n%q", out)
	}
	if strings.Count(out, "you › ••••••") < 2 {
		t.Errorf("fewer than 2 masked lines:\n%q", out)
	}
	if strings.Count(out, "demo@example.com") < 3 {
		t.Errorf("the typed e-mail is not shown:\n%q", out)
	}
}
