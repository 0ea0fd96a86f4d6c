package mail

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

const (
	testFrom     = "IP ServerOne <no-reply@ipserverone.example>"
	testUser     = "bot@ipserverone.example"
	testPassword = "s3cret-Pa55word!"
)

// received is one message as the SMTP server saw it.
type received struct {
	From  string
	To    []string
	Data  []byte
	User  string // authenticated user, "" if none
	TLS   bool   // whether the session ran over TLS
	Hello string
}

// testServer is a real go-smtp server on 127.0.0.1:<random>.
type testServer struct {
	host string
	port int
	tls  *tls.Config // client config trusting the server's certificate

	mu   sync.Mutex
	msgs []received
	// dataErr, when set before the first message, is the answer to DATA.
	dataErr error
	// onMail, when set (under mu), is called at each MAIL command; a
	// non-nil result is the server's answer instead of 250.
	onMail func() error
	// afterData, when set (under mu), is called after a message was
	// accepted and recorded, before the server answers 250.
	afterData func(*session)

	// Connections as the listener saw them (see countingListener).
	accepted int        // connections accepted so far
	open     int        // connections not yet closed
	maxOpen  int        // most connections open at once
	conns    []net.Conn // every accepted connection, raw TCP
}

type serverOpts struct {
	requireAuth bool   // offer AUTH PLAIN and refuse MAIL before it
	startTLS    bool   // offer STARTTLS
	implicitTLS bool   // speak TLS from the first byte
	addr        string // listen address; "" means 127.0.0.1:0
}

func startServer(t testing.TB, o serverOpts) *testServer {
	t.Helper()
	ts := &testServer{}
	s := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &session{srv: ts, conn: c, requireAuth: o.requireAuth}, nil
	}))
	s.Domain = "localhost"
	s.AllowInsecureAuth = true
	s.ReadTimeout = 10 * time.Second
	s.WriteTimeout = 10 * time.Second
	if o.addr == "" {
		o.addr = "127.0.0.1:0"
	}
	tcp, err := net.Listen("tcp", o.addr)
	if err != nil {
		t.Fatal(err)
	}
	var ln net.Listener = &countingListener{Listener: tcp, ts: ts}
	if o.startTLS || o.implicitTLS {
		srvCfg, cliCfg := testCert(t)
		ts.tls = cliCfg
		if o.startTLS {
			s.TLSConfig = srvCfg
		} else {
			ln = tls.NewListener(ln, srvCfg)
		}
	}
	addr := ln.Addr().(*net.TCPAddr)
	ts.host, ts.port = addr.IP.String(), addr.Port
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		// Serve may not have registered ln yet when Close runs.
		ln.Close()
		<-done
	})
	return ts
}

func (ts *testServer) messages() []received {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]received(nil), ts.msgs...)
}

type session struct {
	srv         *testServer
	conn        *smtp.Conn
	requireAuth bool
	user        string
	cur         received
}

func (s *session) AuthMechanisms() []string {
	if !s.requireAuth {
		return nil
	}
	return []string{sasl.Plain}
}

func (s *session) Auth(mech string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(identity, username, password string) error {
		if username != testUser || password != testPassword {
			return errors.New("invalid credentials")
		}
		s.user = username
		return nil
	}), nil
}

func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	// go-smtp does not enforce AUTH itself (emersion/go-smtp#216).
	if s.requireAuth && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.srv.mu.Lock()
	hook := s.srv.onMail
	s.srv.mu.Unlock()
	if hook != nil {
		if err := hook(); err != nil {
			return err
		}
	}
	s.cur = received{From: from, User: s.user, Hello: s.conn.Hostname()}
	_, s.cur.TLS = s.conn.TLSConnectionState()
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.cur.To = append(s.cur.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.cur.Data = b
	if s.srv.dataErr != nil {
		return s.srv.dataErr
	}
	s.srv.mu.Lock()
	s.srv.msgs = append(s.srv.msgs, s.cur)
	hook := s.srv.afterData
	s.srv.mu.Unlock()
	if hook != nil {
		hook(s)
	}
	return nil
}

func (s *session) Reset()        { s.cur = received{} }
func (s *session) Logout() error { return nil }

// testCert returns a server TLS config with a fresh self-signed
// certificate for 127.0.0.1 and a client config that trusts only it.
func testCert(t testing.TB) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "guidedfix test SMTP"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}
	client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
	return server, client
}

var testMsg = Message{
	ID:      "disable-2fa.7f3a9c_01",
	To:      "alice@example.com",
	Subject: "Keselamatan akaun — ✓",
	Text:    "Hai Alice,\n\nTwo-factor authentication was turned off on your account — ✓.\nIf this was not you, contact support.\n",
}

func (ts *testServer) config(tlsMode string) SMTPConfig {
	return SMTPConfig{Host: ts.host, Port: ts.port, From: testFrom, TLS: tlsMode, Timeout: 5 * time.Second}
}

func mustNewSMTP(t *testing.T, cfg SMTPConfig, tlsCfg *tls.Config) *SMTP {
	t.Helper()
	s, err := newSMTP(cfg, tlsCfg)
	if err != nil {
		t.Fatalf("newSMTP: %v", err)
	}
	return s
}

// checkReceived asserts the one message the server got is testMsg.
func checkReceived(t *testing.T, ts *testServer) received {
	t.Helper()
	msgs := ts.messages()
	if len(msgs) != 1 {
		t.Fatalf("server received %d messages, want 1", len(msgs))
	}
	r := msgs[0]
	if r.From != "no-reply@ipserverone.example" {
		t.Errorf("envelope from = %q, want %q", r.From, "no-reply@ipserverone.example")
	}
	if len(r.To) != 1 || r.To[0] != "alice@example.com" {
		t.Errorf("envelope recipients = %q, want [alice@example.com]", r.To)
	}
	hdr, err := netmail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("parse received data: %v", err)
	}
	if got, want := hdr.Header.Get("Message-ID"), "<disable-2fa.7f3a9c_01@guidedfix>"; got != want {
		t.Errorf("Message-ID = %q, want %q", got, want)
	}
	if got, want := hdr.Header.Get("Subject"), "=?UTF-8?q?Keselamatan_akaun_=E2=80=94_=E2=9C=93?="; got != want {
		t.Errorf("raw Subject = %q, want %q", got, want)
	}
	if got, want := hdr.Header.Get("From"), `"IP ServerOne" <no-reply@ipserverone.example>`; got != want {
		t.Errorf("From = %q, want %q", got, want)
	}
	date, err := hdr.Header.Date()
	if err != nil {
		t.Errorf("Date header: %v", err)
	} else if d := time.Since(date); d < -time.Minute || d > time.Minute {
		t.Errorf("Date %v is %v away from now", date, d)
	}
	got, err := parseEML(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("parseEML: %v", err)
	}
	if got != testMsg {
		t.Errorf("decoded message = %+v\nwant %+v", got, testMsg)
	}
	return r
}

func TestSMTPSendNoTLS(t *testing.T) {
	ts := startServer(t, serverOpts{})
	s := mustNewSMTP(t, ts.config(TLSNone), nil)
	if err := s.Send(context.Background(), testMsg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := checkReceived(t, ts)
	if r.TLS || r.User != "" {
		t.Errorf("TLS = %v, user = %q; want plain and unauthenticated", r.TLS, r.User)
	}
}

func TestSMTPAuthPlain(t *testing.T) {
	ts := startServer(t, serverOpts{requireAuth: true})

	t.Run("no credentials", func(t *testing.T) {
		err := mustNewSMTP(t, ts.config(TLSNone), nil).Send(context.Background(), testMsg)
		if err == nil || !strings.Contains(err.Error(), "authenticate") {
			t.Fatalf("Send without AUTH: error = %v, want the server's 'Please authenticate first'", err)
		}
	})
	t.Run("wrong password", func(t *testing.T) {
		cfg := ts.config(TLSNone)
		cfg.Username, cfg.Password = testUser, "wrong-"+testPassword
		err := mustNewSMTP(t, cfg, nil).Send(context.Background(), testMsg)
		if err == nil {
			t.Fatal("Send with a wrong password: no error")
		}
		if strings.Contains(err.Error(), cfg.Password) || strings.Contains(err.Error(), testPassword) {
			t.Fatalf("error text contains the password: %v", err)
		}
		if !strings.Contains(err.Error(), "disable-2fa.7f3a9c_01") || !strings.Contains(err.Error(), "AUTH") {
			t.Errorf("error %q does not name the message and the AUTH failure", err)
		}
	})
	if n := len(ts.messages()); n != 0 {
		t.Fatalf("server accepted %d messages without valid AUTH", n)
	}
	t.Run("right password", func(t *testing.T) {
		cfg := ts.config(TLSNone)
		cfg.Username, cfg.Password = testUser, testPassword
		if err := mustNewSMTP(t, cfg, nil).Send(context.Background(), testMsg); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if r := checkReceived(t, ts); r.User != testUser {
			t.Errorf("authenticated user = %q, want %q", r.User, testUser)
		}
	})
}

// TestSMTPAuthOtherLoopback covers the PLAIN-NOENC choice: go-mail's own
// PLAIN refuses an unencrypted 127.0.0.2, which is loopback all the same.
func TestSMTPAuthOtherLoopback(t *testing.T) {
	if ln, err := net.Listen("tcp", "127.0.0.2:0"); err != nil {
		t.Skipf("cannot listen on 127.0.0.2: %v", err)
	} else {
		ln.Close()
	}
	ts := startServer(t, serverOpts{requireAuth: true, addr: "127.0.0.2:0"})
	cfg := ts.config(TLSNone)
	cfg.Username, cfg.Password = testUser, testPassword
	if err := mustNewSMTP(t, cfg, nil).Send(context.Background(), testMsg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r := checkReceived(t, ts); r.User != testUser {
		t.Errorf("authenticated user = %q, want %q", r.User, testUser)
	}
}

func TestSMTPStartTLS(t *testing.T) {
	ts := startServer(t, serverOpts{startTLS: true, requireAuth: true})
	cfg := ts.config("") // empty means starttls
	cfg.Username, cfg.Password = testUser, testPassword
	if err := mustNewSMTP(t, cfg, ts.tls).Send(context.Background(), testMsg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	r := checkReceived(t, ts)
	if !r.TLS || r.User != testUser {
		t.Errorf("TLS = %v, user = %q; want TLS and %q", r.TLS, r.User, testUser)
	}
}

func TestSMTPStartTLSRequired(t *testing.T) {
	ts := startServer(t, serverOpts{}) // offers no STARTTLS
	err := mustNewSMTP(t, ts.config(TLSStartTLS), nil).Send(context.Background(), testMsg)
	if err == nil || !strings.Contains(err.Error(), "STARTTLS") {
		t.Fatalf("Send to a server without STARTTLS: error = %v, want a STARTTLS error", err)
	}
	if n := len(ts.messages()); n != 0 {
		t.Fatalf("message sent in plain text after a failed STARTTLS (%d received)", n)
	}
}

func TestSMTPStartTLSUntrustedCertificate(t *testing.T) {
	ts := startServer(t, serverOpts{startTLS: true})
	err := mustNewSMTP(t, ts.config(TLSStartTLS), nil).Send(context.Background(), testMsg)
	var unknown x509.UnknownAuthorityError
	if !errors.As(err, &unknown) {
		t.Fatalf("Send to a self-signed server: error = %v, want x509.UnknownAuthorityError", err)
	}
	if n := len(ts.messages()); n != 0 {
		t.Fatalf("%d messages received", n)
	}
}

func TestSMTPImplicitTLS(t *testing.T) {
	ts := startServer(t, serverOpts{implicitTLS: true, requireAuth: true})
	cfg := ts.config(TLSImplicit)
	cfg.Username, cfg.Password = testUser, testPassword
	if err := mustNewSMTP(t, cfg, ts.tls).Send(context.Background(), testMsg); err != nil {
		t.Fatalf("Send: %v", err)
	}
	if r := checkReceived(t, ts); !r.TLS || r.User != testUser {
		t.Errorf("TLS = %v, user = %q; want TLS and %q", r.TLS, r.User, testUser)
	}
}

func TestSMTPConcurrentSends(t *testing.T) {
	ts := startServer(t, serverOpts{})
	s := mustNewSMTP(t, ts.config(TLSNone), nil)
	const n = 8
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			m := testMsg
			m.ID = "msg-" + strconv.Itoa(i)
			m.To = fmt.Sprintf("user%d@example.com", i)
			errs <- s.Send(context.Background(), m)
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	seen := map[string]bool{}
	for _, r := range ts.messages() {
		if len(r.To) != 1 {
			t.Fatalf("message with recipients %q", r.To)
		}
		seen[r.To[0]] = true
	}
	if len(seen) != n {
		t.Fatalf("server saw %d distinct recipients, want %d: %v", len(seen), n, seen)
	}
}

func TestSMTPUnreachable(t *testing.T) {
	t.Run("connection refused", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		s := mustNewSMTP(t, SMTPConfig{Host: "127.0.0.1", Port: port, From: testFrom, TLS: TLSNone, Timeout: time.Second}, nil)
		if err := s.Send(context.Background(), testMsg); err == nil {
			t.Fatal("Send to a closed port: no error")
		}
	})
	t.Run("silent server", func(t *testing.T) {
		// Accepts the connection and never greets.
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		var conns []net.Conn
		var mu sync.Mutex
		go func() {
			for {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				mu.Lock()
				conns = append(conns, c)
				mu.Unlock()
			}
		}()
		t.Cleanup(func() {
			ln.Close()
			mu.Lock()
			for _, c := range conns {
				c.Close()
			}
			mu.Unlock()
		})
		const timeout = 300 * time.Millisecond
		s := mustNewSMTP(t, SMTPConfig{Host: "127.0.0.1", Port: ln.Addr().(*net.TCPAddr).Port, From: testFrom, TLS: TLSNone, Timeout: timeout}, nil)
		start := time.Now()
		err = s.Send(context.Background(), testMsg)
		elapsed := time.Since(start)
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			t.Fatalf("Send to a silent server: error = %v, want a timeout", err)
		}
		if elapsed < timeout || elapsed > timeout+2*time.Second {
			t.Fatalf("Send returned after %v, want about %v", elapsed, timeout)
		}
	})
	t.Run("context already cancelled", func(t *testing.T) {
		ts := startServer(t, serverOpts{})
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		err := mustNewSMTP(t, ts.config(TLSNone), nil).Send(ctx, testMsg)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Send with a cancelled context: error = %v, want context.Canceled", err)
		}
	})
}

func TestSMTPInvalidMessage(t *testing.T) {
	ts := startServer(t, serverOpts{})
	m := testMsg
	m.To = "not an address"
	err := mustNewSMTP(t, ts.config(TLSNone), nil).Send(context.Background(), m)
	if !errors.Is(err, ErrInvalidMessage) {
		t.Fatalf("error = %v, want ErrInvalidMessage", err)
	}
	if n := len(ts.messages()); n != 0 {
		t.Fatalf("%d messages received", n)
	}
}

func TestNewSMTP(t *testing.T) {
	ok := SMTPConfig{Host: "smtp.example.com", From: testFrom}
	tests := []struct {
		name     string
		change   func(*SMTPConfig)
		wantErr  string // substring; "" means success
		wantPort int
	}{
		{"defaults", func(*SMTPConfig) {}, "", 587},
		{"implicit tls default port", func(c *SMTPConfig) { c.TLS = TLSImplicit }, "", 465},
		{"none default port", func(c *SMTPConfig) { c.TLS = TLSNone }, "", 25},
		{"explicit port", func(c *SMTPConfig) { c.Port = 2525 }, "", 2525},
		{"starttls with auth", func(c *SMTPConfig) { c.Username, c.Password = "u", testPassword }, "", 587},
		{"none with auth to 127.0.0.1", func(c *SMTPConfig) { c.Host, c.TLS, c.Username = "127.0.0.1", TLSNone, "u" }, "", 25},
		{"none with auth to 127.0.0.2", func(c *SMTPConfig) { c.Host, c.TLS, c.Username = "127.0.0.2", TLSNone, "u" }, "", 25},
		{"none with auth to ::1", func(c *SMTPConfig) { c.Host, c.TLS, c.Username = "::1", TLSNone, "u" }, "", 25},
		{"none with auth to localhost", func(c *SMTPConfig) { c.Host, c.TLS, c.Username = "localhost", TLSNone, "u" }, "", 25},
		{"none with auth to remote host", func(c *SMTPConfig) { c.TLS, c.Username, c.Password = TLSNone, "u", testPassword }, "refusing to send SMTP credentials", 0},
		{"empty host", func(c *SMTPConfig) { c.Host = "" }, "host is empty", 0},
		{"bad tls", func(c *SMTPConfig) { c.TLS = "ssl" }, `TLS mode "ssl"`, 0},
		{"bad port", func(c *SMTPConfig) { c.Port = 70000 }, "port 70000", 0},
		{"negative timeout", func(c *SMTPConfig) { c.Timeout = -time.Second }, "timeout -1s", 0},
		{"negative max connections", func(c *SMTPConfig) { c.MaxConnections = -1 }, "max connections -1", 0},
		{"negative max messages", func(c *SMTPConfig) { c.MaxMessagesPerConnection = -2 }, "max messages per connection -2", 0},
		{"negative idle timeout: no reuse", func(c *SMTPConfig) { c.IdleTimeout = -1 }, "", 587},
		{"bad from", func(c *SMTPConfig) { c.From = "nobody" }, `From "nobody"`, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			s, err := NewSMTP(cfg)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("NewSMTP: %v", err)
				}
				if s.cfg.Port != tt.wantPort {
					t.Errorf("port = %d, want %d", s.cfg.Port, tt.wantPort)
				}
				if s.cfg.Timeout != DefaultSMTPTimeout {
					t.Errorf("timeout = %v, want %v", s.cfg.Timeout, DefaultSMTPTimeout)
				}
				if s.cfg.MaxConnections != DefaultSMTPMaxConnections || cap(s.pool.slots) != DefaultSMTPMaxConnections ||
					s.cfg.MaxMessagesPerConnection != DefaultSMTPMaxMessagesPerConnection {
					t.Errorf("max connections = %d (%d slots), max messages = %d; want the defaults",
						s.cfg.MaxConnections, cap(s.pool.slots), s.cfg.MaxMessagesPerConnection)
				}
				if wantIdle := DefaultSMTPIdleTimeout; cfg.IdleTimeout < 0 && s.cfg.IdleTimeout >= 0 ||
					cfg.IdleTimeout == 0 && s.cfg.IdleTimeout != wantIdle {
					t.Errorf("idle timeout = %v (configured %v)", s.cfg.IdleTimeout, cfg.IdleTimeout)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("NewSMTP error = %v, want one containing %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), testPassword) {
				t.Fatalf("error contains the password: %v", err)
			}
		})
	}
	if _, err := NewSMTP(SMTPConfig{Host: "smtp.example.com", From: testFrom, TLS: TLSNone, Username: "u"}); !errors.Is(err, ErrInsecureAuth) {
		t.Errorf("error = %v, want ErrInsecureAuth", err)
	}
}

func TestSMTPConfigRedacted(t *testing.T) {
	cfg := SMTPConfig{Host: "smtp.example.com", Port: 587, Username: "u", Password: testPassword, From: testFrom, TLS: TLSStartTLS, Timeout: time.Second}
	var logBuf bytes.Buffer
	slog.New(slog.NewJSONHandler(&logBuf, nil)).Info("smtp", "cfg", cfg)
	for _, out := range []string{
		fmt.Sprint(cfg), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprintf("%s", cfg),
		fmt.Sprintf("%v", &cfg), logBuf.String(),
	} {
		if strings.Contains(out, testPassword) {
			t.Errorf("output contains the password: %s", out)
		}
		if !strings.Contains(out, "REDACTED") || !strings.Contains(out, "smtp.example.com") {
			t.Errorf("output lacks REDACTED or the host: %s", out)
		}
	}
}
