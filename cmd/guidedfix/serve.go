package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"guidedfix/adapters/console"
	"guidedfix/adapters/slack"
	"guidedfix/adapters/telegram"
	"guidedfix/bot"
	"guidedfix/internal/config"
	"guidedfix/internal/ops"
	"guidedfix/internal/portal"
	"guidedfix/internal/support"
)

// serveFlags override configuration keys from the command line.
type serveFlags struct {
	telegramWebhookURL string
	telegramListen     string
	debugListen        string
	portalURL          string // --portal-url: a remote portal (portal.url)
	debugListenPublic  bool
}

func newServeCmd(g *globalFlags) *cobra.Command {
	var sf serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the chat adapters (Telegram, Slack) that are configured",
		Long: "serve runs the guided fixes for every configured chat platform until it\n" +
			"receives SIGINT or SIGTERM; then it stops taking updates, finishes the turns\n" +
			"in flight and closes the databases. Telegram runs when TELEGRAM_BOT_TOKEN\n" +
			"(or telegram.token) is set: long polling by default, a webhook with\n" +
			"--telegram-webhook-url. Slack runs when SLACK_BOT_TOKEN (or\n" +
			"slack.bot_token) is set: Socket Mode by default (SLACK_APP_TOKEN), or HTTP\n" +
			"endpoints with slack.mode: http (SLACK_SIGNING_SECRET). With\n" +
			"entry.public_url set, the secure entry page listens on entry.listen.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), g, sf)
		},
	}
	cmd.Flags().StringVar(&sf.telegramWebhookURL, "telegram-webhook-url", "", "public HTTPS URL Telegram posts updates to (default: long polling)")
	cmd.Flags().StringVar(&sf.telegramListen, "telegram-listen", "", "local address of the webhook server, host:port (default :8443)")
	cmd.Flags().StringVar(&sf.portalURL, "portal-url", "", "use the remote portal at this URL (portal.url) with the service token portal.token, instead of the embedded core")
	cmd.Flags().StringVar(&sf.debugListen, "debug-listen", "", "deprecated: use ops.listen (GUIDEDFIX_OPS__LISTEN); this address replaces it (loopback only unless --debug-listen-public)")
	cmd.Flags().BoolVar(&sf.debugListenPublic, "debug-listen-public", false, "allow --debug-listen on a non-loopback address (pprof and expvar have no authentication)")
	return cmd
}

// runServe opens the engine and runs every configured adapter and the
// deadline sweeper until ctx is done or one of them fails.
func runServe(ctx context.Context, g *globalFlags, sf serveFlags) error {
	if err := checkDebugListen(sf.debugListen, sf.debugListenPublic); err != nil {
		return err
	}
	return serve(ctx, g, sf, serveOptions{})
}

// checkDebugListen refuses a --debug-listen address that is not on
// loopback (pprof and expvar have no authentication) unless public is
// set (--debug-listen-public); "" (off) is fine. An empty host (":6060")
// listens on every interface and is refused likewise.
func checkDebugListen(addr string, public bool) error {
	if addr == "" || public {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--debug-listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("--debug-listen %q is not a loopback address: pprof and expvar have no authentication; use 127.0.0.1:PORT, or add --debug-listen-public", addr)
}

// serveOptions adjust serve for tests.
type serveOptions struct {
	// logOut receives the logs; nil means stderr.
	logOut io.Writer
	// telegram, if set, adjusts the Telegram adapter's options (rate
	// limits).
	telegram func(*telegram.Options)
	// opsListening, if set, receives the ops listener's address once it
	// listens.
	opsListening func(addr string)
	// wrapCore, if set, wraps the portal core the flow calls.
	wrapCore func(portal.Core) portal.Core
	// draining, if set, runs after readiness turned false at shutdown and
	// before the adapters stop.
	draining func()
}

// errNoPlatform is serve's answer when neither Telegram nor Slack is
// configured.
var errNoPlatform = errors.New("no chat platform is configured: set TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN (see README), or try `guidedfix demo`")

func serve(ctx context.Context, g *globalFlags, sf serveFlags, so serveOptions) error {
	// The fatal checks first: without a platform, or with a setting out
	// of range, nothing is opened, so no warning about the parts (the file
	// SMS phone, the argon2 cost) comes before the reason serve does not
	// start.
	if cfg, _, err := loadConfig(g); err != nil {
		return err
	} else if cfg = serveOverrides(cfg, sf); cfg.Validate() != nil {
		return cfg.Validate()
	} else if err := checkStoreBackend(cfg, cfg.Portal.Remote()); err != nil {
		return err
	} else if !cfg.Telegram.Enabled() && !cfg.Slack.Enabled() {
		return errNoPlatform
	}
	a, err := openApp(ctx, g, openOptions{engine: true, support: true, logOut: so.logOut, portalURL: sf.portalURL, wrapCore: so.wrapCore})
	if err != nil {
		return err
	}
	defer a.Close()
	// A demo session abandoned in this data directory (the demo killed)
	// ends here when its deadline passes: its QR image is deleted too.
	a.engine.Register(console.Channel, console.Headless{QRDir: console.QRDir(a.dataDir), Logger: a.log})
	cfg := serveOverrides(a.cfg, sf)
	if sf.debugListen != "" {
		a.log.Warn("--debug-listen is deprecated: set ops.listen (GUIDEDFIX_OPS__LISTEN) instead", "listen", sf.debugListen)
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	health := &ops.Health{}
	health.Probe("portal", portalProbe(a))
	health.Probe("stores", storesProbe(a))
	type runner struct {
		name string
		run  func(context.Context) error
	}
	var runners []runner
	adapters := map[string]bot.Deliverer{} // for the entry page
	if cfg.Telegram.Enabled() {
		secret := cfg.Telegram.WebhookSecret.Reveal()
		if cfg.Telegram.WebhookURL != "" && secret == "" {
			// The URL came from --telegram-webhook-url, after the
			// configuration made its own: a random secret for this run,
			// registered with setWebhook (Bot API secret_token charset).
			secret = rand.Text()
		}
		topts := telegram.Options{
			Token:         cfg.Telegram.Token.Reveal(),
			APIURL:        cfg.Telegram.APIURL,
			BotUsername:   cfg.Telegram.BotUsername,
			WebhookURL:    cfg.Telegram.WebhookURL,
			WebhookSecret: secret,
			Listen:        cfg.Telegram.Listen,
			Engine:        a.engine,
			Inbox:         a.store,
			Logger:        a.log,

			PerChatInterval: cfg.Telegram.PerChatInterval,
			GlobalPerSecond: cfg.Telegram.GlobalPerSecond,

			Ready:         health.Pending("telegram"),
			WrapTransport: func(rt http.RoundTripper) http.RoundTripper { return a.metrics.Transport("telegram", rt) },
			RateWait:      a.metrics.RateWait("telegram"),
		}
		if so.telegram != nil {
			so.telegram(&topts)
		}
		tg, err := telegram.New(topts)
		if err != nil {
			return err
		}
		adapters[telegram.Channel] = tg
		run := tg.Run
		if topts.WebhookURL == "" {
			// Long polling: one replica at a time (store.backend etcd).
			release, lost, err := lockTelegramPolling(ctx, a.store)
			if err != nil {
				return err
			}
			defer release()
			run = func(ctx context.Context) error {
				ctx, cancel := context.WithCancel(ctx)
				defer cancel()
				go func() {
					select {
					case <-lost:
						cancel()
					case <-ctx.Done():
					}
				}()
				err := tg.Run(ctx)
				select {
				case <-lost:
					return errors.New("telegram: the etcd polling lock was lost (no contact with etcd for store.etcd.lock_ttl); stopped polling")
				default:
					return err
				}
			}
		}
		runners = append(runners, runner{"telegram", run})
	}
	if cfg.Slack.Enabled() {
		sl, err := slack.New(slack.Options{
			BotToken:       cfg.Slack.BotToken.Reveal(),
			AppToken:       cfg.Slack.AppToken.Reveal(),
			SigningSecret:  cfg.Slack.SigningSecret.Reveal(),
			APIURL:         cfg.Slack.APIURL,
			Mode:           cfg.Slack.Mode,
			Listen:         cfg.Slack.Listen,
			Command:        cfg.Slack.Command,
			Engine:         a.engine,
			Logger:         a.log,
			SupportChannel: cfg.Slack.SupportChannel,
			StaffUserIDs:   cfg.Slack.StaffUserIDs,
			StaffGroup:     cfg.Slack.StaffGroup,
			Desk:           slackDesk{a.desk, a.log},
			HandoffTTL:     cfg.Slack.HandoffTTL,
			HTTPClient:     &http.Client{Transport: a.metrics.Transport("slack", nil)},
			Ready:          health.Pending("slack"),
		})
		if err != nil {
			return err
		}
		if a.supportOn {
			a.desk.Notifier = sl
		}
		adapters[slack.Channel] = sl
		runners = append(runners, runner{"slack", sl.Run})
	}
	if run, err := serveEntry(a, cfg, adapters); err != nil {
		return err
	} else if run != nil && len(runners) > 0 {
		runners = append(runners, runner{"entry", run})
	}
	if len(runners) == 0 {
		return errNoPlatform
	}
	a.log.Info("guidedfix serving", "version", version, "data_dir", a.dataDir, "config", cfg)

	var opsLn net.Listener
	if cfg.Ops.Listen != "off" {
		if opsLn, err = net.Listen("tcp", cfg.Ops.Listen); err != nil {
			return fmt.Errorf("ops listener on %s: %w (check ops.listen, or set it to off)", cfg.Ops.Listen, err)
		}
		if so.opsListening != nil {
			so.opsListening(opsLn.Addr().String())
		}
	}
	opsCtx, stopOps := context.WithCancel(context.WithoutCancel(ctx))
	opsDone := make(chan error, 1)
	if opsLn != nil {
		go func() { opsDone <- ops.Serve(opsCtx, opsOptions(a, "", opsLn, health)) }()
	} else {
		opsDone <- nil
	}
	defer func() { stopOps(); <-opsDone }()

	// The adapters stop only after readiness turned false (SIGTERM or a
	// failure), so a load balancer stops sending first.
	sig := ctx
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	go func() {
		select {
		case <-sig.Done():
		case <-ctx.Done():
		}
		health.Drain()
		if so.draining != nil {
			so.draining()
		}
		cancel()
	}()
	var wg sync.WaitGroup
	errs := make(chan error, len(runners)+1)
	start := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs <- startupError(name, err)
				cancel()
			}
		}()
	}
	for _, r := range runners {
		start(r.name, r.run)
	}
	start("sweeper", func(ctx context.Context) error { return a.engine.Run(ctx, cfg.Flow.SweepInterval) })
	start("pruner", func(ctx context.Context) error { return prune(ctx, a, time.Hour) })
	if a.core != nil { // a remote portal retries its own mail
		start("mail retry", func(ctx context.Context) error { return a.core.RunMailRetry(ctx, mailRetryInterval) })
	}
	wg.Wait()
	close(errs)
	a.log.Info("guidedfix stopped")
	return <-errs
}

// mailRetryInterval is how often serve and the demo look for queued
// e-mail whose backoff (mail.DefaultBackoff) has run out.
const mailRetryInterval = 5 * time.Second

// slackDesk is the support desk as the Slack adapter's staff side sees it
// (slack.Desk). It only reads accounts (support.Desk.Core is read-only):
// no staff action changes a customer's 2FA.
type slackDesk struct {
	d   *support.Desk
	log *slog.Logger
}

var (
	_ slack.Desk       = slackDesk{}
	_ support.Notifier = (*slack.Adapter)(nil)
)

func (s slackDesk) HandOff(ctx context.Context, staff, flow, email, ticket string) (string, error) {
	link, _, err := s.d.HandOffFlow(ctx, flow, email, ticket, slack.Channel, staff)
	if errors.Is(err, support.ErrNoAccount) {
		return "", slack.ErrNoAccount
	}
	if err := slackWrongMethod(err); err != nil {
		return "", err
	}
	return link, err
}

func (s slackDesk) Audit(ctx context.Context, staff, email string, limit int) ([]string, error) {
	entries, err := s.d.AuditFor(ctx, email, limit)
	if errors.Is(err, support.ErrNoAccount) {
		return nil, slack.ErrNoAccount
	}
	if err != nil {
		return nil, err
	}
	lines := make([]string, len(entries))
	for i, e := range entries {
		lines[i] = support.FormatEntry(e)
	}
	account := ""
	if acc, err := s.d.Core.LookupAccount(ctx, email); err == nil {
		account = acc.ID
	}
	s.d.RecordStaff(ctx, slack.Channel, staff, account, "audit_viewed", fmt.Sprintf("read %d audit entries", len(entries)))
	return lines, nil
}

func (s slackDesk) Record(ctx context.Context, user, account, action, outcome string, staff bool) {
	if staff {
		s.d.RecordStaff(ctx, slack.Channel, user, account, action, outcome)
		return
	}
	e := support.Entry{Channel: slack.Channel, UserID: user, AccountID: account, Action: action, Outcome: "refused: not staff: " + outcome}
	if err := s.d.Store.Append(ctx, e); err != nil {
		s.log.Error("audit log append failed", "action", action, "err", err)
	}
}

func (s slackDesk) Claim(ctx context.Context, conv bot.Conversation, agent string) (string, error) {
	return s.d.Store.ClaimEscalation(ctx, conv.String(), agent)
}

func (s slackDesk) Reassign(ctx context.Context, conv bot.Conversation, from, to string) (string, error) {
	return s.d.Store.ReassignEscalation(ctx, conv.String(), from, to)
}

func (s slackDesk) Release(ctx context.Context, conv bot.Conversation) error {
	return s.d.Store.ReleaseEscalation(ctx, conv.String())
}

func (s slackDesk) Thread(ctx context.Context, channel, thread string) (bot.Conversation, string, error) {
	conv, agent, err := s.d.Store.EscalationByThread(ctx, channel, thread)
	if err != nil {
		return bot.Conversation{}, "", err
	}
	ch, id, _ := strings.Cut(conv, ":")
	return bot.Conversation{Channel: ch, ID: id}, agent, nil
}

// prune drops processed-update records older than the store's SeenTTL
// (7 days) once at start and then every interval, so the de-duplication
// records do not grow without bound. It returns nil when ctx is done.
func prune(ctx context.Context, a *app, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		if n, err := a.store.Prune(ctx, 100000); err != nil && ctx.Err() == nil {
			a.log.Warn("prune of processed update ids failed", "err", err)
		} else if n > 0 {
			a.log.Info("pruned processed update ids", "count", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// serveOverrides returns cfg with serve's flags applied: --portal-url,
// --telegram-webhook-url, --telegram-listen and the deprecated
// --debug-listen (ops.listen, public).
func serveOverrides(cfg config.Config, sf serveFlags) config.Config {
	if sf.portalURL != "" {
		cfg.Portal.URL = sf.portalURL
	}
	if sf.telegramWebhookURL != "" {
		cfg.Telegram.WebhookURL = sf.telegramWebhookURL
	}
	if sf.telegramListen != "" {
		cfg.Telegram.Listen = sf.telegramListen
	}
	if sf.debugListen != "" {
		cfg.Ops.Listen, cfg.Ops.Public = sf.debugListen, true
	}
	return cfg
}
