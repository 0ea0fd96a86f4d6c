package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp/totp"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/internal/portal"
	"guidedfix/internal/simcustomer"
)

// syncBuffer is a bytes.Buffer safe for the concurrent writes of loggers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// recordingCore records the grant tokens and TOTP secrets the portal core
// hands the flow.
type recordingCore struct {
	portal.Core
	mu      sync.Mutex
	secrets []string
}

func (r *recordingCore) keep(s string) {
	if s != "" {
		r.mu.Lock()
		r.secrets = append(r.secrets, s)
		r.mu.Unlock()
	}
}

func (r *recordingCore) VerifyPassword(ctx context.Context, accountID, password string) (portal.Grant, error) {
	g, err := r.Core.VerifyPassword(ctx, accountID, password)
	r.keep(g.Token)
	return g, err
}

func (r *recordingCore) Reauthenticate(ctx context.Context, grantToken, password string) (portal.Grant, error) {
	g, err := r.Core.Reauthenticate(ctx, grantToken, password)
	r.keep(g.Token)
	return g, err
}

func (r *recordingCore) VerifySMSChallenge(ctx context.Context, grantToken, challengeID, code string) (portal.Grant, error) {
	g, err := r.Core.VerifySMSChallenge(ctx, grantToken, challengeID, code)
	r.keep(g.Token)
	return g, err
}

func (r *recordingCore) BeginTOTPEnrollment(ctx context.Context, grantToken, key string) (portal.Enrollment, error) {
	e, err := r.Core.BeginTOTPEnrollment(ctx, grantToken, key)
	r.keep(e.Secret)
	return e, err
}

// TestLogsRedactedAtDebug drives a whole flow through the Telegram fake
// with every logger at debug level and fails if any log line holds the
// password, an SMS code, the TOTP secret, a TOTP code of the minutes around
// the flow, a grant token, or the chat id in clear; and checks that the
// lines of a turn carry its correlation id and errors use the key err.
func TestLogsRedactedAtDebug(t *testing.T) {
	fake := fakebotapi.New(fakebotapi.Options{Token: procToken, BotUsername: procBot, MaxPoll: time.Second})
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	acc := addAccounts(t, dir, "redact", 1)[0]
	t.Setenv("GUIDEDFIX_LOG__LEVEL", "debug")
	var logs syncBuffer
	rec := &recordingCore{}
	r := serveWith(t, dir, fake, serveOptions{logOut: &logs, wrapCore: func(c portal.Core) portal.Core { rec.Core = c; return rec }}, nil)
	const chatID = 9071234
	c := &simcustomer.Customer{Fake: fake, User: fakebotapi.User{ID: chatID, FirstName: "Cy", LanguageCode: "en"},
		Email: acc.email, Password: acc.password, Phone: acc.phone,
		SMS: &simcustomer.SMSInbox{Dir: filepath.Join(dir, "outbox", "sms")}, Timeout: 60 * time.Second}
	started := time.Now()
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r.stop()
	out := logs.String()

	forbidden := map[string]string{"password": acc.password, "TOTP secret": res.TOTPSecret}
	for i, s := range rec.secrets {
		forbidden["grant token or enrollment secret "+string(rune('a'+i))] = s
	}
	smsFiles, _ := os.ReadDir(filepath.Join(dir, "outbox", "sms"))
	codeRe := regexp.MustCompile(`code is ([0-9]{6})`)
	for _, f := range smsFiles {
		b, _ := os.ReadFile(filepath.Join(dir, "outbox", "sms", f.Name()))
		for _, m := range codeRe.FindAllStringSubmatch(string(b), -1) {
			forbidden["SMS code "+m[1]] = m[1]
		}
	}
	for at := started.Add(-2 * time.Minute); at.Before(time.Now().Add(2 * time.Minute)); at = at.Add(30 * time.Second) {
		code, err := totp.GenerateCode(res.TOTPSecret, at)
		if err != nil {
			t.Fatal(err)
		}
		forbidden["TOTP code "+code] = code
	}
	if len(rec.secrets) < 2 || len(smsFiles) == 0 || res.TOTPSecret == "" {
		t.Fatalf("the flow handed out %d grants/secrets, %d SMS, TOTP secret %q: nothing to look for", len(rec.secrets), len(smsFiles), res.TOTPSecret)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	turnRe := regexp.MustCompile(` turn=[A-Za-z0-9_-]{12}( |$)`)
	turnLines, portalLines := 0, 0
	for _, line := range lines {
		for what, s := range forbidden {
			if strings.Contains(line, s) {
				t.Errorf("a log line holds the %s: %s", what, line)
			}
		}
		if strings.Contains(line, strconv.Itoa(chatID)) || strings.Contains(line, " error=") {
			t.Errorf("the chat id in clear, or an error not under err: %s", line)
		}
		if strings.Contains(line, `msg="turn handled"`) {
			turnLines++
			if !turnRe.MatchString(line) {
				t.Errorf("turn line without its correlation id: %s", line)
			}
		}
		if strings.Contains(line, `msg="portal `) { // the decorator's "portal call" and the core's own lines
			portalLines++
			if !turnRe.MatchString(line) {
				t.Errorf("portal line of a turn without its correlation id: %s", line)
			}
		}
	}
	if turnLines < res.Turns || portalLines == 0 {
		t.Fatalf("%d turn lines for %d updates, %d portal lines:\n%s", turnLines, res.Turns, portalLines, out)
	}
}
