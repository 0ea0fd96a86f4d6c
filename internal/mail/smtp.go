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
	// Timeout bounds one message from dial to QUIT, including the TLS
	// handshake. Zero means [DefaultSMTPTimeout]; negative is an error.
	Timeout time.Duration
}

// String returns the configuration as text with the password replaced by
// "REDACTED", so that printing an SMTPConfig with fmt never shows it.
func (c SMTPConfig) String() string {
	return fmt.Sprintf("{Host:%s Port:%d Username:%s Password:%s From:%s TLS:%s Timeout:%s}",
		c.Host, c.Port, c.Username, redact(c.Password), c.From, c.TLS, c.Timeout)
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
	)
}

func redact(s string) string {
	if s == "" {
		return ""
	}
	return "REDACTED"
}

// SMTP is a [Sender] that delivers each message in its own SMTP session:
// dial, EHLO, STARTTLS or implicit TLS, AUTH, MAIL, RCPT, DATA, QUIT. No
// connection is shared between messages, so it is safe for concurrent use
// and a broken connection affects one message only.
type SMTP struct {
	cfg  SMTPConfig
	opts []gomail.Option
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
// TLS is not one of "", "starttls", "tls", "none", Timeout is negative,
// From is not one RFC 5322 address, or in the [ErrInsecureAuth] case.
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
	if _, err := netmail.ParseAddress(cfg.From); err != nil {
		return nil, fmt.Errorf("mail: From %q is not one e-mail address: %w", cfg.From, err)
	}

	opts := []gomail.Option{gomail.WithTimeout(cfg.Timeout)}
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
	// Check the options once so that Send cannot fail on them.
	if _, err := gomail.NewClient(cfg.Host, opts...); err != nil {
		return nil, fmt.Errorf("mail: SMTP client for %s: %w", cfg.Host, err)
	}
	return &SMTP{cfg: cfg, opts: opts}, nil
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

// Send delivers m in one new SMTP session. ctx bounds the dial (go-mail
// does not watch ctx once connected); the configured Timeout bounds the
// whole session, dial included. The envelope sender is the
// From address and the one recipient is m.To.
//
// Send returns an error wrapping [ErrInvalidMessage] when m fails
// [Message.Validate], and otherwise an error naming m.ID and the server
// when the connection, TLS, authentication or any SMTP command fails. The
// error text never contains the password. A nil error means the server
// accepted the message (250 after DATA); delivery to the mailbox is the
// server's business. Sending the same m.ID twice sends two copies with
// the same Message-ID header, which mail clients may then show as one.
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg, err := compose(s.cfg.From, m, time.Now())
	if err != nil {
		return err
	}
	// A fresh client per message: go-mail's DialAndSendWithContext uses
	// its own connection per call, and nothing else is shared.
	c, err := gomail.NewClient(s.cfg.Host, s.opts...)
	if err != nil {
		return fmt.Errorf("mail: SMTP client for %s: %w", s.cfg.Host, err)
	}
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		return s.sendError(m.ID, err)
	}
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
