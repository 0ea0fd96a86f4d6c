package embedded

import (
	"bytes"
	"context"
	"io"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portaltest"
)

// flakySMTP is a real SMTP server on 127.0.0.1 that refuses the first
// refusals DATA commands of every message (by Message-ID) with code, and
// accepts the later ones; refusals < 0 refuses every attempt.
type flakySMTP struct {
	host     string
	port     int
	code     int
	refusals int

	mu       sync.Mutex
	attempts map[string]int // Message-ID -> DATA commands seen
	accepted map[string]int // Message-ID -> messages accepted
	subjects map[string]string
}

func startFlakySMTP(t *testing.T, code, refusals int) *flakySMTP {
	t.Helper()
	f := &flakySMTP{code: code, refusals: refusals, attempts: map[string]int{}, accepted: map[string]int{}, subjects: map[string]string{}}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &flakySession{f: f}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	t.Cleanup(func() { s.Close() })
	host, port, _ := net.SplitHostPort(ln.Addr().String())
	f.host = host
	f.port, _ = strconv.Atoi(port)
	return f
}

func (f *flakySMTP) sender(t *testing.T) mail.Sender {
	t.Helper()
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: f.host, Port: f.port, From: "IP ServerOne <no-reply@ipserverone.example>", TLS: mail.TLSNone, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// counts returns the DATA attempts and acceptances of the message whose
// subject contains subject.
func (f *flakySMTP) counts(subject string) (attempts, accepted int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for id, s := range f.subjects {
		if strings.Contains(s, subject) {
			attempts += f.attempts[id]
			accepted += f.accepted[id]
		}
	}
	return attempts, accepted
}

type flakySession struct{ f *flakySMTP }

func (s *flakySession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *flakySession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *flakySession) Reset()                               {}
func (s *flakySession) Logout() error                        { return nil }
func (s *flakySession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	msg, err := netmail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		return err
	}
	id, subject := msg.Header.Get("Message-ID"), msg.Header.Get("Subject")
	f := s.f
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attempts[id]++
	f.subjects[id] = subject
	if f.refusals < 0 || f.attempts[id] <= f.refusals {
		return &smtp.SMTPError{Code: f.code, EnhancedCode: smtp.EnhancedCode{f.code / 100, 3, 0}, Message: "try again later"}
	}
	f.accepted[id]++
	return nil
}

// waitFor polls cond for up to 10 s (the retry loop ticks every 5 ms).
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if cond() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

const (
	alertSubject   = "two-factor authentication was disabled"
	confirmSubject = "updated to TOTP"
)

// TestMailRetriedWhileRunning: an SMTP server answering 451 twice per
// message, then 250. The alert and the confirmation each arrive exactly
// once while the core runs, after 30 s and 60 s of backoff on the
// controlled clock, never earlier, and the log says why they waited.
func TestMailRetriedWhileRunning(t *testing.T) {
	srv := startFlakySMTP(t, 451, 2)
	e := newEnv(t, func(o *Options) { o.Mail = srv.sender(t) })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); e.core.RunMailRetry(ctx, 5*time.Millisecond) }()
	defer func() { cancel(); <-done }()

	bob := e.add(t, "bob@example.com", "+60123456780", portal.MethodSMS, portaltest.Password)
	g, _ := e.elevated(t, bob)
	if err := e.core.Disable2FA(context.Background(), g.Token, "disable-bob"); err != nil {
		t.Fatal(err)
	}
	e.totpAccount(t) // Alice: the confirmation

	for _, subject := range []string{alertSubject, confirmSubject} {
		if a, ok := srv.counts(subject); a != 1 || ok != 0 {
			t.Fatalf("%q after the change: %d attempts, %d accepted; want 1, 0 (%v)", subject, a, ok, srv.subjects)
		}
	}
	// Not before the backoff has run out.
	time.Sleep(100 * time.Millisecond)
	if a, _ := srv.counts(alertSubject); a != 1 {
		t.Fatalf("alert retried before 30 s had passed: %d attempts", a)
	}
	e.clock.Advance(29 * time.Second)
	time.Sleep(50 * time.Millisecond)
	if a, _ := srv.counts(alertSubject); a != 1 {
		t.Fatalf("alert retried after 29 s: %d attempts", a)
	}
	e.clock.Advance(time.Second) // 30 s: second attempt, 451 again
	waitFor(t, "second attempts", func() bool {
		a1, _ := srv.counts(alertSubject)
		a2, _ := srv.counts(confirmSubject)
		return a1 == 2 && a2 == 2
	})
	e.clock.Advance(59 * time.Second)
	time.Sleep(50 * time.Millisecond)
	if a, _ := srv.counts(alertSubject); a != 2 {
		t.Fatalf("alert retried 59 s after the second attempt (backoff is 60 s): %d attempts", a)
	}
	e.clock.Advance(time.Second)
	waitFor(t, "deliveries", func() bool {
		_, ok1 := srv.counts(alertSubject)
		_, ok2 := srv.counts(confirmSubject)
		return ok1 == 1 && ok2 == 1
	})
	// Much later: still exactly once.
	for range 5 {
		e.clock.Advance(time.Hour)
		time.Sleep(20 * time.Millisecond)
	}
	for _, subject := range []string{alertSubject, confirmSubject} {
		if a, ok := srv.counts(subject); a != 3 || ok != 1 {
			t.Errorf("%q: %d attempts, %d accepted; want 3, 1", subject, a, ok)
		}
	}
	st := e.core.Stats()
	if st.AlertsSent != 1 || st.ConfirmationsSent != 1 || st.MailsFailed != 0 {
		t.Errorf("stats = %+v, want 1 alert, 1 confirmation, 0 failed", st)
	}
	logs := e.logs.String()
	for _, want := range []string{"smtp_code=451", "retry_in=30s", "retry_in=1m0s", "attempts=3"} {
		if !strings.Contains(logs, want) {
			t.Errorf("log lacks %q:\n%s", want, logs)
		}
	}
	// A restart sends nothing again.
	e.reopen(t)
	if a, ok := srv.counts(alertSubject); a != 3 || ok != 1 {
		t.Errorf("after reopen: alert %d attempts, %d accepted", a, ok)
	}
}

// TestMailPermanentRefusalNotRetried: a 550 is tried once, logged as an
// error, counted in Stats.MailsFailed and audited, and never retried, also
// not after a restart.
func TestMailPermanentRefusalNotRetried(t *testing.T) {
	srv := startFlakySMTP(t, 550, -1)
	e := newEnv(t, func(o *Options) { o.Mail = srv.sender(t) })
	bob := e.add(t, "bob@example.com", "+60123456780", portal.MethodSMS, portaltest.Password)
	g, _ := e.elevated(t, bob)
	if err := e.core.Disable2FA(context.Background(), g.Token, "disable-bob"); err != nil {
		t.Fatal(err)
	}
	for range 10 {
		e.clock.Advance(time.Hour)
		e.core.RetryMail(context.Background())
	}
	e.reopen(t)
	e.core.RetryMail(context.Background())
	if a, ok := srv.counts(alertSubject); a != 1 || ok != 0 {
		t.Fatalf("alert: %d attempts, %d accepted; want 1, 0", a, ok)
	}
	if st := e.core.Stats(); st.MailsFailed != 0 { // counters restart with the process
		t.Errorf("MailsFailed after reopen = %d", st.MailsFailed)
	}
	entries, err := e.core.AuditLog(context.Background(), bob.ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	var failed int
	for _, en := range entries {
		if en.Action == "mail_failed" {
			failed++
		}
	}
	if failed != 1 {
		t.Errorf("mail_failed audit entries = %d, want 1: %+v", failed, entries)
	}
	if logs := e.logs.String(); !strings.Contains(logs, "level=ERROR") || !strings.Contains(logs, "smtp_code=550") {
		t.Errorf("log lacks the error with its code:\n%s", logs)
	}
}

// TestMailGivesUpAfterRetryWindow: a server answering 451 for ever is
// tried with the backoff for 24 h and then given up once.
func TestMailGivesUpAfterRetryWindow(t *testing.T) {
	srv := startFlakySMTP(t, 451, -1)
	e := newEnv(t, func(o *Options) { o.Mail = srv.sender(t) })
	bob := e.add(t, "bob@example.com", "+60123456780", portal.MethodSMS, portaltest.Password)
	g, _ := e.elevated(t, bob)
	if err := e.core.Disable2FA(context.Background(), g.Token, "disable-bob"); err != nil {
		t.Fatal(err)
	}
	for range 200 { // 200 × 15 min = 50 h
		e.clock.Advance(15 * time.Minute)
		e.core.RetryMail(context.Background())
	}
	a, _ := srv.counts(alertSubject)
	// 30 s, 1, 2, 4, 8 min, then every 15 min until 24 h: 6 + 96 or so.
	if a < 90 || a > 110 {
		t.Errorf("attempts in 50 h = %d, want about 100 (24 h of backoff)", a)
	}
	if st := e.core.Stats(); st.MailsFailed != 1 || st.AlertsSent != 0 {
		t.Errorf("stats = %+v, want 1 failed, 0 sent", st)
	}
}
