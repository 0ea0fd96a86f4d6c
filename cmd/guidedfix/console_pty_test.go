package main

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"guidedfix/internal/portal"
)

// TestDemoCtrlDAtHiddenPrompt runs the built `guidedfix demo` on a real
// pseudo-terminal and presses Ctrl-D at each hidden prompt (password, SMS
// code, authenticator code, read without echo): the input ends as at a
// visible prompt, the unfinished change is cancelled, the demo exits 0,
// the account has SMS 2FA and no QR image stays on disk.
func TestDemoCtrlDAtHiddenPrompt(t *testing.T) {
	bin := binary(t)
	for _, tc := range []struct {
		name string
		at   func(screen string) bool
	}{
		{"password", func(s string) bool { return strings.Contains(s, "type your account password") }},
		{"sms_code", reSMSCode.MatchString},
		{"totp_code", reQRFile.MatchString},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			demo := startPTYDemo(t, bin, "GUIDEDFIX_DATA_DIR="+dir, "GUIDEDFIX_FLOW__ORDER=disable-then-enroll")
			u := &demoUser{t: t}
			pressed := false
			demo.converse(func(s string) []byte {
				if pressed {
					return nil
				}
				if tc.at(s) {
					pressed = true
					return []byte{4} // Ctrl-D (VEOF)
				}
				line := u.answer(s)
				if line == "" {
					t.Fatalf("no answer for screen:\n%s", s)
				}
				return []byte(line + "\r")
			}, func() string { return fmt.Sprintf(" (Ctrl-D pressed: %v)", pressed) })
			demo.wait()
			transcript := &demo.transcript
			if !pressed {
				t.Fatalf("the hidden prompt never came:\n%s", transcript.String())
			}
			if !strings.Contains(transcript.String(), "ending it") {
				t.Fatalf("the change was not ended:\n%s", transcript.String())
			}
			core, acc := openAccount(t, dir, "demo@example.com")
			defer core.Close()
			if acc.Method != portal.MethodSMS {
				t.Fatalf("account method %q, want sms", acc.Method)
			}
			if pngs, _ := filepath.Glob(filepath.Join(dir, "outbox", "qr", "*.png")); len(pngs) != 0 {
				t.Fatalf("QR files left: %v", pngs)
			}
			// The password, shown in the banner, was typed without echo:
			// it appears once.
			if u.password == "" {
				t.Fatal("no password in the banner")
			}
			if n := strings.Count(transcript.String(), u.password); tc.name != "password" && n != 1 {
				t.Errorf("the typed password appears %d times on screen, want 1 (the banner)", n)
			}
		})
	}
}
