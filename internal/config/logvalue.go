package config

import "log/slog"

// LogValue implements [slog.LogValuer]: the whole configuration as nested
// groups keyed like the YAML file, with every [Secret] shown as
// "REDACTED" (or "" when empty). Use it to log the effective
// configuration at start-up: slog.Info("config", "config", cfg).
func (c Config) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("data_dir", c.DataDir),
		slog.Group("log", "level", c.Log.Level, "format", c.Log.Format),
		slog.Group("portal",
			"issuer", c.Portal.Issuer,
			"key", c.Portal.Key,
			slog.Group("argon2", "memory_kib", c.Portal.Argon2.MemoryKiB, "time", c.Portal.Argon2.Time, "threads", c.Portal.Argon2.Threads),
			"max_concurrent_hashes", c.Portal.MaxConcurrentHashes,
			"url", c.Portal.URL, "token", c.Portal.Token, "token_file", c.Portal.TokenFile, "ca_file", c.Portal.CAFile,
			"client_cert", c.Portal.ClientCert, "client_key", c.Portal.ClientKey, "timeout", c.Portal.Timeout,
			slog.Group("serve", "listen", c.Portal.Serve.Listen, "tokens", c.Portal.Serve.Tokens, "tokens_file", c.Portal.Serve.TokensFile,
				"tls_cert", c.Portal.Serve.TLSCert, "tls_key", c.Portal.Serve.TLSKey, "client_ca", c.Portal.Serve.ClientCA),
			slog.Group("sms", "gateway_url", c.Portal.SMS.GatewayURL, "gateway_secret", c.Portal.SMS.GatewaySecret,
				"gateway_secret_file", c.Portal.SMS.GatewaySecretFile)),
		slog.Group("mail", "from", c.Mail.From, "support_contact", c.Mail.SupportContact),
		slog.Group("smtp",
			"host", c.SMTP.Host, "port", c.SMTP.Port, "username", c.SMTP.Username,
			"password", c.SMTP.Password, "tls", c.SMTP.TLS, "timeout", c.SMTP.Timeout,
			"max_connections", c.SMTP.MaxConnections, "idle_timeout", c.SMTP.IdleTimeout,
			"max_messages_per_connection", c.SMTP.MaxMessagesPerConnection),
		slog.Group("flow",
			"idle_timeout", c.Flow.IdleTimeout, "max_duration", c.Flow.MaxDuration, "order", c.Flow.Order,
			"reminder_after", c.Flow.ReminderAfter, "sweep_interval", c.Flow.SweepInterval),
		slog.Group("enrollment", "recovery_codes", c.Enrollment.RecoveryCodes),
		slog.Group("telegram",
			"token", c.Telegram.Token, "api_url", c.Telegram.APIURL, "webhook_url", c.Telegram.WebhookURL,
			"listen", c.Telegram.Listen, "webhook_secret", c.Telegram.WebhookSecret, "bot_username", c.Telegram.BotUsername,
			"per_chat_interval", c.Telegram.PerChatInterval, "global_per_second", c.Telegram.GlobalPerSecond),
		slog.Group("slack",
			"bot_token", c.Slack.BotToken, "app_token", c.Slack.AppToken, "signing_secret", c.Slack.SigningSecret,
			"api_url", c.Slack.APIURL, "listen", c.Slack.Listen, "command", c.Slack.Command, "mode", c.Slack.Mode,
			"support_channel", c.Slack.SupportChannel, "staff_user_ids", c.Slack.StaffUserIDs, "staff_group", c.Slack.StaffGroup,
			"handoff_ttl", c.Slack.HandoffTTL, "support_locale", c.Slack.SupportLocale),
		slog.Group("entry", "listen", c.Entry.Listen, "public_url", c.Entry.PublicURL),
		slog.Group("secrets", slog.Group("entry", "telegram", c.Secrets.Entry.Telegram, "slack", c.Secrets.Entry.Slack)),
		slog.Group("ops", "listen", c.Ops.Listen, "public", c.Ops.Public),
		slog.Group("store", "backend", c.Store.Backend, slog.Group("etcd",
			"endpoints", c.Store.Etcd.Endpoints, "prefix", c.Store.Etcd.Prefix, "cert_file", c.Store.Etcd.CertFile,
			"key_file", c.Store.Etcd.KeyFile, "ca_file", c.Store.Etcd.CAFile, "username", c.Store.Etcd.Username,
			"password", c.Store.Etcd.Password, "dial_timeout", c.Store.Etcd.DialTimeout,
			"request_timeout", c.Store.Etcd.RequestTimeout, "lock_ttl", c.Store.Etcd.LockTTL,
			"compact_every", c.Store.Etcd.CompactEvery, "compact_retain", c.Store.Etcd.CompactRetain)),
	)
}
