package main

import (
	"io"
	"net"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"
)

// smtpSink is loadgen's mail server: a real SMTP server (go-smtp, RFC 5321)
// on 127.0.0.1 with a port the system picks, to which the `guidedfix serve`
// (or `portal serve`) processes send their e-mail as production does
// (smtp.host, smtp.tls none: plain SMTP, allowed only to loopback). It
// counts the messages accepted and discards their bodies, which may hold
// nothing the benchmark needs (the simulated customers read SMS codes, not
// e-mail).
type smtpSink struct {
	srv      *smtp.Server
	ln       net.Listener
	done     chan struct{}
	accepted atomic.Int64 // messages whose DATA was read in full and answered 250
	sessions atomic.Int64 // SMTP connections opened (one per message unless the client reuses one)
}

// startSMTPSink listens on 127.0.0.1:0 and serves until close. The error
// is the listener's (no free port, no loopback).
func startSMTPSink() (*smtpSink, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	k := &smtpSink{ln: ln, done: make(chan struct{})}
	k.srv = smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) {
		k.sessions.Add(1)
		return sinkSession{k}, nil
	}))
	k.srv.Domain = "localhost"
	k.srv.ReadTimeout = 30 * time.Second
	k.srv.WriteTimeout = 30 * time.Second
	k.srv.MaxRecipients = 10
	k.srv.MaxMessageBytes = 1 << 20
	go func() { defer close(k.done); _ = k.srv.Serve(ln) }()
	return k, nil
}

// env returns the serve process's configuration for this sink:
// GUIDEDFIX_SMTP__HOST=127.0.0.1, its port and GUIDEDFIX_SMTP__TLS=none.
func (k *smtpSink) env() []string {
	a := k.ln.Addr().(*net.TCPAddr)
	return []string{"GUIDEDFIX_SMTP__HOST=" + a.IP.String(), "GUIDEDFIX_SMTP__PORT=" + strconv.Itoa(a.Port), "GUIDEDFIX_SMTP__TLS=none"}
}

// close stops the server and waits for Serve to return.
func (k *smtpSink) close() {
	_ = k.srv.Close()
	_ = k.ln.Close() // Serve may not have registered ln yet
	<-k.done
}

// sinkSession accepts any sender and recipient and counts each message.
type sinkSession struct{ k *smtpSink }

func (sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s sinkSession) Data(r io.Reader) error {
	if _, err := io.Copy(io.Discard, r); err != nil {
		return err
	}
	s.k.accepted.Add(1)
	return nil
}
func (sinkSession) Reset()        {}
func (sinkSession) Logout() error { return nil }
