package main

import (
	"context"
	"strconv"
	"strings"
	"testing"

	"guidedfix/internal/config"
	"guidedfix/internal/mail"
)

// TestSMTPSinkCountsMessages: the serve process's configuration from
// env() passes config validation (plain SMTP to loopback), and messages
// sent with guidedfix's own SMTP sender over it are each counted once.
func TestSMTPSinkCountsMessages(t *testing.T) {
	k, err := startSMTPSink()
	if err != nil {
		t.Fatal(err)
	}
	defer k.close()
	var host, tlsMode string
	var port int
	for _, e := range k.env() {
		key, v, _ := strings.Cut(e, "=")
		switch key {
		case "GUIDEDFIX_SMTP__HOST":
			host = v
		case "GUIDEDFIX_SMTP__PORT":
			port, _ = strconv.Atoi(v)
		case "GUIDEDFIX_SMTP__TLS":
			tlsMode = v
		}
	}
	cfg := config.Default()
	cfg.SMTP.Host, cfg.SMTP.Port, cfg.SMTP.TLS = host, port, tlsMode
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the sink's configuration is refused: %v", err)
	}
	s, err := mail.NewSMTP(mail.SMTPConfig{Host: host, Port: port, TLS: tlsMode, From: "Load <no-reply@load.example>"})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		m := mail.Message{ID: "load-" + strconv.Itoa(i), To: "c@load.example", Subject: "s", Text: "body"}
		if err := s.Send(context.Background(), m); err != nil {
			t.Fatalf("send %d: %v", i, err)
		}
	}
	if n := k.accepted.Load(); n != 3 {
		t.Fatalf("accepted %d messages, want 3", n)
	}
	// The sender keeps its connection: three messages, one session.
	if n := k.sessions.Load(); n != 1 {
		t.Fatalf("%d SMTP sessions, want 1", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
