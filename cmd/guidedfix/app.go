package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/config"
	"guidedfix/internal/logs"
	"guidedfix/internal/mail"
	"guidedfix/internal/metrics"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/store"
	"guidedfix/internal/store/etcdstore"
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
	// portal is the Core the flows and the desk use: core, or the remote
	// portal's client (then core is nil).
	portal  portal.Core
	store   sessionStore
	support support.Records
	desk    *support.Desk
	engine  *bot.Engine
	// supportOn says the engine offers escalations (openOptions.support).
	supportOn bool
	// metrics counts what the parts opened here do (ops listener).
	metrics *metrics.Metrics
	// redact hashes chat and user ids in the logs (key from the portal key).
	redact  *logs.Redactor
	closers []func() error
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
	// portalURL overrides portal.url (the --portal-url flag).
	portalURL string
	// embeddedOnly ignores portal.url: the embedded core of the data
	// directory is opened whatever the configuration says (portal serve).
	embeddedOnly bool
	// wrapCore, if set, wraps the portal core the flow calls (tests
	// record what it returns).
	wrapCore func(portal.Core) portal.Core
	// support offers "Talk to a person" and take-overs when Slack and
	// its support channel (slack.support_channel) are configured: the
	// engine gets the desk as its bot.Support and app.supportOn is set.
	// The caller must then set a.desk.Notifier (the Slack adapter)
	// before any event is handled.
	support bool
}

// handoffs lets flow redeem hand-off tokens from the support store: only
// a hand-off whose record names flow (support.Handoff.Flow; a record
// without one counts as the default flow's), so that a link cannot start
// a guided fix other than the one staff chose.
type handoffs struct {
	s    support.Records
	flow string
	def  bool // flow is the default flow
}

// Redeem redeems token for conv when its hand-off names h's flow; a
// hand-off of another flow gives support.ErrInvalidToken and leaves the
// token unused, so the link staff sent still works where it belongs.
func (h handoffs) Redeem(ctx context.Context, token, conv string) (string, string, error) {
	ho, err := h.s.Redeem(ctx, token, conv, h.accept)
	if err != nil {
		return "", "", err
	}
	return ho.AccountID, ho.ID, nil
}

// Redeemable reports whether Redeem of token for conv would succeed now
// (support.Records.CheckToken, which writes nothing): false with a nil
// error for support.ErrInvalidToken — an unknown, expired or completed
// token, one another conversation used, or a hand-off of another flow —
// and the store's error otherwise.
func (h handoffs) Redeemable(ctx context.Context, token, conv string) (bool, error) {
	_, err := h.s.CheckToken(ctx, token, conv, h.accept)
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, support.ErrInvalidToken):
		return false, nil
	}
	return false, err
}

// accept refuses, as support.ErrInvalidToken, a hand-off whose record
// names another flow than h's.
func (h handoffs) accept(ho support.Handoff) error {
	if ho.Flow != h.flow && !(ho.Flow == "" && h.def) {
		return fmt.Errorf("hand-off %s is for flow %q, not %q: %w", ho.ID, ho.Flow, h.flow, support.ErrInvalidToken)
	}
	return nil
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
	// The portal subcommands administer the embedded core of the data
	// directory (the one `portal serve` exposes), whatever portal.url says.
	embeddedOnly := cmd.Parent() != nil && cmd.Parent().Name() == "portal"
	a, err := openApp(cmd.Context(), g, openOptions{logOut: logf, embeddedOnly: embeddedOnly})
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
	a := &app{cfg: cfg, dataDir: dir, metrics: metrics.New()}
	out := o.logOut
	if out == nil {
		out = os.Stderr
	}
	a.redact = logs.NewRedactor()
	a.log = logs.New(out, cfg.Log.SlogLevel(), cfg.Log.Format, a.redact)

	if cfg.SMTP.Enabled() {
		s, err := mail.NewSMTP(smtpConfig(cfg))
		if err != nil {
			return nil, err
		}
		a.mail = s
		// Closed after everything that sends mail (closers run in
		// reverse): QUIT on the idle pooled connections.
		a.closers = append(a.closers, s.Close)
	} else {
		ob, err := mail.NewOutbox(filepath.Join(dir, "outbox", "mail"), mail.WithFrom(cfg.Mail.From))
		if err != nil {
			return nil, err
		}
		a.mail = ob
	}
	if o.portalURL != "" {
		cfg.Portal.URL = o.portalURL
		a.cfg.Portal.URL = o.portalURL
		if err := cfg.Validate(); err != nil {
			return nil, fmt.Errorf("--portal-url: %w", err)
		}
	}
	if cfg.Portal.Remote() && !o.embeddedOnly {
		client, err := openRemotePortal(cfg.Portal, a.log)
		if err != nil {
			return nil, err
		}
		a.portal = client
	} else {
		core, err := openEmbedded(ctx, a, dir, o)
		if err != nil {
			a.Close()
			return nil, err
		}
		a.core, a.portal = core, core
	}
	core := a.portal
	if a.core != nil {
		registerCoreMetrics(a.metrics, a.core)
	}
	if k, err := derivedKey(a, dir, logIDKeyPurpose); err == nil {
		a.redact.SetKey(k) // the same hash of a chat id after a restart
	}
	if err := checkStoreBackend(cfg, cfg.Portal.Remote()); o.engine && err != nil {
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
	if b, ok := sup.(*support.Store); ok {
		a.metrics.AddBolt("support", b.DBStats)
		a.metrics.AddCommits("support", b.CommitStats)
	}
	a.desk = &support.Desk{Store: sup, Core: core, Passwords: core, Mail: a.mail, BotUsername: cfg.Telegram.BotUsername, Logger: a.log,
		SupportContact: cfg.Mail.SupportContact, HandoffTTL: cfg.Slack.HandoffTTL, HandoffMail: handoffMails,
		Locale: cfg.Slack.SupportLocale}
	if ec := a.core; ec != nil {
		a.desk.CoreAudit = func(ctx context.Context, accountID string, limit int) ([]support.Entry, error) {
			changes, err := ec.AuditLog(ctx, accountID, limit)
			out := make([]support.Entry, len(changes))
			for i, c := range changes {
				out[i] = support.Entry{At: c.At, Channel: "portal", UserID: "-", AccountID: c.AccountID, Action: c.Action, Outcome: c.Detail}
			}
			return out, err
		}
	}
	// Until the engine runs, the desk knows every flow (an administration
	// command hands off any of them); the engine path below gives it the
	// registered ones.
	if err := describeDesk(a.desk, allFlows(core)); err != nil {
		a.Close()
		return nil, err
	}
	if !o.engine {
		return a, nil
	}
	// Held Telegram updates may hold a typed password or code: they are
	// sealed under a key derived from the portal key, or with a remote
	// portal from DATA/sessions.key.
	inboxKey, err := inboxKeyFor(a, dir)
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
	switch b := st.(type) {
	case *store.Bolt:
		a.metrics.AddBolt("sessions", b.DBStats)
		a.metrics.AddCommits("sessions", b.CommitStats)
	case *etcdstore.Store:
		a.metrics.AddStore("etcd", func() metrics.StoreStats {
			s := b.Stats()
			return metrics.StoreStats{Saves: s.Saves, Conflicts: s.Conflicts, Retries: s.Retries, Ambiguous: s.Ambiguous, SaveTime: s.SaveTime}
		})
	}
	order, err := flowOrder(ctx, a, core)
	if err != nil {
		a.Close()
		return nil, err
	}
	var flowCore portal.Core = core
	if o.wrapCore != nil {
		flowCore = o.wrapCore(flowCore)
	}
	flow := totpswitch.New(totpswitch.Options{Core: a.metrics.Portal(flowCore, a.log), Issuer: cfg.Portal.Issuer,
		Order: order, ReminderAfter: cfg.Flow.ReminderAfter, RecoveryCodes: cfg.Enrollment.RecoveryCodes,
		Handoffs: handoffs{s: sup, flow: totpswitch.Name, def: true}})
	flows := []bot.Flow{flow} // the first is the default flow
	// The second flow, moving the authenticator app to a new phone: the
	// engine starts it by its descriptor (/newphone, the start payload
	// "newphone", a hand-off link's "np_<token>"). A portal without the
	// replacement operations runs only the default flow.
	if caps, err := portal.CapabilitiesOf(ctx, core); err == nil && caps.ReplaceTOTP {
		flows = append(flows, newphone.New(newphone.Options{Core: a.metrics.Portal(flowCore, a.log), Handoffs: handoffs{s: sup, flow: newphone.Name}}))
	}
	var desk bot.Support
	if o.support && cfg.Slack.Enabled() && cfg.Slack.SupportChannel != "" {
		desk, a.supportOn = a.desk, true
	}
	a.engine, err = bot.New(bot.Options{Store: st, Flows: flows, IdleTimeout: cfg.Flow.IdleTimeout,
		MaxDuration: cfg.Flow.MaxDuration, Observer: observers(a.desk.Observe, a.metrics.Observe), Meter: a.metrics, Support: desk,
		Now: o.now, Logger: a.log})
	if err != nil {
		a.Close()
		return nil, err
	}
	a.desk.Flows, a.desk.Texts = a.engine.Flows(), a.engine.Catalog()
	return a, nil
}

// logIDKeyPurpose is the portal key derivation of the logs' id hashes.
const logIDKeyPurpose = "log id hmac-sha256"
