package main

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"

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
			cmd := exec.Command(bin, "demo")
			cmd.Env = append(os.Environ(), "GUIDEDFIX_DATA_DIR="+dir, "GUIDEDFIX_FLOW__ORDER=disable-then-enroll")
			tty, err := pty.Start(cmd)
			if err != nil {
				t.Fatal(err)
			}
			defer tty.Close()
			exited := make(chan error, 1)
			chunks := make(chan string)
			go func() {
				buf := make([]byte, 4096)
				for {
					n, err := tty.Read(buf)
					if n > 0 {
						chunks <- string(buf[:n])
					}
					if err != nil { // EIO once the demo has exited
						close(chunks)
						return
					}
				}
			}()
			go func() { exited <- cmd.Wait() }()

			u := &demoUser{t: t}
			var transcript, screen strings.Builder
			pressed := false
			deadline := time.After(time.Minute)
		read:
			for {
				select {
				case c, ok := <-chunks:
					if !ok {
						break read
					}
					transcript.WriteString(c)
					screen.WriteString(c)
				case <-deadline:
					_ = cmd.Process.Kill()
					t.Fatalf("the demo did not end (Ctrl-D pressed: %v):\n%s", pressed, transcript.String())
				}
				s := screen.String()
				if pressed || !strings.HasSuffix(strings.TrimRight(s, " "), "you ›") {
					continue
				}
				if tc.at(s) {
					if _, err := tty.Write([]byte{4}); err != nil { // Ctrl-D (VEOF)
						t.Fatal(err)
					}
					pressed = true
					screen.Reset()
					continue
				}
				line := u.answer(s)
				if line == "" {
					t.Fatalf("no answer for screen:\n%s", s)
				}
				screen.Reset()
				if _, err := tty.Write([]byte(line + "\r")); err != nil {
					t.Fatal(err)
				}
			}
			var werr error
			select {
			case werr = <-exited:
			case <-time.After(time.Minute):
				_ = cmd.Process.Kill()
				t.Fatalf("the demo did not exit:\n%s", transcript.String())
			}
			var exit *exec.ExitError
			if errors.As(werr, &exit) || werr != nil {
				t.Fatalf("demo exited with %v:\n%s", werr, transcript.String())
			}
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
