// Package config loads guidedfix's configuration: built-in defaults that
// let the demo run with no configuration at all, then an optional YAML
// file, then environment variables, each layer overriding the one before.
//
// Environment variables are GUIDEDFIX_ followed by the key path in upper
// case with "__" between levels and the key's own underscores kept:
// smtp.host is GUIDEDFIX_SMTP__HOST, data_dir is GUIDEDFIX_DATA_DIR,
// portal.argon2.memory_kib is GUIDEDFIX_PORTAL__ARGON2__MEMORY_KIB. A list
// (slack.staff_user_ids) is given comma-separated. The platforms' usual
// names are read as well — TELEGRAM_BOT_TOKEN, SLACK_BOT_TOKEN,
// SLACK_APP_TOKEN, SLACK_SIGNING_SECRET — and a GUIDEDFIX_ variable for the
// same key wins over them.
package config

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"time"
)

// EnvPrefix starts every environment variable that sets a configuration
// key, e.g. GUIDEDFIX_SMTP__HOST for smtp.host.
const EnvPrefix = "GUIDEDFIX_"

// MaxFlowDuration is the longest accepted flow.max_duration: the whole
// guided change, from first message to the authenticator app being active,
// must finish within 20 minutes (security checklist item 12).
const MaxFlowDuration = 20 * time.Minute

// Bounds of the SMTP connection pool's settings (smtp.max_connections,
// smtp.idle_timeout). A relay need not keep an idle session longer than
// 5 minutes (RFC 5321 §4.5.3.2.7, the server's minimum timeout).
const (
	// MaxSMTPConnections is the largest accepted smtp.max_connections.
	MaxSMTPConnections = 64
	// MaxSMTPIdleTimeout is the longest accepted smtp.idle_timeout.
	MaxSMTPIdleTimeout = 5 * time.Minute
)

// Flow orders accepted in [FlowConfig.Order].
const (
	// OrderDisableThenEnroll follows the portal's knowledge-base procedure:
	// disable SMS 2FA, then set up the authenticator app.
	OrderDisableThenEnroll = "disable-then-enroll"
	// OrderEnrollThenSwitch sets up and verifies the authenticator app
	// first and removes SMS only once it works, so the account is never
	// without a second factor.
	OrderEnrollThenSwitch = "enroll-then-switch"
)

// Config is the whole configuration. The koanf tags are the key names in
// the YAML file and, upper-cased, in the environment.
type Config struct {
	// DataDir holds the embedded portal's database, its key file, the
	// session store and the mail outbox. "" means [DefaultDataDir]; see
	// [Config.DataDirOrDefault].
	DataDir string       `koanf:"data_dir"`
	Log     LogConfig    `koanf:"log"`
	Portal  PortalConfig `koanf:"portal"`
	Mail    MailConfig   `koanf:"mail"`
	SMTP    SMTPConfig   `koanf:"smtp"`
	Flow    FlowConfig   `koanf:"flow"`
	// Enrollment configures what the TOTP enrollment adds.
	Enrollment EnrollmentConfig `koanf:"enrollment"`
	Telegram   TelegramConfig   `koanf:"telegram"`
	Slack      SlackConfig      `koanf:"slack"`
	// Entry and Secrets configure the secure entry page (entry.go).
	Entry   EntryConfig   `koanf:"entry"`
	Secrets SecretsConfig `koanf:"secrets"`
	// Store chooses the session store (internal/config/store.go).
	Store StoreConfig `koanf:"store"`
	// Ops configures the operator's listener (metrics, health, pprof).
	Ops OpsConfig `koanf:"ops"`
}

// OpsConfig configures the ops listener of `guidedfix serve`: /metrics,
// /healthz, /readyz, pprof, expvar and the admin backup endpoint.
type OpsConfig struct {
	// Listen is the listener's host:port (default "127.0.0.1:9464");
	// "off" turns it off. A non-loopback host needs Public.
	Listen string `koanf:"listen"`
	// Public allows a Listen address beyond loopback, so that a Prometheus
	// on another machine can scrape; pprof, expvar and the admin endpoint
	// still answer loopback clients only. Default false.
	Public bool `koanf:"public"`
}

// EnrollmentConfig configures the TOTP enrollment step.
type EnrollmentConfig struct {
	// RecoveryCodes is how many single-use recovery codes (NIST SP 800-63B
	// §5.1.2 look-up secrets) the account gets once the app is verified;
	// 0 (default) issues none and the flow skips that step; at most 20.
	RecoveryCodes int `koanf:"recovery_codes"`
}

// LogConfig configures the process log (log/slog).
type LogConfig struct {
	// Level is the lowest level written: "debug", "info" (default),
	// "warn" or "error", case-insensitive, optionally with an offset such
	// as "info+2" (slog.Level.UnmarshalText).
	Level string `koanf:"level"`
	// Format is "text" (default, slog.TextHandler) or "json"
	// (slog.JSONHandler).
	Format string `koanf:"format"`
}

// MaxIssuerEncoded is the most bytes portal.issuer may take once
// percent-encoded (url.PathEscape: a space or a non-ASCII byte takes 3).
// The otpauth URI holds the issuer twice; with this bound an account e-mail
// of up to 100 bytes keeps the QR code within version 10 at error-correction
// level M (213 bytes, ISO/IEC 18004 Table 7).
const MaxIssuerEncoded = 24

// PortalConfig configures the embedded portal auth core.
type PortalConfig struct {
	// Issuer names the service in authenticator apps: the otpauth URI's
	// issuer parameter and label prefix. Must not contain ':' (Key URI
	// format) and must be at most [MaxIssuerEncoded] bytes once
	// percent-encoded. Default "IP ServerOne".
	Issuer string `koanf:"issuer"`
	// Key is the base64 (standard alphabet, padded) encoding of the
	// 32-byte AES-256 key that encrypts TOTP secrets at rest. Empty (the
	// default) means a key file in the data directory.
	Key Secret `koanf:"key"`
	// Argon2 sets the argon2id password-hashing cost (RFC 9106).
	Argon2 Argon2Config `koanf:"argon2"`
	// MaxConcurrentHashes caps how many password hashes run at once, so a
	// burst of logins cannot exhaust memory (each uses Argon2.MemoryKiB).
	// 0 (default) means 2 × the number of CPUs; see
	// [PortalConfig.HashConcurrency].
	MaxConcurrentHashes int `koanf:"max_concurrent_hashes"`

	// Remote portal (issue 13): see [PortalConfig.Remote].

	// URL is the base address of a remote portal serving
	// api/portal.openapi.yaml (e.g. "https://portal.internal:8710").
	// Empty (default) means the embedded core in the data directory.
	URL string `koanf:"url"`
	// Token is the service bearer token sent to the remote portal.
	Token Secret `koanf:"token"`
	// TokenFile is a file holding Token (surrounding space trimmed), the
	// *_FILE form for secrets mounted as files; Token wins when both are set.
	TokenFile string `koanf:"token_file"`
	// CAFile is a PEM bundle of CAs to trust for the remote portal's TLS
	// certificate; empty means the system roots.
	CAFile string `koanf:"ca_file"`
	// ClientCert and ClientKey are a PEM certificate and key presented to
	// the remote portal (mutual TLS); both or neither.
	ClientCert string `koanf:"client_cert"`
	ClientKey  string `koanf:"client_key"`
	// Timeout bounds each attempt of a remote portal call (default 10s).
	Timeout time.Duration `koanf:"timeout"`
	// Serve configures `guidedfix portal serve`.
	Serve PortalServeConfig `koanf:"serve"`
	// SMS configures how the embedded core delivers SMS codes.
	SMS PortalSMSConfig `koanf:"sms"`
}

// PortalServeConfig configures `guidedfix portal serve`, which exposes the
// embedded core over HTTP (api/portal.openapi.yaml).
type PortalServeConfig struct {
	// Listen is the host:port to bind (default "127.0.0.1:8710"). Without
	// TLSCert it must be a loopback address (plain HTTP behind a
	// terminator on the same machine).
	Listen string `koanf:"listen"`
	// Tokens are the accepted service bearer tokens; list two while
	// rotating. In the environment: comma-separated. Serve refuses to start
	// without one.
	Tokens []Secret `koanf:"tokens"`
	// TokensFile is a file of accepted tokens, one per line, added to
	// Tokens (the *_FILE form).
	TokensFile string `koanf:"tokens_file"`
	// TLSCert and TLSKey are the PEM certificate and key to serve HTTPS.
	TLSCert string `koanf:"tls_cert"`
	TLSKey  string `koanf:"tls_key"`
	// ClientCA is a PEM bundle: when set, a client certificate signed by
	// it is required (mutual TLS) besides the token. Needs TLSCert.
	ClientCA string `koanf:"client_ca"`
}

// PortalSMSConfig configures the embedded core's SMS delivery.
type PortalSMSConfig struct {
	// GatewayURL is the operator's HTTPS endpoint the SMS gateway sender
	// POSTs each message to as signed JSON. Empty (default) means the file
	// "phone" DATA/outbox/sms, for the demo only.
	GatewayURL string `koanf:"gateway_url"`
	// GatewaySecret is the HMAC-SHA256 key signing each message
	// (required with GatewayURL).
	GatewaySecret Secret `koanf:"gateway_secret"`
	// GatewaySecretFile is a file holding GatewaySecret (the *_FILE form).
	GatewaySecretFile string `koanf:"gateway_secret_file"`
}

// Remote reports whether guidedfix uses a remote portal (URL is set).
func (c PortalConfig) Remote() bool { return c.URL != "" }

// ServiceToken returns Token, or the trimmed content of TokenFile. It
// returns an error when TokenFile cannot be read or both are empty.
func (c PortalConfig) ServiceToken() (string, error) {
	if c.Token.IsSet() {
		return c.Token.Reveal(), nil
	}
	if c.TokenFile != "" {
		b, err := os.ReadFile(c.TokenFile)
		if err != nil {
			return "", fmt.Errorf("portal.token_file: %w", err)
		}
		if t := strings.TrimSpace(string(b)); t != "" {
			return t, nil
		}
	}
	return "", fmt.Errorf("portal.url is set but no service token: set %s or %s", EnvName("portal.token"), EnvName("portal.token_file"))
}

// AcceptedTokens returns Tokens and the non-empty lines of TokensFile,
// trimmed. It returns an error when TokensFile cannot be read; an empty
// result is no error (the caller refuses to start).
func (c PortalServeConfig) AcceptedTokens() ([]string, error) {
	var out []string
	for _, t := range c.Tokens {
		if v := strings.TrimSpace(t.Reveal()); v != "" {
			out = append(out, v)
		}
	}
	if c.TokensFile != "" {
		b, err := os.ReadFile(c.TokensFile)
		if err != nil {
			return nil, fmt.Errorf("portal.serve.tokens_file: %w", err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, l)
			}
		}
	}
	for _, t := range out {
		if len(t) < MinServiceTokenBytes {
			return nil, fmt.Errorf("portal.serve.tokens: a token has %d characters, want at least %d (e.g. openssl rand -base64 32)", len(t), MinServiceTokenBytes)
		}
	}
	return out, nil
}

// Secret returns GatewaySecret, or the trimmed content of
// GatewaySecretFile; "" when neither is set. It returns an error when the
// file cannot be read.
func (c PortalSMSConfig) Secret() (string, error) {
	if c.GatewaySecret.IsSet() || c.GatewaySecretFile == "" {
		return c.GatewaySecret.Reveal(), nil
	}
	b, err := os.ReadFile(c.GatewaySecretFile)
	if err != nil {
		return "", fmt.Errorf("portal.sms.gateway_secret_file: %w", err)
	}
	return strings.TrimSpace(string(b)), nil
}

// Argon2Config is the argon2id cost. The defaults are OWASP's Password
// Storage Cheat Sheet minimum: 19 MiB, 2 passes, 1 lane.
type Argon2Config struct {
	// MemoryKiB is the memory per hash in KiB (default 19456 = 19 MiB);
	// at least 8 × Threads, at most 4194304 (4 GiB).
	MemoryKiB int `koanf:"memory_kib"`
	// Time is the number of passes over the memory (default 2), ≥ 1.
	Time int `koanf:"time"`
	// Threads is the degree of parallelism (default 1), 1-255.
	Threads int `koanf:"threads"`
}

// Params returns the cost in the types golang.org/x/crypto/argon2.IDKey
// takes: memory in KiB, passes, lanes. The conversion is exact only for a
// configuration that passed [Config.Validate]; the fields are ints so that
// a negative or oversized value in the file is reported instead of being
// wrapped around by the decoder.
func (a Argon2Config) Params() (memoryKiB, time uint32, threads uint8) {
	return uint32(a.MemoryKiB), uint32(a.Time), uint8(a.Threads)
}

// BelowOWASP reports whether the cost is below every argon2id setting of
// the OWASP Password Storage Cheat Sheet (m=47104 KiB t=1, 19456 t=2,
// 12288 t=3, 9216 t=4, 7168 t=5, each p=1): memory under 7168 KiB or
// memory × time under 35840 KiB. Such values are accepted, for tests and
// benchmarks, and guidedfix logs a warning.
func (a Argon2Config) BelowOWASP() bool {
	return a.MemoryKiB < 7168 || a.MemoryKiB*a.Time < 35840
}

// MailConfig configures outgoing e-mail.
type MailConfig struct {
	// From is the From header of every e-mail, one RFC 5322 address.
	// Default "IP ServerOne <no-reply@ipserverone.example>".
	From string `koanf:"from"`
	// SupportContact ends every e-mail to an account holder, e.g.
	// "support@example.com, +60 3 1234 5678". Empty (default): a line
	// pointing to the Customer Portal's support page.
	// Named also in the e-mail sent when failed attempts lock an account or
	// block a factor.
	SupportContact string `koanf:"support_contact"`
}

// SMTPConfig says how e-mail leaves. With Host empty (the default) e-mail
// is written as .eml files into DataDir/outbox instead.
type SMTPConfig struct {
	// Host is the submission server's name or IP address.
	Host string `koanf:"host"`
	// Port is the TCP port, 1-65535 (default 587).
	Port int `koanf:"port"`
	// Username enables AUTH PLAIN when set.
	Username string `koanf:"username"`
	// Password goes with Username.
	Password Secret `koanf:"password"`
	// TLS is "starttls" (default; STARTTLS is mandatory), "tls"
	// (implicit TLS, usually port 465) or "none" (only for a relay on
	// this machine; credentials are then refused for non-loopback hosts).
	TLS string `koanf:"tls"`
	// Timeout bounds one message's SMTP session (default 10 s), > 0.
	Timeout time.Duration `koanf:"timeout"`
	// MaxConnections bounds the SMTP connections open at once, in use or
	// kept idle for the next message (default 4), 1-64.
	MaxConnections int `koanf:"max_connections"`
	// IdleTimeout is how long a connection is kept open after a message
	// for the next one (default 30 s), 0-5m; 0 closes each connection
	// after its message.
	IdleTimeout time.Duration `koanf:"idle_timeout"`
	// MaxMessagesPerConnection is how many messages one connection
	// carries before a new one is opened (default 100), >= 1.
	MaxMessagesPerConnection int `koanf:"max_messages_per_connection"`
}

// Enabled reports whether e-mail goes through SMTP (Host is set) rather
// than into the .eml outbox.
func (c SMTPConfig) Enabled() bool { return c.Host != "" }

// FlowConfig sets the guided flow's time limits (all durations are wall
// clock time on the server) and its order of steps.
type FlowConfig struct {
	// IdleTimeout ends a flow after this long without a message from the
	// person (default 15 min); > 0 and ≤ MaxDuration.
	IdleTimeout time.Duration `koanf:"idle_timeout"`
	// MaxDuration ends a flow this long after it started, whatever
	// happens (default 20 min); > 0 and ≤ [MaxFlowDuration].
	MaxDuration time.Duration `koanf:"max_duration"`
	// Order is [OrderEnrollThenSwitch] (default: the account is never
	// without a second factor) or [OrderDisableThenEnroll].
	Order string `koanf:"order"`
	// ReminderAfter sends one reminder after this long without a message
	// (default 10 min); > 0 and < IdleTimeout.
	ReminderAfter time.Duration `koanf:"reminder_after"`
	// SweepInterval is how often expired flows and due reminders are
	// looked for (default 5 s); > 0 and < IdleTimeout.
	SweepInterval time.Duration `koanf:"sweep_interval"`
}

// TelegramConfig configures the Telegram adapter. It is enabled when Token
// is set.
type TelegramConfig struct {
	// Token is the bot token from @BotFather (also read from
	// TELEGRAM_BOT_TOKEN).
	Token Secret `koanf:"token"`
	// APIURL is the Bot API server (default "https://api.telegram.org").
	APIURL string `koanf:"api_url"`
	// WebhookURL is the public HTTPS address Telegram posts updates to;
	// its port, if given, must be 443, 80, 88 or 8443 (Bot API
	// setWebhook). Empty (default) means long polling with getUpdates.
	WebhookURL string `koanf:"webhook_url"`
	// Listen is the local address the webhook server binds, host:port
	// (default ":8443"). Used only with WebhookURL.
	Listen string `koanf:"listen"`
	// WebhookSecret is sent by Telegram in the
	// X-Telegram-Bot-Api-Secret-Token header: 1-256 characters from
	// A-Z, a-z, 0-9, '_' and '-'. When WebhookURL is set and this is
	// empty, [Load] generates a random one (256 bits) for this process.
	WebhookSecret Secret `koanf:"webhook_secret"`
	// BotUsername is the bot's @username without the '@', used to build
	// t.me deep links; 5-32 characters from A-Z, a-z, 0-9, '_'. A leading
	// '@' is removed by [Load].
	BotUsername string `koanf:"bot_username"`
	// PerChatInterval spaces the messages sent into one chat: a burst of
	// 3, then one per interval. 0 (default) means 1 s, Telegram's advice;
	// a negative value turns the limit off (a self-hosted Bot API server
	// or a benchmark's fake).
	PerChatInterval time.Duration `koanf:"per_chat_interval"`
	// GlobalPerSecond caps the messages sent per second over all chats.
	// 0 (default) means 30, Telegram's limit; negative turns it off.
	GlobalPerSecond int `koanf:"global_per_second"`
}

// Enabled reports whether the Telegram adapter should run (Token is set).
func (c TelegramConfig) Enabled() bool { return c.Token.IsSet() }

// SlackConfig configures the Slack adapter. It is enabled when BotToken is
// set.
type SlackConfig struct {
	// BotToken is the bot user OAuth token, "xoxb-…" (also read from
	// SLACK_BOT_TOKEN).
	BotToken Secret `koanf:"bot_token"`
	// AppToken is the app-level token "xapp-…" that Socket Mode needs
	// (also read from SLACK_APP_TOKEN).
	AppToken Secret `koanf:"app_token"`
	// SigningSecret verifies HTTP requests from Slack in "http" mode
	// (also read from SLACK_SIGNING_SECRET).
	SigningSecret Secret `koanf:"signing_secret"`
	// APIURL overrides the Web API base URL, e.g. a test server. Empty
	// (default) means slack-go's default (https://slack.com/api/). [Load]
	// adds a missing trailing '/', which slack-go needs.
	APIURL string `koanf:"api_url"`
	// Listen is the local address of the HTTP endpoints in "http" mode,
	// host:port (default ":3000").
	Listen string `koanf:"listen"`
	// Command is the slash command (default "/guidedfix").
	Command string `koanf:"command"`
	// Mode is "socket" (default, Socket Mode over a WebSocket, no public
	// URL needed) or "http" (Events API and interactivity over HTTP).
	Mode string `koanf:"mode"`
	// SupportChannel is the channel support teams hand off from and
	// watch progress in (a channel ID such as "C0123ABCD").
	SupportChannel string `koanf:"support_channel"`
	// HandoffTTL is how long a hand-off link an agent creates can be
	// opened (default 10 min, at most 10 min: security checklist §5 #22,
	// NIST SP 800-63B §6.1.2.3).
	HandoffTTL time.Duration `koanf:"handoff_ttl"`
	// SupportLocale is the language of everything the support desk posts
	// to the support channel (hand-off and watch threads, step names,
	// outcomes, escalations and relayed messages, alerts) and of the step
	// names in the audit log: one of [SupportLocales] (default "en"; "ms"
	// is Bahasa Melayu).
	SupportLocale string `koanf:"support_locale"`
	// StaffUserIDs are the Slack user IDs ("U…" or "W…") treated as
	// staff. In the environment: comma-separated.
	StaffUserIDs []string `koanf:"staff_user_ids"`
	// StaffGroup is a Slack user group whose members are treated as staff.
	StaffGroup string `koanf:"staff_group"`
}

// SupportLocales are the accepted values of slack.support_locale, the
// language tags of the catalogs every flow and the engine carry
// (bot.Languages: en.yaml and ms.yaml).
var SupportLocales = []string{"en", "ms"}

// Enabled reports whether the Slack adapter should run (BotToken is set).
func (c SlackConfig) Enabled() bool { return c.BotToken.IsSet() }

// Default returns the built-in configuration: everything the demo needs,
// with no platform enabled and e-mail going to the .eml outbox.
func Default() Config {
	return Config{
		Log: LogConfig{Level: "info", Format: "text"},
		Portal: PortalConfig{
			Issuer:  "IP ServerOne",
			Argon2:  Argon2Config{MemoryKiB: 19456, Time: 2, Threads: 1},
			Timeout: 10 * time.Second,
			Serve:   PortalServeConfig{Listen: "127.0.0.1:8710"},
		},
		Mail: MailConfig{From: "IP ServerOne <no-reply@ipserverone.example>"},
		SMTP: SMTPConfig{Port: 587, TLS: "starttls", Timeout: 10 * time.Second,
			MaxConnections: 4, IdleTimeout: 30 * time.Second, MaxMessagesPerConnection: 100},
		Flow: FlowConfig{
			IdleTimeout:   15 * time.Minute,
			MaxDuration:   20 * time.Minute,
			Order:         OrderEnrollThenSwitch,
			ReminderAfter: 10 * time.Minute,
			SweepInterval: 5 * time.Second,
		},
		Telegram: TelegramConfig{APIURL: "https://api.telegram.org", Listen: ":8443"},
		Slack:    SlackConfig{Listen: ":3000", Command: "/guidedfix", Mode: "socket", HandoffTTL: 10 * time.Minute, SupportLocale: "en"},
		Entry:    EntryConfig{Listen: "127.0.0.1:8090"},
		Ops:      OpsConfig{Listen: "127.0.0.1:9464"},
		Store:    defaultStore(),
	}
}

// DefaultDataDir returns the per-user data directory following the XDG
// Base Directory Specification: $XDG_DATA_HOME/guidedfix when
// XDG_DATA_HOME is set to an absolute path (a relative one is ignored, as
// the specification requires), else $HOME/.local/share/guidedfix. It
// does not create the directory. It returns an error when neither
// XDG_DATA_HOME nor the home directory is known.
func DefaultDataDir() (string, error) {
	if x := os.Getenv("XDG_DATA_HOME"); x != "" && filepath.IsAbs(x) {
		return filepath.Join(x, "guidedfix"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("config: no data directory: set data_dir or XDG_DATA_HOME: %w", err)
	}
	return filepath.Join(home, ".local", "share", "guidedfix"), nil
}

// DataDirOrDefault returns c.DataDir, or [DefaultDataDir] when it is
// empty.
func (c Config) DataDirOrDefault() (string, error) {
	if c.DataDir != "" {
		return c.DataDir, nil
	}
	return DefaultDataDir()
}

// SlogLevel returns Level as a slog.Level, or slog.LevelInfo when Level
// does not parse (which [Config.Validate] reports).
func (c LogConfig) SlogLevel() slog.Level {
	var l slog.Level
	if err := l.UnmarshalText([]byte(c.Level)); err != nil {
		return slog.LevelInfo
	}
	return l
}

// KeyBytes returns the decoded Key: 32 bytes, or nil when Key is empty. It
// returns an error, without the key's text, when Key is not standard
// base64 of exactly 32 bytes.
func (c PortalConfig) KeyBytes() ([]byte, error) {
	if !c.Key.IsSet() {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(c.Key.Reveal()))
	if err != nil {
		return nil, errors.New("portal.key is not valid base64 (standard alphabet, padded)")
	}
	if len(b) != 32 {
		return nil, fmt.Errorf("portal.key decodes to %d bytes, want 32 (AES-256)", len(b))
	}
	return b, nil
}

// HashConcurrency returns MaxConcurrentHashes, or 2 × runtime.NumCPU()
// when it is 0.
func (c PortalConfig) HashConcurrency() int {
	if c.MaxConcurrentHashes > 0 {
		return c.MaxConcurrentHashes
	}
	return 2 * runtime.NumCPU()
}

// conventionalEnv maps the platforms' usual variable names to keys.
var conventionalEnv = map[string]string{
	"TELEGRAM_BOT_TOKEN":   "telegram.token",
	"SLACK_BOT_TOKEN":      "slack.bot_token",
	"SLACK_APP_TOKEN":      "slack.app_token",
	"SLACK_SIGNING_SECRET": "slack.signing_secret",
}

// Load returns [Default] overridden by the YAML file at path (skipped when
// path is ""), then by the conventional platform variables, then by
// GUIDEDFIX_ variables (see the package documentation), normalised (a
// trailing '/' on slack.api_url, no leading '@' on telegram.bot_username,
// a generated telegram.webhook_secret when a webhook is configured without
// one) and checked with [Config.Validate]. An environment variable set to
// the empty string counts as unset.
//
// Load returns an error when path is given but cannot be read (a missing
// file included), when the file is not YAML or holds a key that is not a
// setting, when a GUIDEDFIX_ variable names a section (GUIDEDFIX_SMTP_…,
// GUIDEDFIX_SLACK_…) but no setting in it — usually a single '_' where
// "__" was meant — when a value has the wrong type (e.g. "ten" for a
// duration), and with all of Validate's errors. GUIDEDFIX_ variables that
// name no section (GUIDEDFIX_CONFIG, say) are left alone for other uses.
func Load(path string) (Config, error) {
	return load(path, os.Environ)
}

func load(path string, environ func() []string) (Config, error) {
	cfg, problems := check(path, environ)
	if len(problems) > 0 {
		return Config{}, errors.Join(problems...)
	}
	return cfg, nil
}

// envTypo returns an error when the variable name, as key, starts with a
// section's name but is no setting, suggesting the likely intended name.
func envTypo(name, key string) error {
	section, rest, _ := strings.Cut(strings.ReplaceAll(key, ".", "_"), "_")
	if !sections[section] {
		return nil
	}
	if want := section + "." + strings.TrimLeft(rest, "_"); known[want] && !sections[want] {
		return fmt.Errorf("%s is not a setting; did you mean %s?", name, EnvName(want))
	}
	return fmt.Errorf("%s is not a setting (levels are separated by \"__\", e.g. %s)", name, EnvName("smtp.host"))
}

// EnvName returns the environment variable that sets key:
// EnvName("smtp.host") is "GUIDEDFIX_SMTP__HOST".
func EnvName(key string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(key, ".", "__"))
}

func splitList(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

func (c *Config) normalize() error {
	if c.Slack.APIURL != "" && !strings.HasSuffix(c.Slack.APIURL, "/") {
		c.Slack.APIURL += "/"
	}
	c.Telegram.BotUsername = strings.TrimPrefix(c.Telegram.BotUsername, "@")
	if c.Telegram.WebhookURL != "" && !c.Telegram.WebhookSecret.IsSet() {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return fmt.Errorf("config: generate telegram.webhook_secret: %w", err)
		}
		c.Telegram.WebhookSecret = Secret(base64.RawURLEncoding.EncodeToString(b))
	}
	return nil
}

// known holds every setting's key path ("smtp.host") and every section's
// ("smtp"); sections holds the section names alone. Both derive from the
// koanf tags of Config.
var known, sections, fields = keySets()

func keySets() (known, sections map[string]bool, fields map[string]reflect.StructField) {
	known, sections, fields = map[string]bool{}, map[string]bool{}, map[string]reflect.StructField{}
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for f := range t.Fields() {
			key := prefix + f.Tag.Get("koanf")
			known[key] = true
			fields[key] = f
			if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
				sections[key] = true
				walk(key+".", f.Type)
			}
		}
	}
	walk("", reflect.TypeFor[Config]())
	return known, sections, fields
}

// Keys returns every setting's key path ("smtp.host"), sorted; [EnvName]
// gives the environment variable for each.
func Keys() []string {
	var out []string
	for k := range known {
		if !sections[k] {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}
