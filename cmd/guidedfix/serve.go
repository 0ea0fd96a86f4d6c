package main

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/spf13/cobra"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/telegram"
)

// serveFlags override configuration keys from the command line.
type serveFlags struct {
	telegramWebhookURL string
	telegramListen     string
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
			"endpoints with slack.mode: http (SLACK_SIGNING_SECRET).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runServe(cmd.Context(), g, sf)
		},
	}
	cmd.Flags().StringVar(&sf.telegramWebhookURL, "telegram-webhook-url", "", "public HTTPS URL Telegram posts updates to (default: long polling)")
	cmd.Flags().StringVar(&sf.telegramListen, "telegram-listen", "", "local address of the webhook server, host:port (default :8443)")
	return cmd
}

// runServe opens the engine and runs every configured adapter and the
// deadline sweeper until ctx is done or one of them fails.
func runServe(ctx context.Context, g *globalFlags, sf serveFlags) error {
	a, err := openApp(ctx, g, openOptions{engine: true})
	if err != nil {
		return err
	}
	defer a.Close()
	cfg := a.cfg
	if sf.telegramWebhookURL != "" {
		cfg.Telegram.WebhookURL = sf.telegramWebhookURL
	}
	if sf.telegramListen != "" {
		cfg.Telegram.Listen = sf.telegramListen
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	type runner struct {
		name string
		run  func(context.Context) error
	}
	var runners []runner
	if cfg.Telegram.Enabled() {
		secret := cfg.Telegram.WebhookSecret.Reveal()
		if cfg.Telegram.WebhookURL != "" && secret == "" {
			return errors.New("telegram.webhook_secret is required with a webhook URL")
		}
		tg, err := telegram.New(telegram.Options{
			Token:         cfg.Telegram.Token.Reveal(),
			APIURL:        cfg.Telegram.APIURL,
			BotUsername:   cfg.Telegram.BotUsername,
			WebhookURL:    cfg.Telegram.WebhookURL,
			WebhookSecret: secret,
			Listen:        cfg.Telegram.Listen,
			Engine:        a.engine,
			Logger:        a.log,
		})
		if err != nil {
			return err
		}
		runners = append(runners, runner{"telegram", tg.Run})
	}
	if cfg.Slack.Enabled() {
		sl, err := slack.New(slack.Options{
			BotToken:      cfg.Slack.BotToken.Reveal(),
			AppToken:      cfg.Slack.AppToken.Reveal(),
			SigningSecret: cfg.Slack.SigningSecret.Reveal(),
			APIURL:        cfg.Slack.APIURL,
			Mode:          cfg.Slack.Mode,
			Listen:        cfg.Slack.Listen,
			Command:       cfg.Slack.Command,
			Engine:        a.engine,
			Logger:        a.log,
		})
		if err != nil {
			return err
		}
		runners = append(runners, runner{"slack", sl.Run})
	}
	if len(runners) == 0 {
		return errors.New("no chat platform is configured: set TELEGRAM_BOT_TOKEN or SLACK_BOT_TOKEN (see README), or try `guidedfix demo`")
	}
	a.log.Info("guidedfix serving", "version", version, "data_dir", a.dataDir, "config", cfg)

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, len(runners)+1)
	start := func(name string, run func(context.Context) error) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := run(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel()
			}
		}()
	}
	for _, r := range runners {
		start(r.name, r.run)
	}
	start("sweeper", func(ctx context.Context) error { return a.engine.Run(ctx, cfg.Flow.SweepInterval) })
	wg.Wait()
	close(errs)
	a.log.Info("guidedfix stopped")
	return <-errs
}
