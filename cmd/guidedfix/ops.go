package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"

	tg "github.com/go-telegram/bot"
	slackapi "github.com/slack-go/slack"

	"guidedfix/bot"
	"guidedfix/internal/metrics"
	"guidedfix/internal/ops"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/support"
)

// observers returns one bot.Options.Observer calling each of fs in order.
func observers(fs ...func(context.Context, bot.Transition)) func(context.Context, bot.Transition) {
	return func(ctx context.Context, t bot.Transition) {
		for _, f := range fs {
			f(ctx, t)
		}
	}
}

// registerCoreMetrics exports the embedded portal core's database stats
// and its argon2id queue.
func registerCoreMetrics(m *metrics.Metrics, core *embedded.Core) {
	m.AddBolt("portal", core.DBStats)
	m.AddCommits("portal", core.CommitStats)
	m.AddHashQueue(core.HashQueue)
}

// opsOptions returns the ops listener's options for a, listening on addr
// (or on ln when not nil).
func opsOptions(a *app, addr string, ln net.Listener, health *ops.Health) ops.Options {
	return ops.Options{Listen: addr, Listener: ln, Metrics: a.metrics.Handler(), Health: health, Logger: a.log,
		Backup: func(ctx context.Context, dir string) ([]string, error) { return a.backup(dir) }}
}

// portalProbe is the readiness probe "portal": the core answers a look-up
// of an address no account has (RFC 2606 .invalid) with not-found.
func portalProbe(a *app) func(context.Context) error {
	return func(ctx context.Context) error {
		// a.portal: the embedded core or the remote portal's client.
		_, err := a.portal.LookupAccount(ctx, "readiness-probe@guidedfix.invalid")
		if err == nil || errors.Is(err, portal.ErrNotFound) {
			return nil
		}
		return err
	}
}

// storesProbe checks that the session store and the support records
// answer a read (bbolt: the files are open; etcd: a linearizable read
// reaches a quorum): a missing session or escalation is the healthy
// answer; any other error makes the process not ready.
func storesProbe(a *app) func(context.Context) error {
	return func(ctx context.Context) error {
		probe := bot.Conversation{Channel: "probe", ID: "readiness"}
		if _, err := a.store.Load(ctx, probe); err != nil && !errors.Is(err, bot.ErrNoSession) {
			return fmt.Errorf("sessions: %w", err)
		}
		if _, _, err := a.support.Escalation(ctx, probe.String()); err != nil && !errors.Is(err, support.ErrNotFound) {
			return fmt.Errorf("support: %w", err)
		}
		return nil
	}
}

// startupError says what an operator should check when the runner name
// (telegram, slack, sweeper, …) failed, once: "Telegram refused the token
// (401): check TELEGRAM_BOT_TOKEN from @BotFather" rather than
// "telegram: telegram: getMe: unauthorized". Errors it does not know keep
// their text, prefixed with name unless they already start with it.
func startupError(name string, err error) error {
	var slackRefused slackapi.SlackErrorResponse
	switch {
	case errors.Is(err, tg.ErrorUnauthorized):
		return fmt.Errorf("Telegram refused the token (401): check TELEGRAM_BOT_TOKEN (telegram.token) from @BotFather: %w", err)
	case errors.Is(err, tg.ErrorNotFound):
		return fmt.Errorf("the Bot API answered 404: check telegram.api_url and TELEGRAM_BOT_TOKEN: %w", err)
	case errors.Is(err, tg.ErrorConflict):
		return fmt.Errorf("the Bot API answered 409 (another process polls or a webhook is set): stop the other guidedfix or check telegram.webhook_url: %w", err)
	case errors.As(err, &slackRefused) && (slackRefused.Err == "invalid_auth" || slackRefused.Err == "not_authed" ||
		slackRefused.Err == "account_inactive" || slackRefused.Err == "token_revoked"):
		return fmt.Errorf("Slack refused the bot token (%s): check SLACK_BOT_TOKEN (slack.bot_token), the app's Bot User OAuth Token: %w", slackRefused.Err, err)
	}
	if strings.HasPrefix(err.Error(), name+": ") {
		return err
	}
	return fmt.Errorf("%s: %w", name, err)
}
