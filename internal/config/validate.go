package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	netmail "net/mail"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Validate reports every setting that is out of range, as one error per
// setting joined with errors.Join, each starting with the key path
// ("smtp.tls: …"). Secret values are never part of the message. nil means
// the configuration is usable; [Default] is valid.
//
// Rules: log.level parses as a slog level, log.format is text or json;
// portal.issuer is set and has no ':'; portal.key is empty or base64 of
// 32 bytes; portal.argon2.time ≥ 1, threads 1-255, memory_kib from
// 8 × threads to 4194304; portal.max_concurrent_hashes ≥ 0; mail.from is
// one address; smtp.port 1-65535, smtp.tls starttls, tls or none,
// smtp.timeout > 0, smtp.password only with smtp.username, and
// smtp.tls none only when smtp.host is loopback;
// 0 < flow.idle_timeout ≤ flow.max_duration ≤ 20 min, 0 <
// flow.reminder_after < flow.idle_timeout, 0 < flow.sweep_interval <
// flow.idle_timeout, flow.order disable-then-enroll or
// enroll-then-switch; telegram.api_url is an http(s) URL,
// telegram.webhook_url is empty or an https URL on port 443, 80, 88 or
// 8443 and needs telegram.token, telegram.listen is host:port,
// telegram.webhook_secret is 1-256 of [A-Za-z0-9_-], telegram.bot_username
// is empty or 5-32 of [A-Za-z0-9_]; slack.mode is socket or http,
// slack.command starts with '/', slack.listen is host:port, slack.api_url
// is empty or an http(s) URL, slack.app_token starts with "xapp-", an
// enabled Slack adapter has slack.app_token in socket mode and
// slack.signing_secret in http mode, app token or signing secret need
// slack.bot_token, slack.staff_user_ids are user IDs (U… or W…),
// 0 < slack.handoff_ttl ≤ 10 min, slack.support_locale is one of
// SupportLocales (en or ms);
// portal.url is empty or an https URL (http only on a loopback host, so
// the service token never crosses a network in clear), portal.timeout >
// 0, portal.client_cert and portal.client_key come together,
// portal.serve.listen is host:port, portal.serve.tls_cert and tls_key come
// together and client_ca needs them, portal.sms.gateway_url is empty or
// an http(s) URL.
func (c Config) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{key}, args...)...))
	}

	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.Log.Level)); err != nil {
		bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Log.Format != "text" && c.Log.Format != "json" {
		bad("log.format", "%q is not text or json", c.Log.Format)
	}

	if n := c.Enrollment.RecoveryCodes; n < 0 || n > 20 {
		bad("enrollment.recovery_codes", "%d is outside 0-20", n)
	}

	p := c.Portal
	switch {
	case strings.TrimSpace(p.Issuer) == "":
		bad("portal.issuer", "must not be empty")
	case strings.Contains(p.Issuer, ":"):
		bad("portal.issuer", "%q must not contain ':' (otpauth label separator)", p.Issuer)
	case len(url.PathEscape(p.Issuer)) > MaxIssuerEncoded:
		bad("portal.issuer", "%q is %d bytes once percent-encoded, more than %d (a space or non-ASCII byte counts 3): it would make the QR code too dense to scan",
			p.Issuer, len(url.PathEscape(p.Issuer)), MaxIssuerEncoded)
	}
	if _, err := p.KeyBytes(); err != nil {
		errs = append(errs, err) // already names portal.key, without the key
	}
	if p.Argon2.Time < 1 {
		bad("portal.argon2.time", "%d must be at least 1", p.Argon2.Time)
	}
	if p.Argon2.Threads < 1 || p.Argon2.Threads > 255 {
		bad("portal.argon2.threads", "%d is outside 1-255", p.Argon2.Threads)
	}
	if minMem := 8 * max(p.Argon2.Threads, 1); p.Argon2.MemoryKiB < minMem || p.Argon2.MemoryKiB > 4194304 {
		bad("portal.argon2.memory_kib", "%d is outside %d-4194304 (8 × threads to 4 GiB)", p.Argon2.MemoryKiB, minMem)
	}
	if p.MaxConcurrentHashes < 0 {
		bad("portal.max_concurrent_hashes", "%d is negative", p.MaxConcurrentHashes)
	}

	if _, err := netmail.ParseAddress(c.Mail.From); err != nil {
		bad("mail.from", "%q is not one e-mail address", c.Mail.From)
	}

	s := c.SMTP
	if s.Port < 1 || s.Port > 65535 {
		bad("smtp.port", "%d is outside 1-65535", s.Port)
	}
	if s.TLS != "starttls" && s.TLS != "tls" && s.TLS != "none" {
		bad("smtp.tls", "%q is not starttls, tls or none", s.TLS)
	}
	if s.Timeout <= 0 {
		bad("smtp.timeout", "%s must be positive", s.Timeout)
	}
	if s.MaxConnections < 1 || s.MaxConnections > MaxSMTPConnections {
		bad("smtp.max_connections", "%d is outside 1-%d", s.MaxConnections, MaxSMTPConnections)
	}
	if s.IdleTimeout < 0 || s.IdleTimeout > MaxSMTPIdleTimeout {
		bad("smtp.idle_timeout", "%s is outside 0-%s", s.IdleTimeout, MaxSMTPIdleTimeout)
	}
	if s.MaxMessagesPerConnection < 1 {
		bad("smtp.max_messages_per_connection", "%d must be at least 1", s.MaxMessagesPerConnection)
	}
	if s.Password.IsSet() && s.Username == "" {
		bad("smtp.password", "is set but smtp.username is empty")
	}
	if s.Host != "" && s.TLS == "none" && !isLoopback(s.Host) {
		// Security alerts and confirmations would cross the network in
		// clear (and a password too): only a relay on this machine.
		bad("smtp.tls", "none is allowed only to a loopback host (127.0.0.1, ::1, localhost), not %s; use starttls or tls", s.Host)
	}

	f := c.Flow
	if f.MaxDuration <= 0 || f.MaxDuration > MaxFlowDuration {
		bad("flow.max_duration", "%s is outside (0, %s]", f.MaxDuration, MaxFlowDuration)
	}
	if f.IdleTimeout <= 0 || (f.MaxDuration > 0 && f.IdleTimeout > f.MaxDuration) {
		bad("flow.idle_timeout", "%s must be positive and at most flow.max_duration (%s)", f.IdleTimeout, f.MaxDuration)
	}
	if f.ReminderAfter <= 0 || f.ReminderAfter >= f.IdleTimeout {
		bad("flow.reminder_after", "%s must be positive and below flow.idle_timeout (%s)", f.ReminderAfter, f.IdleTimeout)
	}
	if f.SweepInterval <= 0 || f.SweepInterval >= f.IdleTimeout {
		bad("flow.sweep_interval", "%s must be positive and below flow.idle_timeout (%s)", f.SweepInterval, f.IdleTimeout)
	}
	if f.Order != OrderDisableThenEnroll && f.Order != OrderEnrollThenSwitch {
		bad("flow.order", "%q is not %s or %s", f.Order, OrderDisableThenEnroll, OrderEnrollThenSwitch)
	}

	t := c.Telegram
	if err := checkURL(t.APIURL, false); err != nil {
		bad("telegram.api_url", "%v", err)
	}
	if t.WebhookURL != "" {
		if err := checkURL(t.WebhookURL, true); err != nil {
			bad("telegram.webhook_url", "%v", err)
		} else if u, _ := url.Parse(t.WebhookURL); u.Port() != "" && !strings.Contains(" 443 80 88 8443 ", " "+u.Port()+" ") {
			bad("telegram.webhook_url", "port %s is not one Telegram sends webhooks to (443, 80, 88, 8443)", u.Port())
		}
		if !t.Token.IsSet() {
			bad("telegram.webhook_url", "is set but telegram.token is empty")
		}
		if err := checkListen(t.Listen); err != nil {
			bad("telegram.listen", "%v", err)
		}
	}
	if tok := t.Token.Reveal(); tok != "" && !botTokenShape(tok) {
		bad("telegram.token", "does not look like a bot token from @BotFather (digits, ':', then letters, digits, '_' or '-'); check TELEGRAM_BOT_TOKEN")
	}
	if w := t.WebhookSecret.Reveal(); w != "" && (len(w) > 256 || strings.Trim(w, idChars+"-") != "") {
		bad("telegram.webhook_secret", "must be 1-256 characters from A-Z, a-z, 0-9, '_' and '-'")
	}
	if u := t.BotUsername; u != "" && (len(u) < 5 || len(u) > 32 || strings.Trim(u, idChars) != "") {
		bad("telegram.bot_username", "%q is not 5-32 characters from A-Z, a-z, 0-9 and '_'", u)
	}

	sl := c.Slack
	if sl.Mode != "socket" && sl.Mode != "http" {
		bad("slack.mode", "%q is not socket or http", sl.Mode)
	}
	if !strings.HasPrefix(sl.Command, "/") || len(sl.Command) < 2 || strings.ContainsAny(sl.Command, " \t\r\n") {
		bad("slack.command", "%q must be '/' followed by a name without spaces", sl.Command)
	}
	if sl.HandoffTTL <= 0 || sl.HandoffTTL > 10*time.Minute {
		bad("slack.handoff_ttl", "%s must be positive and at most 10m (a hand-off link is single-use and short-lived)", sl.HandoffTTL)
	}
	if !slices.Contains(SupportLocales, sl.SupportLocale) {
		bad("slack.support_locale", "%q is not one of %s", sl.SupportLocale, strings.Join(SupportLocales, ", "))
	}
	if sl.APIURL != "" {
		if err := checkURL(sl.APIURL, false); err != nil {
			bad("slack.api_url", "%v", err)
		}
	}
	if sl.BotToken.IsSet() && !strings.HasPrefix(sl.BotToken.Reveal(), "xoxb-") {
		bad("slack.bot_token", "does not start with \"xoxb-\" (the Bot User OAuth Token of the app's OAuth & Permissions page); check SLACK_BOT_TOKEN")
	}
	if sl.AppToken.IsSet() && !strings.HasPrefix(sl.AppToken.Reveal(), "xapp-") {
		bad("slack.app_token", "does not start with \"xapp-\" (an app-level token is needed for Socket Mode)")
	}
	if sl.Enabled() {
		switch {
		case sl.Mode == "socket" && !sl.AppToken.IsSet():
			bad("slack.app_token", "is required in socket mode (or set SLACK_APP_TOKEN)")
		case sl.Mode == "http" && !sl.SigningSecret.IsSet():
			bad("slack.signing_secret", "is required in http mode (or set SLACK_SIGNING_SECRET)")
		}
		if sl.Mode == "http" {
			if err := checkListen(sl.Listen); err != nil {
				bad("slack.listen", "%v", err)
			}
		}
	} else if sl.AppToken.IsSet() || sl.SigningSecret.IsSet() {
		bad("slack.bot_token", "is empty but slack.app_token or slack.signing_secret is set")
	}
	for _, id := range sl.StaffUserIDs {
		if len(id) < 3 || (id[0] != 'U' && id[0] != 'W') || strings.Trim(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") != "" {
			bad("slack.staff_user_ids", "%q is not a Slack user ID (U… or W…, upper-case letters and digits)", id)
		}
	}

	c.validateEntry(bad)

	validatePortalRemote(c.Portal, bad)

	o := c.Ops
	if o.Listen != "off" {
		if host, _, err := net.SplitHostPort(o.Listen); err != nil {
			bad("ops.listen", "%q is not host:port or off", o.Listen)
		} else if !o.Public && !isLoopback(host) {
			bad("ops.listen", "%q is not a loopback address; set ops.public: true to serve metrics and health beyond this machine", o.Listen)
		}
	}

	c.Store.validate(bad)
	return errors.Join(errs...)
}

// validatePortalRemote checks the remote-portal keys (issue 13).
func validatePortalRemote(p PortalConfig, bad func(key, format string, args ...any)) {
	if p.URL != "" {
		u, err := url.Parse(p.URL)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			bad("portal.url", "%q is not an http(s) URL", p.URL)
		case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
			bad("portal.url", "%q: plain http only to a loopback host (the service token would cross the network in clear); use https", p.URL)
		}
	}
	if p.Timeout <= 0 {
		bad("portal.timeout", "must be positive")
	}
	if (p.ClientCert == "") != (p.ClientKey == "") {
		bad("portal.client_cert", "portal.client_cert and portal.client_key go together")
	}
	if _, _, err := net.SplitHostPort(p.Serve.Listen); err != nil {
		bad("portal.serve.listen", "%q is not host:port", p.Serve.Listen)
	}
	if (p.Serve.TLSCert == "") != (p.Serve.TLSKey == "") {
		bad("portal.serve.tls_cert", "portal.serve.tls_cert and tls_key go together")
	}
	if p.Serve.ClientCA != "" && p.Serve.TLSCert == "" {
		bad("portal.serve.client_ca", "needs portal.serve.tls_cert and tls_key")
	}
	if g := p.SMS.GatewayURL; g != "" {
		u, err := url.Parse(g)
		switch {
		case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
			bad("portal.sms.gateway_url", "%q is not an http(s) URL", g)
		case u.Scheme == "http" && !isLoopbackHost(u.Hostname()):
			bad("portal.sms.gateway_url", "%q: plain http only to a loopback host (the SMS codes would cross the network in clear); use https", g)
		}
		if p.SMS.GatewaySecretFile == "" && len(p.SMS.GatewaySecret.Reveal()) < MinGatewaySecretBytes {
			bad("portal.sms.gateway_secret", "must have at least %d bytes with portal.sms.gateway_url (or set portal.sms.gateway_secret_file)", MinGatewaySecretBytes)
		}
	}
	for _, t := range p.Serve.Tokens {
		if v := strings.TrimSpace(t.Reveal()); v != "" && len(v) < MinServiceTokenBytes {
			bad("portal.serve.tokens", "a token has %d characters, want at least %d (e.g. openssl rand -base64 32)", len(v), MinServiceTokenBytes)
		}
	}
	if v := strings.TrimSpace(p.Token.Reveal()); v != "" && len(v) < MinServiceTokenBytes {
		bad("portal.token", "has %d characters, want at least %d (e.g. openssl rand -base64 32)", len(v), MinServiceTokenBytes)
	}
}

// MinServiceTokenBytes is the shortest service token accepted for the
// portal over HTTP (portal.token, portal.serve.tokens): 32 characters,
// e.g. 24 random bytes in base64 (192 bits; OWASP ASVS 5 §13.3).
const MinServiceTokenBytes = 32

// MinGatewaySecretBytes is the shortest HMAC key accepted for the SMS
// gateway's signature (RFC 2104 §3: at least the hash output's 16 bytes
// of strength for HMAC-SHA256 in practice).
const MinGatewaySecretBytes = 16

// isLoopbackHost reports whether host is "localhost" or a loopback IP.
func isLoopbackHost(host string) bool {
	ip := net.ParseIP(host)
	return host == "localhost" || (ip != nil && ip.IsLoopback())
}

const idChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"

// checkURL reports whether s is an absolute http(s) URL with a host
// (https only when httpsOnly).
func checkURL(s string, httpsOnly bool) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && (httpsOnly || u.Scheme != "http")) {
		if httpsOnly {
			return fmt.Errorf("%q is not an https:// URL", s)
		}
		return fmt.Errorf("%q is not an http:// or https:// URL", s)
	}
	return nil
}

func checkListen(addr string) error {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return fmt.Errorf("%q is not host:port", addr)
	}
	return nil
}

// botTokenShape reports whether tok has the form of a Telegram bot token:
// the bot's numeric id, ':', and at least one of [A-Za-z0-9_-] (Bot API
// "Authorizing your bot").
func botTokenShape(tok string) bool {
	id, secret, ok := strings.Cut(tok, ":")
	return ok && id != "" && strings.Trim(id, "0123456789") == "" && secret != "" && strings.Trim(secret, idChars+"-") == ""
}

// isLoopback reports whether host is "localhost" or a loopback IP address.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
