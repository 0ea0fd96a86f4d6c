package main

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/internal/portal"
)

// TestServeDeletesQROfAbandonedDemo: the demo is killed (kill -9) at the
// QR step, so its QR image stays in DATA/outbox/qr and its session is
// left with SMS 2FA off. `guidedfix serve` on the same data directory
// ends that session when its deadline passes: SMS 2FA is back on and the
// QR image is deleted, although no terminal runs the console.
func TestServeDeletesQROfAbandonedDemo(t *testing.T) {
	dir := t.TempDir()
	timing := []string{"GUIDEDFIX_FLOW__ORDER=disable-then-enroll", "GUIDEDFIX_FLOW__IDLE_TIMEOUT=4s",
		"GUIDEDFIX_FLOW__REMINDER_AFTER=2s", "GUIDEDFIX_FLOW__SWEEP_INTERVAL=1s"}
	cmd := exec.Command(binary(t), "demo")
	cmd.Env = append(append(os.Environ(), "GUIDEDFIX_DATA_DIR="+dir), timing...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	u := &demoUser{t: t}
	var screen, transcript strings.Builder
	buf := make([]byte, 4096)
	var png string
	for png == "" {
		n, err := stdout.Read(buf)
		screen.Write(buf[:n])
		transcript.Write(buf[:n])
		if err != nil {
			_ = cmd.Process.Kill()
			t.Fatalf("demo output ended before the QR step: %v\n%s", err, transcript.String())
		}
		s := screen.String()
		if !strings.HasSuffix(s, "you › ") {
			continue
		}
		if m := reQRFile.FindStringSubmatch(s); m != nil {
			png = m[1]
			break
		}
		line := u.answer(s)
		if line == "" {
			_ = cmd.Process.Kill()
			t.Fatalf("no answer for screen:\n%s", s)
		}
		screen.Reset()
		if _, err := io.WriteString(stdin, line+"\n"); err != nil {
			t.Fatal(err)
		}
	}
	_ = cmd.Process.Kill() // kill -9: the demo cannot clean up
	_ = cmd.Wait()
	if _, err := os.Stat(png); err != nil {
		t.Fatalf("the QR image is not on disk after the kill: %v", err)
	}
	if filepath.Dir(png) != filepath.Join(dir, "outbox", "qr") {
		t.Fatalf("QR image %s outside DATA/outbox/qr", png)
	}
	core, acc := openAccount(t, dir, "demo@example.com")
	core.Close()
	if acc.Method == portal.MethodSMS {
		t.Fatal("SMS 2FA is still on at the QR step: the test would prove nothing")
	}

	fake := fakebotapi.New(fakebotapi.Options{Token: "123:TEST", BotUsername: "guidedfix_bot"})
	t.Cleanup(fake.Close)
	t.Setenv("TELEGRAM_BOT_TOKEN", "123:TEST")
	t.Setenv("GUIDEDFIX_TELEGRAM__API_URL", fake.URL)
	t.Setenv("GUIDEDFIX_TELEGRAM__BOT_USERNAME", "guidedfix_bot")
	t.Setenv("GUIDEDFIX_LOG__LEVEL", "error")
	for _, kv := range timing {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, &globalFlags{dataDir: dir}, serveFlags{}) }()
	deadline := time.Now().Add(45 * time.Second)
	for {
		if _, err := os.Stat(png); os.IsNotExist(err) {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			<-done
			t.Fatal("serve did not delete the QR image of the abandoned demo session")
		}
		time.Sleep(200 * time.Millisecond)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v", err)
		}
	case <-time.After(70 * time.Second):
		t.Fatal("serve did not stop")
	}
	core, acc = openAccount(t, dir, "demo@example.com")
	defer core.Close()
	if acc.Method != portal.MethodSMS {
		t.Fatalf("account method %q after serve ended the session, want sms", acc.Method)
	}
}
