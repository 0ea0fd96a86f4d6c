package main

import (
	"context"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"guidedfix/internal/config"
	"guidedfix/internal/mail"
)

func TestSMTPConfigMapping(t *testing.T) {
	cfg := config.Default()
	cfg.SMTP.Host, cfg.SMTP.MaxConnections, cfg.SMTP.MaxMessagesPerConnection = "smtp.example.com", 3, 50
	for _, tc := range []struct {
		idle, want time.Duration
	}{{30 * time.Second, 30 * time.Second}, {0, -1}} {
		cfg.SMTP.IdleTimeout = tc.idle
		got := smtpConfig(cfg)
		if got.IdleTimeout != tc.want || got.MaxConnections != 3 || got.MaxMessagesPerConnection != 50 ||
			got.Host != "smtp.example.com" || got.From != cfg.Mail.From || got.Timeout != cfg.SMTP.Timeout {
			t.Errorf("smtp.idle_timeout %v: mail config %+v, want idle %v, 3 connections, 50 messages", tc.idle, got, tc.want)
		}
	}
}

// connCountingBackend counts the SMTP sessions a go-smtp server has open
// (one per connection without STARTTLS: Logout runs when it closes).
type connCountingBackend struct {
	mu           sync.Mutex
	opened, open int
}

func (b *connCountingBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	b.mu.Lock()
	b.opened++
	b.open++
	b.mu.Unlock()
	return &countedSession{b: b}, nil
}

func (b *connCountingBackend) counts() (opened, open int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.opened, b.open
}

type countedSession struct{ b *connCountingBackend }

func (*countedSession) Mail(string, *smtp.MailOptions) error { return nil }
func (*countedSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (*countedSession) Reset()                               {}
func (*countedSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (s *countedSession) Logout() error {
	s.b.mu.Lock()
	s.b.open--
	s.b.mu.Unlock()
	return nil
}

// TestAppCloseQuitsPooledSMTP: the app's SMTP sender keeps its connection
// open between messages, and closing the app (what serve does on
// shutdown) closes it.
func TestAppCloseQuitsPooledSMTP(t *testing.T) {
	backend := &connCountingBackend{}
	srv := smtp.NewServer(backend)
	srv.Domain = "localhost"
	// No read timeout: only the client may end an idle session here.
	srv.WriteTimeout = 10 * time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { defer close(done); _ = srv.Serve(ln) }()
	t.Cleanup(func() { srv.Close(); ln.Close(); <-done })

	t.Setenv("GUIDEDFIX_SMTP__HOST", "127.0.0.1")
	t.Setenv("GUIDEDFIX_SMTP__PORT", strconv.Itoa(ln.Addr().(*net.TCPAddr).Port))
	t.Setenv("GUIDEDFIX_SMTP__TLS", "none")
	a, err := openApp(context.Background(), &globalFlags{dataDir: t.TempDir()}, openOptions{logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			a.Close()
		}
	})
	if _, ok := a.mail.(*mail.SMTP); !ok {
		t.Fatalf("app mail sender is %T, want *mail.SMTP", a.mail)
	}
	for i := range 3 {
		m := mail.Message{ID: "close-test-" + strconv.Itoa(i), To: "ann@example.com", Subject: "s", Text: "t"}
		if err := a.mail.Send(context.Background(), m); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
	if opened, open := backend.counts(); opened != 1 || open != 1 {
		t.Fatalf("before Close: %d connections opened, %d open; want 1 and 1", opened, open)
	}
	if err := a.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	closed = true
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, open := backend.counts(); open == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the pooled SMTP connection is still open 10 s after the app closed")
		}
		time.Sleep(2 * time.Millisecond)
	}
}
