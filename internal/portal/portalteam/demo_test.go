package portalteam

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"
)

// syncBuffer collects the demo's output while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// buildGuidedfix builds the real guidedfix binary into a temporary directory
// and returns that directory and the binary's path.
func buildGuidedfix(t *testing.T) (dir, bin string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds the guidedfix binary")
	}
	dir = t.TempDir()
	bin = filepath.Join(dir, "guidedfix")
	build := exec.Command("go", "build", "-o", bin, "guidedfix/cmd/guidedfix")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return dir, bin
}

const (
	teamToken    = "team-token-0123456789abcdef-0123456789"
	teamPassword = "correct horse battery staple"
)

// startTeamServer serves srv on 127.0.0.1:0 and returns its URL.
func startTeamServer(t *testing.T, srv *teamServer) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: srv.handler(), ReadHeaderTimeout: 5 * time.Second}
	go hs.Serve(ln)
	t.Cleanup(func() { hs.Close() })
	return "http://" + ln.Addr().String()
}

// runDemo runs `guidedfix demo --portal-url` against srv for the account
// alice@example.com (accID), typing through a pipe: the e-mail, the password,
// the SMS code from the in-memory phone, a TOTP code from the pending
// enrollment's secret, and otherwise the first button (the step forward).
// It closes the input (Ctrl-D) once the change is done, or earlier when
// abandon reports true on the server's state. It returns the demo's output.
func runDemo(t *testing.T, srv *teamServer, accID string, abandon func(snapshot) bool) string {
	t.Helper()
	dir, bin := buildGuidedfix(t)
	url := startTeamServer(t, srv)
	password := teamPassword
	token := teamToken
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "demo", "--portal-url", url, "--email", "alice@example.com")
	cmd.Env = append(os.Environ(),
		"GUIDEDFIX_PORTAL__TOKEN="+token,
		"GUIDEDFIX_DATA_DIR="+filepath.Join(dir, "data"),
	)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()

	say := func(line string) {
		t.Helper()
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Errorf("write to demo: %v", err)
		}
	}
	// The demo asks one question at a time; answer each new prompt once
	// the output has been quiet for a moment: the e-mail, the password, the
	// SMS code from the in-memory phone, a TOTP code from the pending
	// enrollment's secret, and otherwise its first button (the step forward).
	answers := []string{"alice@example.com", password}
	answered, lastLen, quietSince, presses := 0, 0, time.Now(), 0
	smsTyped, totpTyped := false, false
	var waitErr error
loop:
	for {
		select {
		case waitErr = <-done:
			break loop
		case <-time.After(50 * time.Millisecond):
		}
		log := out.String()
		if len(log) != lastLen {
			lastLen, quietSince = len(log), time.Now()
			continue
		}
		if time.Since(quietSince) < 300*time.Millisecond || !strings.HasSuffix(strings.TrimRight(log, " "), "you ›") {
			continue
		}
		prompt := log[strings.LastIndex(log, "guidedfix ›"):]
		secret, pending := srv.pendingSecret(accID)
		switch {
		case abandon != nil && abandon(srv.snapshot(accID)):
			stdin.Close() // the customer walks away: Ctrl-D
		case strings.Contains(log, "All done!"):
			stdin.Close() // the change is finished: leave the demo (Ctrl-D)
		case answered < len(answers):
			say(answers[answered])
			answered++
		case !smsTyped && strings.Contains(prompt, "SMS"):
			m := mustSMS(t, srv)
			say(m.code)
			smsTyped = true
		case !totpTyped && pending && strings.Contains(prompt, "6-digit"):
			code, err := totp.GenerateCode(secret, time.Now())
			if err != nil {
				t.Fatal(err)
			}
			say(code)
			totpTyped = true
		default:
			if presses++; presses > 8 {
				t.Fatalf("the demo does not move on\n%s", log)
			}
			say("1")
		}
		lastLen = -1
	}
	log := out.String()
	if waitErr != nil {
		t.Fatalf("demo: %v\n%s", waitErr, log)
	}
	fileLog, err := os.ReadFile(filepath.Join(dir, "data", "guidedfix.log"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(log, password) || strings.Contains(string(fileLog), password) {
		t.Fatal("the demo's output or log holds the password")
	}
	if _, err := os.Stat(filepath.Join(dir, "data", "portal.db")); !os.IsNotExist(err) {
		t.Fatalf("a remote-portal demo made a portal.db (stat: %v)", err)
	}
	return log
}

// TestDemoCompletesAgainstTeamServer runs the real guidedfix demo against
// teamServer (written from the OpenAPI document alone) in its default
// enroll-then-switch order (atomicSwitch). The change must complete: method
// totp, exactly one enrollment confirmed and none pending, one SMS sent, no
// disable and no restore.
func TestDemoCompletesAgainstTeamServer(t *testing.T) {
	srv := newTeamServer("old-token-rotating-out", teamToken)
	accID := srv.addAccount("alice@example.com", "Alice", "+60123456789", teamPassword)
	log := runDemo(t, srv, accID, nil)
	got := srv.snapshot(accID)
	if !strings.Contains(log, "All done!") || got.method != "totp" || got.confirmed != 1 || got.pending != 0 {
		t.Fatalf("account after the demo: method %q, confirmed %d, pending %d; want totp, 1, 0\n%s",
			got.method, got.confirmed, got.pending, log)
	}
	if got.smsSent != 1 || got.calls["disable2FA"] != 0 || got.calls["restoreFactor"] != 0 || got.calls["confirmTOTPEnrollment"] != 1 {
		t.Fatalf("SMS sent %d, calls %v; want 1 SMS, no disable2FA or restoreFactor, one confirm\n%s", got.smsSent, got.calls, log)
	}
	t.Logf("calls: %v", got.calls)
}

// TestDemoDisableThenEnrollAgainstTeamServer runs the demo against a
// teamServer without atomicSwitch: guidedfix must fall back to
// disable-then-enroll (one disable2FA, then TOTP) and still end with method
// totp and one confirmed enrollment, without restoring SMS.
func TestDemoDisableThenEnrollAgainstTeamServer(t *testing.T) {
	srv := newTeamServer(teamToken)
	srv.atomicSwitch = false
	accID := srv.addAccount("alice@example.com", "Alice", "+60123456789", teamPassword)
	log := runDemo(t, srv, accID, nil)
	got := srv.snapshot(accID)
	if !strings.Contains(log, "All done!") || got.method != "totp" || got.confirmed != 1 || got.pending != 0 {
		t.Fatalf("account after the demo: method %q, confirmed %d, pending %d; want totp, 1, 0\n%s",
			got.method, got.confirmed, got.pending, log)
	}
	if got.smsSent != 1 || got.calls["disable2FA"] != 1 || got.calls["restoreFactor"] != 0 {
		t.Fatalf("SMS sent %d, calls %v; want 1 SMS, one disable2FA, no restoreFactor\n%s", got.smsSent, got.calls, log)
	}
	t.Logf("calls: %v", got.calls)
}

// TestDemoAbandonedSwitchRestoresSMSOnTeamServer closes the demo's input
// right after the disable in disable-then-enroll order: guidedfix must call
// restoreFactor, so the account ends with method sms again and no enrollment
// pending or confirmed.
func TestDemoAbandonedSwitchRestoresSMSOnTeamServer(t *testing.T) {
	srv := newTeamServer(teamToken)
	srv.atomicSwitch = false
	accID := srv.addAccount("alice@example.com", "Alice", "+60123456789", teamPassword)
	log := runDemo(t, srv, accID, func(s snapshot) bool { return s.method == "none" })
	got := srv.snapshot(accID)
	if got.method != "sms" || got.phone != "+60123456789" || got.confirmed != 0 || got.pending != 0 {
		t.Fatalf("account after the abandoned demo: method %q, phone %q, confirmed %d, pending %d; want sms, +60123456789, 0, 0\n%s",
			got.method, got.phone, got.confirmed, got.pending, log)
	}
	if got.calls["disable2FA"] != 1 || got.calls["restoreFactor"] != 1 {
		t.Fatalf("calls %v; want one disable2FA and one restoreFactor\n%s", got.calls, log)
	}
	t.Logf("calls: %v", got.calls)
}

func mustSMS(t *testing.T, s *teamServer) sms {
	m, ok := s.lastSMS(0)
	if !ok {
		t.Fatal("no SMS")
	}
	return m
}
