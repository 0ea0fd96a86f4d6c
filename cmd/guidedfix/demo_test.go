package main

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
	"guidedfix/internal/qr/qrdecode"
)

// demoUser answers the demo's prompts the way a person reading the
// terminal would: it reads the password from the banner, the SMS code from
// the phone box, the QR code from the PNG file named on screen.
type demoUser struct {
	t *testing.T
	// step is the time step offset of the codes the user types (the app's
	// next code is accepted too, RFC 6238 §5.2 one step of skew).
	step     int
	password string
	secrets  []string
	key      *otp.Key
	// quitAt, if set, makes the user close the input (Ctrl-D) instead of
	// answering the first screen that contains it.
	quitAt string
	// email is the address typed (default demo@example.com); smsCode, if
	// set, reads the SMS code from where a remote portal sent it.
	email   string
	smsCode func() string
	// pinned: the demo was given the account (--email with a remote
	// portal), so being asked for an e-mail fails the test.
	pinned bool
}

var (
	rePassword = regexp.MustCompile(`password: (\S+)`)
	reSMSCode  = regexp.MustCompile(`verification code is (\d{6})`)
	reQRFile   = regexp.MustCompile(`\(QR code image: (\S+\.png)\)`)
)

// answer returns the line to type after screen (the output since the last
// answer), or "" when the screen asks nothing the user recognises.
func (u *demoUser) answer(screen string) string {
	u.t.Helper()
	if m := rePassword.FindStringSubmatch(screen); m != nil {
		u.password = m[1]
		u.secrets = append(u.secrets, m[1])
	}
	switch {
	case strings.Contains(screen, "Which e-mail address"):
		if u.pinned {
			u.t.Fatalf("the demo with a pinned account asked for an e-mail:\n%s", screen)
		}
		if u.email != "" {
			return u.email
		}
		return "demo@example.com"
	case u.smsCode != nil && strings.Contains(screen, "I sent a 6-digit code by SMS"):
		code := u.smsCode()
		u.secrets = append(u.secrets, code)
		return code
	case strings.Contains(screen, "type your account password"):
		return u.password
	case reSMSCode.MatchString(screen):
		code := reSMSCode.FindStringSubmatch(screen)[1]
		u.secrets = append(u.secrets, code)
		return code
	case strings.Contains(screen, `Choose "Disable 2FA"`):
		return "disable 2fa" // a label, typed in another case
	case strings.Contains(screen, `Choose "Setup Two-Factor Authentication"`):
		return "1" // a button number
	case strings.Contains(screen, "Choose your two-factor method"):
		return "Authenticator App"
	case reQRFile.MatchString(screen):
		png, err := os.ReadFile(reQRFile.FindStringSubmatch(screen)[1])
		if err != nil {
			u.t.Fatalf("read QR file: %v", err)
		}
		uri, err := qrdecode.Decode(png)
		if err != nil {
			u.t.Fatalf("decode QR: %v", err)
		}
		if u.key, err = otp.NewKeyFromURL(uri); err != nil {
			u.t.Fatal(err)
		}
		code, err := totp.GenerateCode(u.key.Secret(), time.Now().Add(time.Duration(u.step)*30*time.Second))
		if err != nil {
			u.t.Fatal(err)
		}
		u.secrets = append(u.secrets, u.key.Secret(), code)
		return code
	case strings.Contains(screen, `Choose "Okay"`):
		return "okay"
	}
	return ""
}

// runDemoAsUser runs the demo on dir with opts and answers its prompts as
// u until the guided change ends; it returns the transcript and the number
// of answers typed.
func runDemoAsUser(t *testing.T, dir string, opts demoOptions, u *demoUser) (string, int) {
	t.Helper()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := runDemo(context.Background(), &globalFlags{dataDir: dir}, inR, outW, opts)
		outW.Close()
		done <- err
	}()
	var transcript, screen bytes.Buffer
	buf := make([]byte, 4096)
	answers := 0
	for {
		n, err := outR.Read(buf)
		transcript.Write(buf[:n])
		screen.Write(buf[:n])
		if strings.HasSuffix(screen.String(), "you › ") && strings.Contains(screen.String(), "press Ctrl-D to leave") {
			inW.Close() // the guided change has ended: leave
			screen.Reset()
		}
		if u.quitAt != "" && strings.HasSuffix(screen.String(), "you › ") && strings.Contains(screen.String(), u.quitAt) {
			inW.Close()
			screen.Reset()
		}
		if strings.HasSuffix(screen.String(), "you › ") {
			line := u.answer(screen.String())
			if line == "" {
				t.Fatalf("no answer for screen:\n%s", screen.String())
			}
			screen.Reset()
			answers++
			if _, err := io.WriteString(inW, line+"\n"); err != nil {
				t.Fatal(err)
			}
		}
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	inW.Close()
	if err := <-done; err != nil {
		t.Fatalf("demo: %v\n%s", err, transcript.String())
	}
	return transcript.String(), answers
}

// TestDemoEndToEnd runs `guidedfix demo` on a fresh data directory through
// pipes, as a person at the terminal would, and checks the outcome on disk,
// in the default order (enroll-then-switch: SMS is never off, so no
// "disabled" alert) and in the knowledge-base order.
func TestDemoEndToEnd(t *testing.T) {
	for _, tc := range []struct {
		order  string
		alerts int
	}{{"", 0}, {"disable-then-enroll", 1}} {
		t.Run("order="+tc.order, func(t *testing.T) { demoEndToEnd(t, tc.order, tc.alerts) })
	}
}

func demoEndToEnd(t *testing.T, order string, wantAlerts int) {
	dir := t.TempDir()
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	if order != "" {
		t.Setenv("GUIDEDFIX_FLOW__ORDER", order)
	}
	u := &demoUser{t: t}
	out, answers := runDemoAsUser(t, dir, demoOptions{}, u)
	if answers != 8 {
		t.Errorf("%d answers, want 8 (e-mail, password, SMS code, Disable 2FA, Setup, Authenticator App, code, Okay)", answers)
	}
	for _, want := range []string{"Step 1 of 5", "Step 2 of 5", "Step 3 of 5", "Step 4 of 5", "Step 5 of 5", "All done!", "the QR code above has been removed"} {
		if !strings.Contains(out, want) {
			t.Errorf("transcript lacks %q", want)
		}
	}
	if strings.Contains(out, "confirm your password again") {
		t.Error("the password was asked again although the grant was fresh")
	}

	// The QR PNG is gone from the outbox.
	if pngs, _ := filepath.Glob(filepath.Join(dir, "outbox", "qr", "*.png")); len(pngs) != 0 {
		t.Errorf("QR files left: %v", pngs)
	}
	// Exactly one security alert and one confirmation e-mail.
	ob, err := mail.NewOutbox(filepath.Join(dir, "outbox", "mail"))
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := ob.List()
	var alerts, confirmations int
	for _, p := range paths {
		m, err := mail.ReadEML(p)
		if err != nil {
			t.Fatal(err)
		}
		if m.To != "demo@example.com" {
			t.Errorf("mail to %q", m.To)
		}
		subj := strings.ToLower(m.Subject)
		switch {
		case strings.Contains(subj, "disabled"):
			alerts++
		case strings.Contains(subj, "totp") || strings.Contains(subj, "authenticator"):
			confirmations++
		}
		for _, s := range u.secrets {
			if strings.Contains(m.Text, s) {
				t.Errorf("e-mail %q contains a secret", m.Subject)
			}
		}
	}
	if len(paths) != 1+wantAlerts || alerts != wantAlerts || confirmations != 1 {
		t.Errorf("%d e-mails: %d alerts, %d confirmations; want exactly %d and 1", len(paths), alerts, confirmations, wantAlerts)
	}
	// No secret in the log or the session store.
	for _, f := range []string{"guidedfix.log", "sessions.db"} {
		raw, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if len(raw) == 0 && f == "guidedfix.log" {
			t.Errorf("the log is empty: the secret scan would prove nothing")
		}
		for _, s := range u.secrets {
			if bytes.Contains(raw, []byte(s)) {
				t.Errorf("%s contains a secret (%d bytes)", f, len(s))
			}
		}
	}
	if len(u.secrets) != 4 {
		t.Errorf("collected %d secrets, want password, SMS code, TOTP secret and code", len(u.secrets))
	}

	// The account now uses TOTP; the app's current code is a replay, a code
	// two time steps old is refused.
	core, acc := openAccount(t, dir, "demo@example.com")
	defer core.Close()
	if acc.Method != portal.MethodTOTP {
		t.Fatalf("account %+v: want method totp", acc)
	}
	old, _ := totp.GenerateCode(u.key.Secret(), time.Now().Add(-60*time.Second))
	if err := core.VerifyTOTP(context.Background(), acc.ID, old); err == nil {
		t.Error("a code two time steps old was accepted")
	}
}

// TestDemoRunsAgainOnTheSameDataDir runs the demo a second time with
// --reset on a used data directory: the new run's lines must be handled,
// not dropped as duplicates of the first run's.
func TestDemoRunsAgainOnTheSameDataDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	t.Setenv("GUIDEDFIX_FLOW__ORDER", "disable-then-enroll")
	runDemoAsUser(t, dir, demoOptions{}, &demoUser{t: t})
	// The first run's code used this time step; the account never accepts
	// it again, so the user types the app's next code.
	out, answers := runDemoAsUser(t, dir, demoOptions{reset: true}, &demoUser{t: t, step: 1})
	if answers != 8 || !strings.Contains(out, "All done!") {
		t.Fatalf("second run: %d answers\n%s", answers, out)
	}
}

// TestDemoInputEndsAfterDisable: the input ends (Ctrl-D, a closed pipe)
// with SMS 2FA off and the QR code on disk: the demo cancels the change
// before it exits, so the account has SMS 2FA again and no QR image stays.
func TestDemoInputEndsAfterDisable(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	t.Setenv("GUIDEDFIX_FLOW__ORDER", "disable-then-enroll")
	u := &demoUser{t: t, quitAt: "Cannot scan?"}
	out, _ := runDemoAsUser(t, dir, demoOptions{}, u)
	for _, want := range []string{"ending it", "turned SMS two-factor authentication back on"} {
		if !strings.Contains(out, want) {
			t.Errorf("transcript lacks %q:\n%s", want, out)
		}
	}
	if pngs, _ := filepath.Glob(filepath.Join(dir, "outbox", "qr", "*.png")); len(pngs) != 0 {
		t.Errorf("QR files left: %v", pngs)
	}
	core, acc := openAccount(t, dir, "demo@example.com")
	defer core.Close()
	if acc.Method != portal.MethodSMS {
		t.Fatalf("account %+v: want method sms again", acc)
	}
	mails, _ := filepath.Glob(filepath.Join(dir, "outbox", "mail", "*.eml"))
	if len(mails) != 2 { // the disable alert and the "restored" notice
		t.Fatalf("%d e-mails, want the alert and the restore notice", len(mails))
	}
}
