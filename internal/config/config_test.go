package config

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

// environ returns a fixed environment for load, so that the machine's
// own variables cannot change the result.
func environ(kv ...string) func() []string {
	return func() []string { return kv }
}

func writeFile(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "guidedfix.yaml")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mustLoad(t *testing.T, path string, env ...string) Config {
	t.Helper()
	cfg, err := load(path, environ(env...))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return cfg
}

func TestDefaults(t *testing.T) {
	want := Config{
		DataDir: "",
		Log:     LogConfig{Level: "info", Format: "text"},
		Portal: PortalConfig{
			Issuer:              "IP ServerOne",
			Key:                 "",
			Argon2:              Argon2Config{MemoryKiB: 19456, Time: 2, Threads: 1},
			MaxConcurrentHashes: 0,
			Timeout:             10 * time.Second,
			Serve:               PortalServeConfig{Listen: "127.0.0.1:8710"},
		},
		Mail: MailConfig{From: "IP ServerOne <no-reply@ipserverone.example>"},
		SMTP: SMTPConfig{Host: "", Port: 587, Username: "", Password: "", TLS: "starttls", Timeout: 10 * time.Second,
			MaxConnections: 4, IdleTimeout: 30 * time.Second, MaxMessagesPerConnection: 100},
		Flow: FlowConfig{
			IdleTimeout:   15 * time.Minute,
			MaxDuration:   20 * time.Minute,
			Order:         "enroll-then-switch",
			ReminderAfter: 10 * time.Minute,
			SweepInterval: 5 * time.Second,
		},
		Telegram: TelegramConfig{APIURL: "https://api.telegram.org", Listen: ":8443"},
		Slack:    SlackConfig{Listen: ":3000", Command: "/guidedfix", Mode: "socket", HandoffTTL: 10 * time.Minute, SupportLocale: "en"},
		Entry:    EntryConfig{Listen: "127.0.0.1:8090"},
		Ops:      OpsConfig{Listen: "127.0.0.1:9464"},
		Store: StoreConfig{Backend: "bbolt", Etcd: EtcdConfig{Prefix: "/guidedfix/", DialTimeout: 5 * time.Second,
			RequestTimeout: 5 * time.Second, LockTTL: 10 * time.Second, CompactEvery: 5 * time.Minute, CompactRetain: 10000}},
	}
	if got := Default(); !reflect.DeepEqual(got, want) {
		t.Fatalf("Default() = %+v\nwant %+v", got, want)
	}
	// Unrelated variables change nothing; no file, no GUIDEDFIX_ variables
	// gives exactly the defaults.
	got := mustLoad(t, "", "HOME=/root", "PATH=/bin", "GUIDEDFIXSMTP__HOST=x")
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("load(\"\") = %+v\nwant %+v", got, want)
	}
	if err := want.Validate(); err != nil {
		t.Fatalf("defaults do not validate: %v", err)
	}
	if n := got.Portal.HashConcurrency(); n != 2*runtime.NumCPU() {
		t.Fatalf("default HashConcurrency = %d, want %d", n, 2*runtime.NumCPU())
	}
	if got.Log.SlogLevel() != slog.LevelInfo {
		t.Fatalf("default SlogLevel = %v", got.Log.SlogLevel())
	}
	if got.SMTP.Enabled() || got.Telegram.Enabled() || got.Slack.Enabled() {
		t.Fatal("a platform or SMTP is enabled by default")
	}
}

const fullFile = `
data_dir: /var/lib/guidedfix
log:
  level: debug
  format: json
portal:
  issuer: Example Hosting
  key: AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=
  argon2:
    memory_kib: 65536
    time: 3
    threads: 4
  max_concurrent_hashes: 8
mail:
  from: Example <no-reply@example.com>
smtp:
  host: smtp.example.com
  port: 465
  username: mailer
  password: file-smtp-password
  tls: tls
  timeout: 30s
  max_connections: 2
  idle_timeout: 0s
  max_messages_per_connection: 20
flow:
  idle_timeout: 12m
  max_duration: 18m
  order: enroll-then-switch
  reminder_after: 6m
  sweep_interval: 2s
telegram:
  token: "123456:file-telegram-token"
  api_url: http://127.0.0.1:8081
  webhook_url: https://bot.example.com:8443/telegram
  listen: 127.0.0.1:9443
  webhook_secret: file_webhook_secret-1
  bot_username: "@ExampleFixBot"
slack:
  bot_token: xoxb-file-bot-token
  app_token: xapp-file-app-token
  signing_secret: file-signing-secret
  api_url: http://127.0.0.1:9000/api
  listen: 127.0.0.1:3001
  command: /fix
  mode: http
  support_channel: C0123ABCD
  handoff_ttl: 5m
  staff_user_ids: [U012AB3CD, W0456EF7G]
  staff_group: S0789
  support_locale: ms
store:
  backend: etcd
  etcd:
    endpoints: [https://etcd-1:2379, https://etcd-2:2379]
    prefix: /gf-prod/
    username: guidedfix
    password: file-etcd-password
    dial_timeout: 3s
    request_timeout: 4s
    lock_ttl: 15s
    compact_every: -1s
    compact_retain: 500
`

func TestFileOverrides(t *testing.T) {
	got := mustLoad(t, writeFile(t, fullFile))
	want := Config{
		DataDir: "/var/lib/guidedfix",
		Log:     LogConfig{Level: "debug", Format: "json"},
		Portal: PortalConfig{
			Issuer:              "Example Hosting",
			Key:                 "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
			Argon2:              Argon2Config{MemoryKiB: 65536, Time: 3, Threads: 4},
			MaxConcurrentHashes: 8,
			Timeout:             10 * time.Second,
			Serve:               PortalServeConfig{Listen: "127.0.0.1:8710"},
		},
		Mail: MailConfig{From: "Example <no-reply@example.com>"},
		SMTP: SMTPConfig{Host: "smtp.example.com", Port: 465, Username: "mailer", Password: "file-smtp-password", TLS: "tls", Timeout: 30 * time.Second,
			MaxConnections: 2, IdleTimeout: 0, MaxMessagesPerConnection: 20},
		Flow: FlowConfig{IdleTimeout: 12 * time.Minute, MaxDuration: 18 * time.Minute, Order: "enroll-then-switch",
			ReminderAfter: 6 * time.Minute, SweepInterval: 2 * time.Second},
		Telegram: TelegramConfig{Token: "123456:file-telegram-token", APIURL: "http://127.0.0.1:8081",
			WebhookURL: "https://bot.example.com:8443/telegram", Listen: "127.0.0.1:9443",
			WebhookSecret: "file_webhook_secret-1", BotUsername: "ExampleFixBot"},
		Slack: SlackConfig{BotToken: "xoxb-file-bot-token", AppToken: "xapp-file-app-token", SigningSecret: "file-signing-secret",
			APIURL: "http://127.0.0.1:9000/api/", Listen: "127.0.0.1:3001", Command: "/fix", Mode: "http",
			SupportChannel: "C0123ABCD", HandoffTTL: 5 * time.Minute, StaffUserIDs: []string{"U012AB3CD", "W0456EF7G"}, StaffGroup: "S0789",
			SupportLocale: "ms"},
		Entry: EntryConfig{Listen: "127.0.0.1:8090"},
		Ops:   OpsConfig{Listen: "127.0.0.1:9464"},
		Store: StoreConfig{Backend: "etcd", Etcd: EtcdConfig{Endpoints: []string{"https://etcd-1:2379", "https://etcd-2:2379"},
			Prefix: "/gf-prod/", Username: "guidedfix", Password: "file-etcd-password", DialTimeout: 3 * time.Second,
			RequestTimeout: 4 * time.Second, LockTTL: 15 * time.Second, CompactEvery: -time.Second, CompactRetain: 500}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got  %#v\nwant %#v", got.LogValue(), want.LogValue())
	}
	key, err := got.Portal.KeyBytes()
	if err != nil || len(key) != 32 || key[0] != 0 || key[31] != 31 {
		t.Fatalf("KeyBytes = %v, %v", key, err)
	}
	if m, tm, th := got.Portal.Argon2.Params(); m != 65536 || tm != 3 || th != 4 {
		t.Fatalf("Argon2.Params = %d, %d, %d; want 65536, 3, 4", m, tm, th)
	}
	if got.Portal.HashConcurrency() != 8 {
		t.Fatalf("HashConcurrency = %d, want 8", got.Portal.HashConcurrency())
	}
	if got.Log.SlogLevel() != slog.LevelDebug {
		t.Fatalf("SlogLevel = %v", got.Log.SlogLevel())
	}
}

func TestPartialFileKeepsOtherDefaults(t *testing.T) {
	got := mustLoad(t, writeFile(t, "smtp:\n  host: mail.example.com\nslack:\n"))
	want := Default()
	want.SMTP.Host = "mail.example.com"
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}

func TestEnvOverridesFile(t *testing.T) {
	path := writeFile(t, fullFile)
	got := mustLoad(t, path,
		"GUIDEDFIX_DATA_DIR=/srv/guidedfix",
		"GUIDEDFIX_SMTP__HOST=relay.example.net",
		"GUIDEDFIX_SMTP__PORT=2525",
		"GUIDEDFIX_SMTP__TIMEOUT=45s",
		"GUIDEDFIX_SMTP__PASSWORD=env-smtp-password",
		"GUIDEDFIX_PORTAL__ARGON2__MEMORY_KIB=32768",
		"GUIDEDFIX_FLOW__MAX_DURATION=19m",
		"GUIDEDFIX_SLACK__STAFF_USER_IDS= U1AAA , W2BBB,,",
		"GUIDEDFIX_LOG__LEVEL=", // empty counts as unset
	)
	if got.DataDir != "/srv/guidedfix" {
		t.Errorf("data_dir = %q", got.DataDir)
	}
	if got.SMTP.Host != "relay.example.net" || got.SMTP.Port != 2525 || got.SMTP.Timeout != 45*time.Second {
		t.Errorf("smtp = %+v", got.SMTP)
	}
	if got.SMTP.Password.Reveal() != "env-smtp-password" {
		t.Errorf("smtp.password not taken from the environment")
	}
	if got.SMTP.Username != "mailer" || got.SMTP.TLS != "tls" {
		t.Errorf("file values lost: %+v", got.SMTP)
	}
	if got.Portal.Argon2 != (Argon2Config{MemoryKiB: 32768, Time: 3, Threads: 4}) {
		t.Errorf("portal.argon2 = %+v", got.Portal.Argon2)
	}
	if got.Flow.MaxDuration != 19*time.Minute || got.Flow.IdleTimeout != 12*time.Minute {
		t.Errorf("flow = %+v", got.Flow)
	}
	if !slices.Equal(got.Slack.StaffUserIDs, []string{"U1AAA", "W2BBB"}) {
		t.Errorf("slack.staff_user_ids = %q", got.Slack.StaffUserIDs)
	}
	if got.Log.Level != "debug" {
		t.Errorf("log.level = %q, want the file's debug (empty variable ignored)", got.Log.Level)
	}
}

func TestConventionalEnvNames(t *testing.T) {
	env := []string{
		"TELEGRAM_BOT_TOKEN=123:conventional-telegram",
		"SLACK_BOT_TOKEN=xoxb-conventional",
		"SLACK_APP_TOKEN=xapp-conventional",
		"SLACK_SIGNING_SECRET=conventional-signing",
	}
	got := mustLoad(t, "", env...)
	if got.Telegram.Token != "123:conventional-telegram" || got.Slack.BotToken != "xoxb-conventional" ||
		got.Slack.AppToken != "xapp-conventional" || got.Slack.SigningSecret != "conventional-signing" {
		t.Fatalf("secrets = %q %q %q %q", got.Telegram.Token.Reveal(), got.Slack.BotToken.Reveal(),
			got.Slack.AppToken.Reveal(), got.Slack.SigningSecret.Reveal())
	}
	if !got.Telegram.Enabled() || !got.Slack.Enabled() {
		t.Fatal("platforms not enabled by their tokens")
	}

	// They override the file ...
	got = mustLoad(t, writeFile(t, fullFile), env...)
	if got.Telegram.Token != "123:conventional-telegram" || got.Slack.BotToken != "xoxb-conventional" {
		t.Fatalf("conventional names did not override the file: %q %q", got.Telegram.Token.Reveal(), got.Slack.BotToken.Reveal())
	}
	// ... and GUIDEDFIX_ names override them.
	got = mustLoad(t, "", append(env, "GUIDEDFIX_TELEGRAM__TOKEN=123:prefixed", "GUIDEDFIX_SLACK__APP_TOKEN=xapp-prefixed")...)
	if got.Telegram.Token != "123:prefixed" || got.Slack.AppToken != "xapp-prefixed" || got.Slack.BotToken != "xoxb-conventional" {
		t.Fatalf("precedence wrong: %q %q %q", got.Telegram.Token.Reveal(), got.Slack.AppToken.Reveal(), got.Slack.BotToken.Reveal())
	}
	// Empty conventional variables are ignored.
	got = mustLoad(t, writeFile(t, fullFile), "TELEGRAM_BOT_TOKEN=")
	if got.Telegram.Token != "123456:file-telegram-token" {
		t.Fatalf("empty TELEGRAM_BOT_TOKEN cleared the file's token")
	}
}

// TestLoadProcessEnv goes through Load and the real environment once.
func TestLoadProcessEnv(t *testing.T) {
	t.Setenv("GUIDEDFIX_SMTP__HOST", "from-process-env.example")
	t.Setenv("TELEGRAM_BOT_TOKEN", "")
	t.Setenv("SLACK_BOT_TOKEN", "")
	t.Setenv("SLACK_APP_TOKEN", "")
	t.Setenv("SLACK_SIGNING_SECRET", "")
	cfg, err := Load("")
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if cfg.SMTP.Host != "from-process-env.example" {
		t.Fatalf("smtp.host = %q", cfg.SMTP.Host)
	}
}

func TestMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.yaml")
	_, err := load(path, environ())
	if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("error = %v, want one naming the missing file", err)
	}
}

func TestFileErrors(t *testing.T) {
	tests := []struct{ name, content, want string }{
		{"not yaml", "smtp: [unclosed", "guidedfix.yaml"},
		{"unknown key", "smtp:\n  hots: x\n", `"smtp.hots" is not a setting`},
		{"unknown section", "database:\n  path: x\n", `"database.path" is not a setting`},
		{"wrong type", "smtp:\n  timeout: ten seconds\n", "timeout"},
		{"scalar section", "smtp: 5\n", "smtp"},
		{"negative threads", "portal:\n  argon2:\n    threads: -1\n", "portal.argon2.threads: -1 is outside 1-255"},
		{"oversized threads", "portal:\n  argon2:\n    threads: 300\n", "portal.argon2.threads: 300 is outside 1-255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := load(writeFile(t, tt.content), environ())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestEnvTypos(t *testing.T) {
	tests := []struct{ env, want string }{
		{"GUIDEDFIX_SMTP_HOST=x", "GUIDEDFIX_SMTP_HOST is not a setting; did you mean GUIDEDFIX_SMTP__HOST?"},
		{"GUIDEDFIX_FLOW_IDLE_TIMEOUT=1m", "did you mean GUIDEDFIX_FLOW__IDLE_TIMEOUT?"},
		{"GUIDEDFIX_SMTP__HOSTNAME=x", "GUIDEDFIX_SMTP__HOSTNAME is not a setting"},
		{"GUIDEDFIX_SLACK=x", "GUIDEDFIX_SLACK is not a setting"},
	}
	for _, tt := range tests {
		_, err := load("", environ(tt.env))
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error = %v, want one containing %q", tt.env, err, tt.want)
		}
	}
}

func TestValidateRejects(t *testing.T) {
	const key32 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
	tests := []struct {
		name   string
		change func(*Config)
		want   string // the error must start a line with this
	}{
		{"log level", func(c *Config) { c.Log.Level = "verbose" }, `log.level: "verbose"`},
		{"log format", func(c *Config) { c.Log.Format = "xml" }, `log.format: "xml"`},
		{"issuer empty", func(c *Config) { c.Portal.Issuer = " " }, "portal.issuer: must not be empty"},
		{"issuer colon", func(c *Config) { c.Portal.Issuer = "IP:ServerOne" }, "portal.issuer: \"IP:ServerOne\" must not contain ':'"},
		{"issuer long", func(c *Config) { c.Portal.Issuer = "Customer Portal Staging" }, "portal.issuer: \"Customer Portal Staging\" is 27 bytes once percent-encoded, more than 24"},
		{"key not base64", func(c *Config) { c.Portal.Key = "not*base64" }, "portal.key is not valid base64"},
		{"key short", func(c *Config) { c.Portal.Key = Secret(base64.StdEncoding.EncodeToString(make([]byte, 16))) }, "portal.key decodes to 16 bytes"},
		{"argon2 time", func(c *Config) { c.Portal.Argon2.Time = 0 }, "portal.argon2.time: 0"},
		{"argon2 threads", func(c *Config) { c.Portal.Argon2.Threads = 256 }, "portal.argon2.threads: 256"},
		{"argon2 memory", func(c *Config) { c.Portal.Argon2.MemoryKiB = 7 }, "portal.argon2.memory_kib: 7"},
		{"argon2 memory vs threads", func(c *Config) { c.Portal.Argon2.Threads, c.Portal.Argon2.MemoryKiB = 4, 16 }, "portal.argon2.memory_kib: 16 is outside 32-"},
		{"hashes", func(c *Config) { c.Portal.MaxConcurrentHashes = -1 }, "portal.max_concurrent_hashes: -1"},
		{"mail from", func(c *Config) { c.Mail.From = "nobody" }, `mail.from: "nobody"`},
		{"smtp port", func(c *Config) { c.SMTP.Port = 0 }, "smtp.port: 0"},
		{"smtp tls", func(c *Config) { c.SMTP.TLS = "ssl" }, `smtp.tls: "ssl" is not starttls, tls or none`},
		{"smtp timeout", func(c *Config) { c.SMTP.Timeout = 0 }, "smtp.timeout: 0s must be positive"},
		{"smtp no connections", func(c *Config) { c.SMTP.MaxConnections = 0 }, "smtp.max_connections: 0 is outside 1-64"},
		{"smtp too many connections", func(c *Config) { c.SMTP.MaxConnections = 65 }, "smtp.max_connections: 65 is outside 1-64"},
		{"smtp negative idle timeout", func(c *Config) { c.SMTP.IdleTimeout = -time.Second }, "smtp.idle_timeout: -1s is outside 0-5m0s"},
		{"smtp idle timeout above 5m", func(c *Config) { c.SMTP.IdleTimeout = 6 * time.Minute }, "smtp.idle_timeout: 6m0s is outside 0-5m0s"},
		{"smtp no messages per connection", func(c *Config) { c.SMTP.MaxMessagesPerConnection = 0 }, "smtp.max_messages_per_connection: 0 must be at least 1"},
		{"smtp password alone", func(c *Config) { c.SMTP.Password = "pw-alone" }, "smtp.password: is set but smtp.username is empty"},
		{"smtp clear-text auth", func(c *Config) {
			c.SMTP.Host, c.SMTP.TLS, c.SMTP.Username, c.SMTP.Password = "mail.example.com", "none", "u", "pw-clear"
		}, "smtp.tls: none is allowed only to a loopback host"},
		{"smtp clear text without auth", func(c *Config) { c.SMTP.Host, c.SMTP.TLS = "mail.example.com", "none" }, "smtp.tls: none is allowed only to a loopback host (127.0.0.1, ::1, localhost), not mail.example.com"},
		{"smtp clear text to a LAN address", func(c *Config) { c.SMTP.Host, c.SMTP.TLS = "10.0.0.5", "none" }, "smtp.tls: none is allowed only to a loopback host"},
		{"max duration too long", func(c *Config) { c.Flow.MaxDuration = 21 * time.Minute }, "flow.max_duration: 21m0s is outside (0, 20m0s]"},
		{"max duration zero", func(c *Config) { c.Flow.MaxDuration = 0 }, "flow.max_duration: 0s"},
		{"idle above max", func(c *Config) { c.Flow.IdleTimeout = 25 * time.Minute }, "flow.idle_timeout: 25m0s must be positive and at most flow.max_duration"},
		{"reminder after idle", func(c *Config) { c.Flow.ReminderAfter = 15 * time.Minute }, "flow.reminder_after: 15m0s"},
		{"sweep zero", func(c *Config) { c.Flow.SweepInterval = 0 }, "flow.sweep_interval: 0s"},
		{"handoff ttl above 10 min", func(c *Config) { c.Slack.HandoffTTL = 10*time.Minute + time.Second }, "slack.handoff_ttl: 10m1s must be positive and at most 10m"},
		{"handoff ttl zero", func(c *Config) { c.Slack.HandoffTTL = 0 }, "slack.handoff_ttl: 0s must be positive"},
		{"order", func(c *Config) { c.Flow.Order = "random" }, `flow.order: "random"`},
		{"telegram api url", func(c *Config) { c.Telegram.APIURL = "api.telegram.org" }, `telegram.api_url: "api.telegram.org" is not an http:// or https:// URL`},
		{"webhook http", func(c *Config) { c.Telegram.Token, c.Telegram.WebhookURL = "1:t", "http://bot.example.com/hook" }, "telegram.webhook_url: \"http://bot.example.com/hook\" is not an https:// URL"},
		{"webhook port", func(c *Config) { c.Telegram.Token, c.Telegram.WebhookURL = "1:t", "https://bot.example.com:9443/hook" }, "telegram.webhook_url: port 9443"},
		{"webhook without token", func(c *Config) { c.Telegram.WebhookURL = "https://bot.example.com/hook" }, "telegram.webhook_url: is set but telegram.token is empty"},
		{"webhook listen", func(c *Config) {
			c.Telegram.Token, c.Telegram.WebhookURL, c.Telegram.Listen = "1:t", "https://bot.example.com/hook", "8443"
		}, `telegram.listen: "8443" is not host:port`},
		{"webhook secret chars", func(c *Config) { c.Telegram.WebhookSecret = "has space!" }, "telegram.webhook_secret: must be 1-256 characters"},
		{"webhook secret long", func(c *Config) { c.Telegram.WebhookSecret = Secret(strings.Repeat("a", 257)) }, "telegram.webhook_secret: must be 1-256"},
		{"bot username", func(c *Config) { c.Telegram.BotUsername = "ab" }, `telegram.bot_username: "ab"`},
		{"slack mode", func(c *Config) { c.Slack.Mode = "rtm" }, `slack.mode: "rtm"`},
		{"slack command", func(c *Config) { c.Slack.Command = "guidedfix" }, `slack.command: "guidedfix"`},
		{"slack api url", func(c *Config) { c.Slack.APIURL = "ftp://x/" }, `slack.api_url: "ftp://x/"`},
		{"slack app token prefix", func(c *Config) { c.Slack.BotToken, c.Slack.AppToken = "xoxb-1", "xoxb-wrong-kind" }, `slack.app_token: does not start with "xapp-"`},
		{"slack socket needs app token", func(c *Config) { c.Slack.BotToken = "xoxb-1" }, "slack.app_token: is required in socket mode"},
		{"slack http needs signing secret", func(c *Config) { c.Slack.BotToken, c.Slack.Mode = "xoxb-1", "http" }, "slack.signing_secret: is required in http mode"},
		{"slack http listen", func(c *Config) {
			c.Slack.BotToken, c.Slack.Mode, c.Slack.SigningSecret, c.Slack.Listen = "xoxb-1", "http", "s", "3000"
		}, `slack.listen: "3000" is not host:port`},
		{"slack app token without bot token", func(c *Config) { c.Slack.AppToken = "xapp-1" }, "slack.bot_token: is empty"},
		{"slack staff ids", func(c *Config) { c.Slack.StaffUserIDs = []string{"U123", "alice"} }, `slack.staff_user_ids: "alice"`},
		{"slack support locale", func(c *Config) { c.Slack.SupportLocale = "fr" }, `slack.support_locale: "fr"`},
		{"slack support locale empty", func(c *Config) { c.Slack.SupportLocale = "" }, `slack.support_locale: ""`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			c.Portal.Key = key32
			tt.change(&c)
			err := c.Validate()
			if err == nil {
				t.Fatalf("Validate: no error, want %q", tt.want)
			}
			lines := strings.Split(err.Error(), "\n")
			if !slices.ContainsFunc(lines, func(l string) bool { return strings.HasPrefix(l, tt.want) }) {
				t.Fatalf("Validate = %q, want a line starting with %q", err, tt.want)
			}
			if len(lines) != 1 {
				t.Errorf("Validate reported %d problems, want 1: %q", len(lines), err)
			}
			for _, secret := range []Secret{c.SMTP.Password, c.Telegram.WebhookSecret, c.Slack.AppToken, c.Portal.Key} {
				if secret.IsSet() && len(secret) > 3 && strings.Contains(err.Error(), secret.Reveal()) {
					t.Errorf("error contains a secret: %q", err)
				}
			}
		})
	}
}

func TestValidateAllowsLoopbackClearTextAuth(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "localhost", "::1"} {
		c := Default()
		c.SMTP.Host, c.SMTP.TLS, c.SMTP.Username, c.SMTP.Password, c.SMTP.Port = host, "none", "u", "p", 25
		if err := c.Validate(); err != nil {
			t.Errorf("host %s: %v", host, err)
		}
	}
}

func TestLoadRejectsInvalidFromEnv(t *testing.T) {
	_, err := load("", environ("GUIDEDFIX_FLOW__MAX_DURATION=30m", "GUIDEDFIX_SMTP__TLS=ssl"))
	if err == nil || !strings.Contains(err.Error(), "flow.max_duration: 30m0s") || !strings.Contains(err.Error(), `smtp.tls: "ssl"`) {
		t.Fatalf("error = %v, want both problems named", err)
	}
	_, err = load("", environ("GUIDEDFIX_SMTP__PORT=abc"))
	if err == nil || !strings.Contains(err.Error(), "port") {
		t.Fatalf("error = %v, want a type error naming port", err)
	}
}

func TestWebhookSecretGenerated(t *testing.T) {
	env := []string{"TELEGRAM_BOT_TOKEN=1:t", "GUIDEDFIX_TELEGRAM__WEBHOOK_URL=https://bot.example.com/telegram"}
	a := mustLoad(t, "", env...)
	b := mustLoad(t, "", env...)
	s := a.Telegram.WebhookSecret.Reveal()
	if len(s) != 43 || strings.Trim(s, idChars+"-") != "" {
		t.Fatalf("generated secret %q is not 43 base64url characters", s)
	}
	if s == b.Telegram.WebhookSecret.Reveal() {
		t.Fatal("two loads generated the same secret")
	}
	if c := mustLoad(t, ""); c.Telegram.WebhookSecret.IsSet() {
		t.Fatal("secret generated without a webhook")
	}
}

func TestDefaultDataDir(t *testing.T) {
	t.Setenv("HOME", "/home/alice")
	t.Setenv("XDG_DATA_HOME", "/xdg/data")
	if got, err := DefaultDataDir(); err != nil || got != "/xdg/data/guidedfix" {
		t.Errorf("with XDG_DATA_HOME: %q, %v", got, err)
	}
	t.Setenv("XDG_DATA_HOME", "relative/path") // ignored, per the XDG spec
	if got, err := DefaultDataDir(); err != nil || got != "/home/alice/.local/share/guidedfix" {
		t.Errorf("with relative XDG_DATA_HOME: %q, %v", got, err)
	}
	t.Setenv("XDG_DATA_HOME", "")
	if got, err := DefaultDataDir(); err != nil || got != "/home/alice/.local/share/guidedfix" {
		t.Errorf("without XDG_DATA_HOME: %q, %v", got, err)
	}
	c := Default()
	if got, _ := c.DataDirOrDefault(); got != "/home/alice/.local/share/guidedfix" {
		t.Errorf("DataDirOrDefault = %q", got)
	}
	c.DataDir = "/srv/g"
	if got, _ := c.DataDirOrDefault(); got != "/srv/g" {
		t.Errorf("DataDirOrDefault = %q", got)
	}
}

// secretsOf returns every Secret value in a loaded full configuration.
func secretsOf(c Config) []string {
	return []string{c.Portal.Key.Reveal(), c.SMTP.Password.Reveal(), c.Telegram.Token.Reveal(),
		c.Telegram.WebhookSecret.Reveal(), c.Slack.BotToken.Reveal(), c.Slack.AppToken.Reveal(), c.Slack.SigningSecret.Reveal()}
}

func TestRedaction(t *testing.T) {
	c := mustLoad(t, writeFile(t, fullFile))
	secrets := secretsOf(c)
	for _, s := range secrets {
		if s == "" {
			t.Fatal("fixture lacks a secret")
		}
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("config", "config", c)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("config", "config", c)
	jsonBytes, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	outputs := map[string]string{
		"slog text": text.String(), "slog json": js.String(), "json.Marshal": string(jsonBytes),
		"%v": fmt.Sprintf("%v", c), "%+v": fmt.Sprintf("%+v", c), "%#v": fmt.Sprintf("%#v", c),
		"%x": fmt.Sprintf("%x", any(c) /* vet rejects %x of a struct with a bool */), "pointer %+v": fmt.Sprintf("%+v", &c),
		"Secret %s %q %#v": fmt.Sprintf("%s %q %#v", c.SMTP.Password, c.SMTP.Password, c.SMTP.Password),
		"Secret %x":        fmt.Sprintf("%x %X %d", c.SMTP.Password, c.SMTP.Password, c.SMTP.Password),
	}
	for name, out := range outputs {
		for _, s := range secrets {
			if strings.Contains(out, s) {
				t.Errorf("%s output contains secret %q:\n%s", name, s, out)
			}
		}
	}
	for _, name := range []string{"slog text", "slog json", "%+v"} {
		if !strings.Contains(outputs[name], "REDACTED") || !strings.Contains(outputs[name], "smtp.example.com") {
			t.Errorf("%s output lacks REDACTED or the SMTP host:\n%s", name, outputs[name])
		}
	}
	if !strings.Contains(text.String(), "config.smtp.password=REDACTED") || !strings.Contains(text.String(), "config.slack.bot_token=REDACTED") {
		t.Errorf("slog text output does not mark the set secrets:\n%s", text.String())
	}
	// An unset secret logs as empty, so the log tells set from unset.
	text.Reset()
	slog.New(slog.NewTextHandler(&text, nil)).Info("config", "config", Default())
	if !strings.Contains(text.String(), `config.smtp.password=""`) {
		t.Errorf("unset secret not logged as empty:\n%s", text.String())
	}
}

// TestLogValueCoversEveryKey keeps LogValue in step with the struct.
func TestLogValueCoversEveryKey(t *testing.T) {
	var keys []string
	var walk func(prefix string, attrs []slog.Attr)
	walk = func(prefix string, attrs []slog.Attr) {
		for _, a := range attrs {
			v := a.Value.Resolve()
			if v.Kind() == slog.KindGroup {
				walk(prefix+a.Key+".", v.Group())
				continue
			}
			keys = append(keys, prefix+a.Key)
		}
	}
	walk("", Default().LogValue().Group())
	slices.Sort(keys)
	if want := Keys(); !slices.Equal(keys, want) {
		t.Fatalf("LogValue keys = %q\nwant %q", keys, want)
	}
	if len(keys) != 81 {
		t.Fatalf("%d keys, want 81", len(keys))
	}
}

func TestEnvName(t *testing.T) {
	for key, want := range map[string]string{
		"smtp.host":                "GUIDEDFIX_SMTP__HOST",
		"data_dir":                 "GUIDEDFIX_DATA_DIR",
		"portal.argon2.memory_kib": "GUIDEDFIX_PORTAL__ARGON2__MEMORY_KIB",
	} {
		if got := EnvName(key); got != want {
			t.Errorf("EnvName(%q) = %q, want %q", key, got, want)
		}
	}
}

func TestArgon2BelowOWASP(t *testing.T) {
	for _, c := range []struct {
		mem, time int
		below     bool
	}{
		{19456, 2, false}, {47104, 1, false}, {12288, 3, false}, {9216, 4, false}, {7168, 5, false},
		{19456, 1, true}, {7167, 10, true}, {1024, 1, true}, {12288, 2, true},
	} {
		a := Argon2Config{MemoryKiB: c.mem, Time: c.time, Threads: 1}
		if got := a.BelowOWASP(); got != c.below {
			t.Errorf("m=%d t=%d: BelowOWASP %v, want %v", c.mem, c.time, got, c.below)
		}
	}
}
