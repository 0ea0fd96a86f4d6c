package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/config"
	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/store"
	"guidedfix/internal/support"
)

// app is everything a subcommand may need, wired from the configuration.
// Fields are nil when the subcommand did not ask for them.
type app struct {
	cfg     config.Config
	dataDir string
	log     *slog.Logger
	mail    mail.Sender
	core    *embedded.Core
	store   sessionStore
	support support.Records
	desk    *support.Desk
	engine  *bot.Engine
	// supportOn says the engine offers escalations (openOptions.support).
	supportOn bool
	closers   []func() error
}

// Close closes what open opened, in reverse order.
func (a *app) Close() error {
	var first error
	for i := len(a.closers) - 1; i >= 0; i-- {
		if err := a.closers[i](); err != nil && first == nil {
			first = err
		}
	}
	a.closers = nil
	return first
}

// openOptions say which parts to open beyond the portal core.
type openOptions struct {
	// logOut receives logs; nil means stderr.
	logOut io.Writer
	// sms overrides the SMS sender (the demo's phone); nil means the file
	// outbox DATA/outbox/sms.
	sms func(outbox portal.SMSSender) portal.SMSSender
	// engine opens the session store and the engine with the flows.
	engine bool
	// now overrides the clock (tests).
	now func() time.Time
	// support offers "Talk to a person" and take-overs when Slack and
	// its support channel (slack.support_channel) are configured: the
	// engine gets the desk as its bot.Support and app.supportOn is set.
	// The caller must then set a.desk.Notifier (the Slack adapter)
	// before any event is handled.
	support bool
}

// handoffs lets the flow redeem hand-off tokens from the support store.
type handoffs struct{ s support.Records }

func (h handoffs) Redeem(ctx context.Context, token, conv string) (string, string, error) {
	ho, err := h.s.Redeem(ctx, token, conv)
	return ho.AccountID, ho.ID, err
}

// loadConfig reads the configuration and resolves the data directory:
// --data-dir wins over the configuration, which wins over the default.
func loadConfig(g *globalFlags) (config.Config, string, error) {
	cfg, err := config.Load(g.configFile)
	if err != nil {
		return cfg, "", err
	}
	dir := g.dataDir
	if dir == "" {
		if dir, err = cfg.DataDirOrDefault(); err != nil {
			return cfg, "", err
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return cfg, "", fmt.Errorf("data directory: %w", err)
	}
	return cfg, dir, nil
}

// openAdmin opens the core and the support store for an administration
// command; its logs go to DATA/guidedfix.log, not the terminal.
func openAdmin(cmd *cobra.Command, g *globalFlags) (*app, error) {
	_, dir, err := loadConfig(g)
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "guidedfix.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	a, err := openApp(cmd.Context(), g, openOptions{logOut: logf})
	if err != nil {
		logf.Close()
		return nil, err
	}
	a.closers = append([]func() error{logf.Close}, a.closers...)
	return a, nil
}

// openApp wires the portal core (and, on request, the engine) from the
// configuration.
func openApp(ctx context.Context, g *globalFlags, o openOptions) (*app, error) {
	cfg, dir, err := loadConfig(g)
	if err != nil {
		return nil, err
	}
	a := &app{cfg: cfg, dataDir: dir}
	out := o.logOut
	if out == nil {
		out = os.Stderr
	}
	a.log = newLogger(out, cfg.Log.SlogLevel(), cfg.Log.Format)

	if cfg.SMTP.Enabled() {
		s, err := mail.NewSMTP(mail.SMTPConfig{Host: cfg.SMTP.Host, Port: cfg.SMTP.Port, Username: cfg.SMTP.Username,
			Password: cfg.SMTP.Password.Reveal(), From: cfg.Mail.From, TLS: cfg.SMTP.TLS, Timeout: cfg.SMTP.Timeout})
		if err != nil {
			return nil, err
		}
		a.mail = s
	} else {
		ob, err := mail.NewOutbox(filepath.Join(dir, "outbox", "mail"), mail.WithFrom(cfg.Mail.From))
		if err != nil {
			return nil, err
		}
		a.mail = ob
	}
	var sms portal.SMSSender = embedded.FileSMS{Dir: filepath.Join(dir, "outbox", "sms")}
	if o.sms != nil {
		sms = o.sms(sms)
	}
	key, err := cfg.Portal.KeyBytes()
	if err != nil {
		return nil, err
	}
	mem, iter, threads := cfg.Portal.Argon2.Params()
	if cfg.Portal.Argon2.BelowOWASP() {
		a.log.Warn("portal.argon2 is below the OWASP minimum (e.g. memory_kib 19456, time 2): use such a cost only for tests",
			"memory_kib", mem, "time", iter)
	}
	core, err := embedded.Open(embedded.Options{
		Path:                filepath.Join(dir, "portal.db"),
		KeyFile:             filepath.Join(dir, "portal.key"),
		Key:                 key,
		Mail:                a.mail,
		SMS:                 sms,
		Issuer:              cfg.Portal.Issuer,
		Now:                 o.now,
		Argon2:              embedded.Argon2Params{Memory: mem, Time: iter, Threads: threads, KeyLen: 32, SaltLen: 16},
		MaxConcurrentHashes: cfg.Portal.HashConcurrency(),
		Logger:              a.log,
	})
	if err != nil {
		return nil, err
	}
	a.core = core
	a.closers = append(a.closers, core.Close)
	// PLACEHOLDER for the merge with the portal-over-HTTP branch (issue
	// 13): the coordinator replaces false with cfg.Portal.URL != "" (a
	// remote portal core), so that store.backend etcd is accepted only
	// with a portal that every replica shares.
	if err := checkStoreBackend(cfg, false); o.engine && err != nil {
		a.Close()
		return nil, err
	}
	sup, err := openSupportRecords(cfg, dir, o.now, a.log)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.support = sup
	a.closers = append(a.closers, sup.Close)
	a.desk = &support.Desk{Store: sup, Core: core, Mail: a.mail, BotUsername: cfg.Telegram.BotUsername, Logger: a.log,
		CoreAudit: func(ctx context.Context, accountID string, limit int) ([]support.Entry, error) {
			changes, err := core.AuditLog(ctx, accountID, limit)
			out := make([]support.Entry, len(changes))
			for i, c := range changes {
				out[i] = support.Entry{At: c.At, Channel: "portal", UserID: "-", AccountID: c.AccountID, Action: c.Action, Outcome: c.Detail}
			}
			return out, err
		}}
	if !o.engine {
		return a, nil
	}
	// Held Telegram updates may hold a typed password or code: they are
	// sealed under a key derived from the portal key.
	inboxKey, err := core.DeriveKey(store.InboxKeyPurpose)
	if err != nil {
		a.Close()
		return nil, err
	}
	st, err := openSessionStore(cfg, dir, inboxKey, o.now, a.log)
	if err != nil {
		a.Close()
		return nil, err
	}
	a.store = st
	a.closers = append(a.closers, st.Close)
	flow := totpswitch.New(totpswitch.Options{Core: core, Issuer: cfg.Portal.Issuer,
		Order: cfg.Flow.Order, ReminderAfter: cfg.Flow.ReminderAfter, RecoveryCodes: cfg.Enrollment.RecoveryCodes,
		Handoffs: handoffs{sup}})
	var desk bot.Support
	if o.support && cfg.Slack.Enabled() && cfg.Slack.SupportChannel != "" {
		desk, a.supportOn = a.desk, true
	}
	a.engine, err = bot.New(bot.Options{Store: st, Flows: []bot.Flow{flow}, IdleTimeout: cfg.Flow.IdleTimeout,
		MaxDuration: cfg.Flow.MaxDuration, Observer: a.desk.Observe, Support: desk,
		Now: o.now, Logger: a.log})
	if err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

// newLogger returns a slog logger writing text or JSON at level.
func newLogger(w io.Writer, level slog.Level, format string) *slog.Logger {
	opts := &slog.HandlerOptions{Level: level}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
