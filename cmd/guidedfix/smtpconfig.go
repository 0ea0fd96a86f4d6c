package main

import (
	"guidedfix/internal/config"
	"guidedfix/internal/mail"
)

// smtpConfig returns the mail package's SMTP settings for cfg's smtp and
// mail sections. smtp.idle_timeout 0 ("close each connection after its
// message") is the mail package's negative IdleTimeout, whose zero means
// the default.
func smtpConfig(cfg config.Config) mail.SMTPConfig {
	idle := cfg.SMTP.IdleTimeout
	if idle == 0 {
		idle = -1
	}
	return mail.SMTPConfig{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username,
		Password: cfg.SMTP.Password.Reveal(), From: cfg.Mail.From, TLS: cfg.SMTP.TLS, Timeout: cfg.SMTP.Timeout,
		MaxConnections: cfg.SMTP.MaxConnections, IdleTimeout: idle,
		MaxMessagesPerConnection: cfg.SMTP.MaxMessagesPerConnection}
}
