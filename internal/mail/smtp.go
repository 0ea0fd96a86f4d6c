package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"strconv"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// TLS modes accepted in [SMTPConfig.TLS].
const (
	// TLSStartTLS connects in plain text and upgrades with STARTTLS
	// (RFC 3207) before anything else is sent; a server that does not
	// offer STARTTLS is refused, so there is no silent downgrade. Default
	// port 587 (RFC 6409).
	TLSStartTLS = "starttls"
	// TLSImplicit speaks TLS from the first byte ("SMTPS", RFC 8314 §3.3).
	// Default port 465.
	TLSImplicit = "tls"
	// TLSNone sends everything in plain text. Only sensible for a relay on
	// the same machine (127.0.0.1). Default port 25.
	TLSNone = "none"
)

// DefaultSMTPTimeout is the per-message time limit an [SMTP] uses when
// [SMTPConfig.Timeout] is zero.
const DefaultSMTPTimeout = 10 * time.Second

// Connection reuse defaults (see [SMTP]), used when the corresponding
// [SMTPConfig] field is zero.
const (
	// DefaultSMTPMaxConnections bounds the SMTP connections one [SMTP]
	// has open at once, in use or idle.
	DefaultSMTPMaxConnections = 4
	// DefaultSMTPIdleTimeout is how long an open connection waits for
	// its next message before it is closed with QUIT. RFC 5321
	// §4.5.3.2.7 asks servers to wait at least 5 minutes for the next
	// command, so 30 s stays well inside any compliant relay's limit.
	DefaultSMTPIdleTimeout = 30 * time.Second
	// DefaultSMTPMaxMessagesPerConnection is how many messages one
	// connection carries before it is closed and a new one opened
	// (relays limit messages per session; Postfix's smtp client has the
	// same kind of limit, smtp_connection_reuse_count_limit).
	DefaultSMTPMaxMessagesPerConnection = 100
)

// ErrInsecureAuth is returned by [NewSMTP] when credentials are configured
// with TLS "none" for a host that is not a loopback address: the password
// would cross the network in clear text.
var ErrInsecureAuth = errors.New("mail: refusing to send SMTP credentials without TLS to a host that is not loopback")

// SMTPConfig says how to reach the SMTP submission server.
type SMTPConfig struct {
	// Host is the server's host name or IP address. Required. With TLS
	// the certificate must be valid for this name.
	Host string
	// Port is the TCP port. Zero means the default for TLS: 587 for
	// "starttls", 465 for "tls", 25 for "none".
	Port int
	// Username enables SMTP AUTH PLAIN (RFC 4954, RFC 4616) when not
	// empty. Empty means no authentication.
	Username string
	// Password goes with Username. It never appears in an error or in
	// the result of String or LogValue.
	Password string
	// From is the From header and envelope sender, e.g.
	// "IP ServerOne <no-reply@ipserverone.example>". Required.
	From string
	// TLS is [TLSStartTLS] ("starttls", also used when empty),
	// [TLSImplicit] ("tls") or [TLSNone] ("none").
	TLS string
	// Timeout bounds each step of one message: waiting for a free
	// connection, opening a new one (dial, TLS handshake, EHLO, AUTH)
	// and the transaction (MAIL, RCPT, DATA). Zero means
	// [DefaultSMTPTimeout]; negative is an error.
	Timeout time.Duration
	// MaxConnections bounds the open connections, in use or idle; a
	// Send that finds them all in use waits (at most Timeout) for one.
	// Zero means [DefaultSMTPMaxConnections]; negative is an error.
	MaxConnections int
	// IdleTimeout is how long a connection is kept open, after its last
	// message, for the next one. Zero means [DefaultSMTPIdleTimeout];
	// negative means no connection is kept: every message has its own
	// session, closed with QUIT after it.
	IdleTimeout time.Duration
	// MaxMessagesPerConnection is how many messages one connection
	// carries before it is closed. Zero means
	// [DefaultSMTPMaxMessagesPerConnection]; negative is an error.
	MaxMessagesPerConnection int
}

// String returns the configuration as text with the password replaced by
// "REDACTED", so that printing an SMTPConfig with fmt never shows it.
func (c SMTPConfig) String() string {
	return fmt.Sprintf("{Host:%s Port:%d Username:%s Password:%s From:%s TLS:%s Timeout:%s MaxConnections:%d IdleTimeout:%s MaxMessagesPerConnection:%d}",
		c.Host, c.Port, c.Username, redact(c.Password), c.From, c.TLS, c.Timeout,
		c.MaxConnections, c.IdleTimeout, c.MaxMessagesPerConnection)
}

// GoString is [SMTPConfig.String], for the %#v verb.
func (c SMTPConfig) GoString() string { return "mail.SMTPConfig" + c.String() }

// LogValue implements [slog.LogValuer]: the configuration as a group with
// the password replaced by "REDACTED" (or empty when not set).
func (c SMTPConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("host", c.Host),
		slog.Int("port", c.Port),
		slog.String("username", c.Username),
		slog.String("password", redact(c.Password)),
		slog.String("from", c.From),
		slog.String("tls", c.TLS),
		slog.Duration("timeout", c.Timeout),
		slog.Int("max_connections", c.MaxConnections),
		slog.Duration("idle_timeout", c.IdleTimeout),
		slog.Int("max_messages_per_connection", c.MaxMessagesPerConnection),
	)
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// SMTP is a [Sender] that keeps a small pool of open, authenticated SMTP
// sessions and sends each message as one more mail transaction (MAIL,
// RCPT, DATA) on one of them, as RFC 5321 §4.1.4 allows and production
// mailers do (Postfix's smtp client caches connections the same way).
// At most [SMTPConfig.MaxConnections] connections are open at once; one
// that has waited [SMTPConfig.IdleTimeout] for a message, or carried
// [SMTPConfig.MaxMessagesPerConnection] messages, is closed with QUIT.
// Every connection is opened as before: dial, EHLO, STARTTLS or implicit
// TLS, AUTH. It is safe for concurrent use; each connection carries one
// message at a time. Call [SMTP.Close] on shutdown.
type SMTP struct {
	cfg SMTPConfig
	// client holds go-mail's options (TLS policy, AUTH, timeout). It is
	// used only through its DialToSMTPClientWithContext and
	// SendWithSMTPClient methods, which take the connection as an
	// argument, so it is shared by all sends without a lock.
	client *gomail.Client
	pool   *connPool
}

var _ Sender = (*SMTP)(nil)

// NewSMTP checks cfg and returns an SMTP sender; it does not connect.
//
// Authentication: when cfg.Username is set the sender uses AUTH PLAIN and
// fails the message if the server does not offer AUTH. go-mail sends PLAIN
// only over TLS or to "localhost", "127.0.0.1" or "::1". This package keeps
// that rule and widens it only to other loopback addresses (127.0.0.0/8),
// whose traffic cannot leave the machine: for those, with TLS "none", it
// uses go-mail's PLAIN-NOENC variant. For any other host with TLS "none"
// NewSMTP returns [ErrInsecureAuth] rather than send the password in
// clear text; LOGIN, CRAM-MD5 and the NOENC variants are never used
// otherwise.
//
// NewSMTP returns an error when Host is empty, Port is outside 0-65535,
// TLS is not one of "", "starttls", "tls", "none", Timeout,
// MaxConnections or MaxMessagesPerConnection is negative, From is not
// one RFC 5322 address, or in the [ErrInsecureAuth] case.
func NewSMTP(cfg SMTPConfig) (*SMTP, error) {
	return newSMTP(cfg, nil)
}

// newSMTP is NewSMTP with a TLS configuration for tests (a private CA);
// nil keeps go-mail's default: the system roots, ServerName = Host,
// TLS 1.2 or later.
func newSMTP(cfg SMTPConfig, tlsConfig *tls.Config) (*SMTP, error) {
	if cfg.Host == "" {
		return nil, errors.New("mail: SMTP host is empty")
	}
	if cfg.TLS == "" {
		cfg.TLS = TLSStartTLS
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("mail: SMTP port %d is outside 1-65535", cfg.Port)
	}
	if cfg.Timeout < 0 {
		return nil, fmt.Errorf("mail: SMTP timeout %s is negative", cfg.Timeout)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultSMTPTimeout
	}
	if cfg.MaxConnections < 0 {
		return nil, fmt.Errorf("mail: SMTP max connections %d is negative", cfg.MaxConnections)
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = DefaultSMTPMaxConnections
	}
	if cfg.MaxMessagesPerConnection < 0 {
		return nil, fmt.Errorf("mail: SMTP max messages per connection %d is negative", cfg.MaxMessagesPerConnection)
	}
	if cfg.MaxMessagesPerConnection == 0 {
		cfg.MaxMessagesPerConnection = DefaultSMTPMaxMessagesPerConnection
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultSMTPIdleTimeout
	}
	if _, err := netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("mail: From %q is not one e-mail address: %w", cfg.From, err)
	}

	// No NOOP before and no RSET after each message: a transaction that
	// ended with DATA's 250 leaves the session ready for the next MAIL
	// (RFC 5321 §4.1.1.4), and a connection the server closed while idle
	// shows at MAIL, before any data, where Send retries it on a new
	// connection. go-mail still sends RSET after a refused MAIL or RCPT.
	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout), gomail.WithoutNoop(), gomail.WithoutRset()}
	switch cfg.TLS {
	case TLSStartTLS:
		if cfg.Port == 0 {
			cfg.Port = gomail.DefaultPortTLS
		}
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	case TLSImplicit:
		if cfg.Port == 0 {
			cfg.Port = gomail.DefaultPortSSL
		}
		opts = append(opts, gomail.WithSSL())
	case TLSNone:
		if cfg.Port == 0 {
			cfg.Port = gomail.DefaultPort
		}
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	default:
		return nil, fmt.Errorf("mail: SMTP TLS mode %q is not one of %q, %q, %q", cfg.TLS, TLSStartTLS, TLSImplicit, TLSNone)
	}
	opts = append(opts, gomail.WithPort(cfg.Port))
	if tlsConfig != nil {
		opts = append(opts, gomail.WithTLSConfig(tlsConfig))
	}
	if cfg.Username != "" {
		auth := gomail.SMTPAuthPlain
		if cfg.TLS == TLSNone {
			if !isLoopback(cfg.Host) {
				return nil, fmt.Errorf("%w (host %q)", ErrInsecureAuth, cfg.Host)
			}
			auth = gomail.SMTPAuthPlainNoEnc
		}
		opts = append(opts, gomail.WithSMTPAuth(auth),
			gomail.WithUsername(cfg.Username), gomail.WithPassword(cfg.Password))
	}
	client, err := gomail.NewClient(cfg.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("mail: SMTP client for %s: %w", cfg.Host, err)
	}
	return &SMTP{cfg: cfg, client: client, pool: newConnPool(cfg, time.Now)}, nil
}

// isLoopback reports whether host names this machine: "localhost" or an IP
// address in 127.0.0.0/8 or ::1.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Send delivers m as one mail transaction on a pooled connection: an
// idle one if there is one, otherwise a new one (dial, EHLO, TLS, AUTH),
// waiting at most the configured Timeout for a free slot when
// MaxConnections are all in use. ctx bounds that wait and the dial
// (go-mail does not watch ctx once connected); the configured Timeout
// bounds each step. The envelope sender is the From address and the one
// recipient is m.To.
//
// Nothing is sent twice: when a reused connection fails before the
// server took the message data (no reply or a 4yz reply to MAIL, RCPT or
// DATA, e.g. EOF or 421 from a relay that closed the idle connection),
// Send tries once more on a new connection; a failure on a new
// connection, a 5yz refusal, or any failure once the data was sent is
// returned, and the caller's retry policy ([Backoff], [Permanent])
// decides. A connection that failed in any way is closed, never reused.
//
// Send returns an error wrapping [ErrInvalidMessage] when m fails
// [Message.Validate], ctx's error when ctx is done before the message
// is on its way, and otherwise an error naming m.ID and the server when
// waiting for a connection, the connection, TLS, authentication or any
// SMTP command fails. The error text never contains the password. A nil
// error means the server accepted the message (250 after DATA); delivery
// to the mailbox is the server's business. Sending the same m.ID twice
// sends two copies with the same Message-ID header, which mail clients
// may then show as one.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := compose(s.cfg.From, m, time.Now())
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return s.sendError(m.ID, err)
	}
	release, err := s.pool.acquire(ctx, s.cfg.Timeout)
	if err != nil {
		return s.sendError(m.ID, err)
	}
	defer release()

	pc := s.pool.takeIdle()
	reused := pc != nil
	if !reused {
		if pc, err = s.dial(ctx); err != nil {
			return s.sendError(m.ID, err)
		}
	}
	err = s.client.SendWithSMTPClient(pc.client, msg)
	if err != nil && reused && retryOnNewConnection(err) {
		first := err
		s.pool.discard(pc)
		if pc, err = s.dial(ctx); err != nil {
			return s.sendError(m.ID, fmt.Errorf("reused connection failed (%v), then a new one: %w", first, err))
		}
		s.pool.retries.Add(1)
		if err = s.client.SendWithSMTPClient(pc.client, msg); err != nil {
			err = fmt.Errorf("reused connection failed (%v), then a new one: send failed: %w", first, err)
		}
	} else if err != nil {
		err = fmt.Errorf("send failed: %w", err)
	}
	if err != nil {
		s.pool.discard(pc)
		return s.sendError(m.ID, err)
	}
	s.pool.put(pc)
	return nil
}

// dial opens and authenticates a new connection for the pool.
func (s *SMTP) dial(ctx context.Context) (*pooledConn, error) {
	c, err := s.client.DialToSMTPClientWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("dial failed: %w", err)
	}
	s.pool.dials.Add(1)
	return &pooledConn{client: c}, nil
}

// retryOnNewConnection reports whether err, from a transaction on a
// reused connection, left the message certainly unsent and may be cured
// by a new connection: the failure came at MAIL, RCPT or the DATA command
// itself (before any message data) or at go-mail's connection check, and
// the server gave no reply (EOF, reset, timeout) or a transient 4yz one
// (421 "closing transmission channel", RFC 5321 §3.8). A 5yz refusal
// would be repeated on any connection and is returned as is.
func retryOnNewConnection(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case gomail.ErrConnCheck, gomail.ErrSMTPMailFrom, gomail.ErrSMTPRcptTo, gomail.ErrSMTPData:
	default:
		return false
	}
	code := ReplyCode(err)
	return code == 0 || code >= 400 && code < 500
}

// Close closes the idle connections with QUIT and makes every connection
// still in use close when its message is done; Sends after Close still
// work, each in its own session. Close always returns nil (a QUIT that
// fails leaves the connection closed all the same) and may be called
// more than once.
func (s *SMTP) Close() error {
	s.pool.close()
	return nil
}

// sendError wraps err with the message id and server address. Should the
// error text ever contain the password (a server echoing it, a library
// change), the chain is dropped and the password replaced.
func (s *SMTP) sendError(id string, err error) error {
	addr := net.JoinHostPort(s.cfg.Host, strconv.Itoa(s.cfg.Port))
	if pw := s.cfg.Password; pw != "" && strings.Contains(err.Error(), pw) {
		return fmt.Errorf("mail: send %q via %s: %s", id, addr, strings.ReplaceAll(err.Error(), pw, "REDACTED"))
	}
	return fmt.Errorf("mail: send %q via %s: %w", id, addr, err)
}
