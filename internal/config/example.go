package config

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// help is the one-paragraph description of every setting and section that
// `guidedfix config example` prints above it, keyed like [Keys]. A field
// may carry its text in a `help:"…"` struct tag instead, which wins.
// TestEveryKeyHasHelp fails for a setting with neither, naming it.
var help = map[string]string{
	"portal.url": "Base URL of a remote portal auth core (api/portal.openapi.yaml), e.g. https://portal.example.com; " +
		"https unless the host is loopback. Empty: the embedded core in data_dir (portal.db, portal.key).",
	"portal.token":       "Bearer token sent to the remote portal. Secret: prefer GUIDEDFIX_PORTAL__TOKEN_FILE.",
	"portal.token_file":  "File holding portal.token (one line), e.g. a systemd credential.",
	"portal.ca_file":     "PEM CA bundle to verify the remote portal's certificate; empty: the system roots.",
	"portal.client_cert": "PEM client certificate for mutual TLS with the remote portal (with portal.client_key).",
	"portal.client_key":  "PEM private key of portal.client_cert.",
	"portal.timeout":     "Bound on one call to the remote portal (each try), > 0.",
	"portal.serve":       "`guidedfix portal serve`: the embedded core of data_dir as an HTTP service.",
	"portal.serve.listen": "host:port of portal serve; plain HTTP only on loopback (behind a TLS terminator), " +
		"otherwise tls_cert and tls_key.",
	"portal.serve.tokens": "Accepted bearer tokens, several during a rotation; env: comma-separated. " +
		"Secret: prefer GUIDEDFIX_PORTAL__SERVE__TOKENS_FILE. portal serve refuses to start without one.",
	"portal.serve.tokens_file": "File with one accepted token per line.",
	"portal.serve.tls_cert":    "PEM certificate of portal serve (with tls_key).",
	"portal.serve.tls_key":     "PEM private key of portal.serve.tls_cert.",
	"portal.serve.client_ca":   "PEM CA bundle: when set, clients must present a certificate it signed (mutual TLS).",
	"portal.sms":               "How the embedded core delivers SMS codes.",
	"portal.sms.gateway_url": "An operator endpoint that receives each SMS as signed JSON (HMAC-SHA256 over the body, " +
		"timestamped). Empty: the file phone data_dir/outbox/sms, for the demo only.",
	"portal.sms.gateway_secret":      "HMAC key of the SMS gateway's signature. Secret: prefer GUIDEDFIX_PORTAL__SMS__GATEWAY_SECRET_FILE.",
	"portal.sms.gateway_secret_file": "File holding portal.sms.gateway_secret.",
	"entry": "The secure entry page: a masked password field, a one-time-code field and the QR code, " +
		"outside the chat history.",
	"entry.listen": "Local host:port of the page; the operator's HTTPS terminator forwards to it.",
	"entry.public_url": "Public https:// base URL of the page, e.g. https://entry.example.com. " +
		"Empty: the page is off and secrets are typed in the chat.",
	"secrets":                "Where customers enter passwords and codes.",
	"secrets.entry":          "Per platform: chat or page; empty means page when entry.public_url is set, chat otherwise.",
	"secrets.entry.telegram": "chat (typed and deleted at once) or page (a Mini App button in the private chat).",
	"secrets.entry.slack":    "chat (the modal) or page (a one-time link beside the modal).",
	"store":                  "The session store.",
	"store.backend": "bbolt (data_dir/sessions.db, one process) or etcd (several replicas; " +
		"needs a remote portal, portal.url).",
	"store.etcd":                 "The etcd cluster of store.backend etcd.",
	"store.etcd.endpoints":       "Client URLs of the etcd members, e.g. https://etcd-1:2379; env: comma-separated.",
	"store.etcd.prefix":          "Every key lives under this prefix; one prefix per deployment.",
	"store.etcd.cert_file":       "PEM client certificate for etcd's client TLS (with key_file).",
	"store.etcd.key_file":        "PEM private key of store.etcd.cert_file.",
	"store.etcd.ca_file":         "PEM CA bundle to verify the etcd members.",
	"store.etcd.username":        "etcd user (etcd auth); empty: none.",
	"store.etcd.password":        "Password of store.etcd.username. Secret: prefer GUIDEDFIX_STORE__ETCD__PASSWORD_FILE.",
	"store.etcd.dial_timeout":    "Bound on connecting to the cluster, > 0.",
	"store.etcd.request_timeout": "Bound on one etcd request, > 0.",
	"store.etcd.lock_ttl":        "Lease of a replica's conversation and polling locks: a dead replica's locks lapse after it.",
	"store.etcd.compact_every": "How often a replica compacts etcd's history; negative: never " +
		"(then configure the cluster's own auto-compaction).",
	"store.etcd.compact_retain": "Revisions kept at each compaction.",
	"data_dir": "Directory of portal.db, portal.key, sessions.db, support.db and the outboxes. " +
		"Empty: $XDG_DATA_HOME/guidedfix or ~/.local/share/guidedfix (GUIDEDFIX_DATA_DIR, --data-dir).",
	"log":        "The process log (log/slog).",
	"log.level":  "Lowest level written: debug, info, warn or error (optionally with an offset, e.g. info+2).",
	"log.format": "text or json.",
	"portal":     "The embedded portal auth core.",
	"portal.issuer": "Service name shown in authenticator apps (otpauth issuer and label prefix); " +
		"must not contain ':' and must be at most 24 bytes once percent-encoded (a space counts 3), so the QR code stays easy to scan.",
	"portal.key": "Base64 (standard, padded) of the 32-byte AES-256 key sealing TOTP secrets at rest. " +
		"Secret: prefer GUIDEDFIX_PORTAL__KEY_FILE. Empty: the key file portal.key in data_dir, created on first start.",
	"portal.argon2":            "argon2id password-hashing cost (RFC 9106); the defaults are OWASP's minimum.",
	"portal.argon2.memory_kib": "Memory per hash in KiB, 8 × threads to 4194304.",
	"portal.argon2.time":       "Passes over the memory, at least 1.",
	"portal.argon2.threads":    "Degree of parallelism, 1-255.",
	"portal.max_concurrent_hashes": "Password hashes run at once at most (each uses memory_kib); " +
		"0 means 2 × the number of CPUs.",
	"mail":      "Outgoing e-mail.",
	"mail.from": "From header of every e-mail: one RFC 5322 address.",
	"mail.support_contact": "How account holders reach support, the last line of every e-mail to them " +
		"(e.g. support@example.com, +60 3 1234 5678). Empty: a pointer to the Customer Portal's support page.",
	"smtp":          "How e-mail leaves. With host empty, e-mail is written as .eml files into data_dir/outbox/mail.",
	"smtp.host":     "Submission server's name or IP address.",
	"smtp.port":     "TCP port, 1-65535.",
	"smtp.username": "Enables AUTH PLAIN when set.",
	"smtp.password": "Password of smtp.username. Secret: prefer GUIDEDFIX_SMTP__PASSWORD_FILE.",
	"smtp.tls": "starttls (STARTTLS required), tls (implicit TLS, usually port 465) " +
		"or none (only for a relay on this machine).",
	"smtp.timeout": "Bound on each step of one message: waiting for a free connection, opening one " +
		"(dial, TLS, EHLO, AUTH), the transaction; > 0.",
	"smtp.max_connections": "SMTP connections open at once, in use or kept for the next message, 1-64. " +
		"A message that finds them all busy waits for one (at most smtp.timeout).",
	"smtp.idle_timeout": "How long a connection is kept open after a message for the next one, 0-5m; " +
		"0 closes each connection after its message (one session per message).",
	"smtp.max_messages_per_connection": "Messages one connection carries before a new one is opened, >= 1 " +
		"(relays limit messages per session).",
	"flow": "The guided flow's time limits and order of steps.",
	"flow.idle_timeout": "A flow ends after this long without a message from the person; " +
		"> 0 and at most flow.max_duration.",
	"flow.max_duration": "A flow ends this long after it started, whatever happens; > 0 and at most 20m.",
	"flow.order": "disable-then-enroll (the knowledge-base procedure) or enroll-then-switch " +
		"(the app is verified before SMS is removed).",
	"flow.reminder_after": "One reminder after this long without a message; > 0 and below flow.idle_timeout.",
	"flow.sweep_interval": "How often expired flows and due reminders are looked for; > 0 and below flow.idle_timeout.",
	"enrollment":          "What the TOTP enrollment adds.",
	"enrollment.recovery_codes": "Single-use recovery codes issued once the app is verified, 0-20; " +
		"0 issues none and skips that step.",
	"telegram": "The Telegram adapter; it runs when telegram.token is set.",
	"telegram.token": "Bot token from @BotFather, <digits>:<letters>. Secret: also TELEGRAM_BOT_TOKEN, " +
		"or TELEGRAM_BOT_TOKEN_FILE / GUIDEDFIX_TELEGRAM__TOKEN_FILE.",
	"telegram.api_url": "Bot API server.",
	"telegram.webhook_url": "Public HTTPS address Telegram posts updates to (port 443, 80, 88 or 8443). " +
		"Empty: long polling.",
	"telegram.listen": "Local host:port of the webhook server (only with telegram.webhook_url).",
	"telegram.webhook_secret": "Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token: 1-256 of " +
		"A-Z a-z 0-9 _ -. Empty with a webhook: a random one per start.",
	"telegram.bot_username": "The bot's @username without '@', for t.me deep links. Empty: asked with getMe.",
	"telegram.per_chat_interval": "Spacing of messages sent or edited in one chat after a burst of 3. " +
		"0 means 1s (Telegram's advice); negative turns the limit off. Callback answers and deletions are not limited.",
	"telegram.global_per_second": "Messages sent or edited per second over all chats. 0 means 30 (Telegram's limit); " +
		"negative turns it off. Callback answers and deletions are not counted.",
	"slack":           "The Slack adapter; it runs when slack.bot_token is set.",
	"slack.bot_token": "Bot User OAuth Token, xoxb-…. Secret: also SLACK_BOT_TOKEN, or SLACK_BOT_TOKEN_FILE.",
	"slack.app_token": "App-level token xapp-… for Socket Mode. Secret: also SLACK_APP_TOKEN, or SLACK_APP_TOKEN_FILE.",
	"slack.signing_secret": "Signing secret verifying Slack's HTTP requests in http mode. " +
		"Secret: also SLACK_SIGNING_SECRET, or SLACK_SIGNING_SECRET_FILE.",
	"slack.api_url":         "Web API base URL (tests). Empty: https://slack.com/api/.",
	"slack.listen":          "Local host:port of the HTTP endpoints in http mode.",
	"slack.command":         "The slash command.",
	"slack.mode":            "socket (Socket Mode, no public URL needed) or http (Events API over HTTP).",
	"slack.support_channel": "Channel ID (C…) support staff hand off from and watch progress in.",
	"slack.handoff_ttl": "How long a hand-off link can be opened after the agent creates it; " +
		"> 0 and at most 10m (single-use links live 10 minutes at most).",
	"slack.support_locale": "Language of the support desk's posts (hand-off and watch threads, escalations, " +
		"relayed messages, alerts, outcomes) and of the step names in the audit log: en (English) or ms (Bahasa Melayu).",
	"slack.staff_user_ids": "Slack user IDs (U… or W…) treated as staff; in the environment comma-separated.",
	"slack.staff_group":    "Slack user group whose members are treated as staff.",
	"ops": "The operator's listener of serve: /metrics, /healthz, /readyz, /debug/pprof/, /debug/vars " +
		"and POST /admin/backup.",
	"ops.listen": "host:port of the ops listener, or off. A non-loopback address needs ops.public.",
	"ops.public": "Allow ops.listen beyond loopback (a remote Prometheus); pprof, expvar and the admin " +
		"endpoint still answer loopback clients only.",
}

// Help returns the description of the setting or section key, "" when
// it has none.
func Help(key string) string {
	if f, ok := fields[key]; ok {
		if h := f.Tag.Get("help"); h != "" {
			return h
		}
	}
	return help[key]
}

// Example returns a commented YAML document with every setting at its
// default value ([Default]), each preceded by its [Help] text and its
// environment variable; [Check] accepts it unchanged.
func Example() string {
	var b strings.Builder
	b.WriteString("# guidedfix configuration: every setting with its default.\n" +
		"# Environment variables override the file (GUIDEDFIX_ plus the key in upper case,\n" +
		"# \"__\" between levels); a secret may come from a file named by NAME_FILE.\n" +
		"# Check a file with: guidedfix config check FILE\n")
	writeExample(&b, "", "", reflect.ValueOf(Default()))
	return b.String()
}

func writeExample(b *strings.Builder, prefix, indent string, v reflect.Value) {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		name := f.Tag.Get("koanf")
		key := prefix + name
		b.WriteString("\n")
		for _, line := range wrap(Help(key), 78-len(indent)-2) {
			fmt.Fprintf(b, "%s# %s\n", indent, line)
		}
		fv := v.Field(i)
		if f.Type.Kind() == reflect.Struct && f.Type != reflect.TypeFor[time.Duration]() {
			fmt.Fprintf(b, "%s%s:\n", indent, name)
			writeExample(b, key+".", indent+"  ", fv)
			continue
		}
		fmt.Fprintf(b, "%s# env: %s\n", indent, EnvName(key))
		fmt.Fprintf(b, "%s%s: %s\n", indent, name, yamlScalar(fv))
	}
}

// yamlScalar renders a default value as YAML: durations as Go duration
// text, secrets (always empty by default) as "", lists in flow style.
func yamlScalar(v reflect.Value) string {
	var x any
	switch {
	case v.Type() == reflect.TypeFor[time.Duration]():
		x = v.Interface().(time.Duration).String()
	case v.Type() == reflect.TypeFor[Secret]():
		x = v.Interface().(Secret).Reveal()
	case v.Kind() == reflect.Slice:
		if v.Len() == 0 {
			return "[]"
		}
		x = v.Interface()
	default:
		x = v.Interface()
	}
	out, err := yaml.Marshal(x)
	if err != nil {
		return `""`
	}
	s := strings.TrimSuffix(string(out), "\n")
	if s == "" {
		return `""`
	}
	return s
}

// wrap splits text into lines of at most width runes at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len([]rune(line))+1+len([]rune(w)) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
