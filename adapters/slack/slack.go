// Package slack is the Slack adapter: staff run the guided change from a
// Slack workspace, in a direct message (DM) with the app. It uses
// github.com/slack-go/slack for every Slack call and knows only the bot
// types, never a flow or the portal.
//
// Entry points are the slash command (/guidedfix), the Start button on the
// App Home tab and a DM saying "2fa". The conversation always runs in the
// user's DM with the app (Conversation{Channel: "slack", ID: DM channel id});
// a slash command typed in a channel moves there and says so ephemerally.
// Passwords and codes are typed into modals (views.open), never into
// messages: a secret prompt is posted as its text plus an "Enter password"
// or "Enter code" button whose trigger_id opens the modal. The QR code is
// uploaded to the DM only (files upload v2) and deleted with the manual key
// when the enrollment ends.
//
// Support staff use the same app (staff.go): "/guidedfix handoff" and
// "/guidedfix audit" for the members of Options.StaffUserIDs or
// Options.StaffGroup, the "Take over" and "Hand back" buttons of
// escalations in the support channel, and replies in an escalation's
// thread, which reach the customer. The adapter is also the support
// desk's notifier (notify.go): hand-off watch threads and escalations are
// posted in Options.SupportChannel.
//
// Two transports deliver the same inbound traffic: Socket Mode (default,
// app-level token, no public URL) and HTTP (Events API, interactivity and
// slash-command endpoints, each request verified with the signing secret).
package slack

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	slackapi "github.com/slack-go/slack"

	"guidedfix/bot"
	"guidedfix/internal/corr"
)

//go:embed locales/*.yaml
var messages embed.FS

// Channel is the adapter's channel name in conversations and update ids.
const Channel = "slack"

// Transport modes of Options.Mode.
const (
	// ModeSocket receives events over Socket Mode (apps.connections.open
	// and a WebSocket); it needs Options.AppToken.
	ModeSocket = "socket"
	// ModeHTTP serves the Events API, interactivity and slash-command
	// request URLs on Options.Listen; it needs Options.SigningSecret.
	ModeHTTP = "http"
)

const (
	// ackBudget is how long a view submission waits for the engine before
	// it is answered anyway: Slack drops answers after 3 seconds.
	ackBudget = 2500 * time.Millisecond
	// workTimeout bounds the handling of one inbound request after its
	// acknowledgement.
	workTimeout = 2 * time.Minute
	// maxRateLimitRetries is how often one Web API call is retried after a
	// 429 answer.
	maxRateLimitRetries = 5
)

// Options configure an Adapter.
type Options struct {
	// BotToken is the bot user OAuth token ("xoxb-…"), required.
	BotToken string
	// AppToken is the app-level token ("xapp-…", scope connections:write),
	// required in Socket Mode.
	AppToken string
	// SigningSecret is the app's signing secret, required in HTTP mode:
	// every request must carry a valid v0 signature.
	SigningSecret string
	// APIURL is the Web API base URL; "" means Slack's. Tests point it at
	// a fake ("http://127.0.0.1:port/api/"); a missing trailing slash is
	// added.
	APIURL string
	// Mode is ModeSocket ("socket", the default when empty) or ModeHTTP.
	Mode string
	// Listen is the HTTP mode's listen address; default ":3000".
	Listen string
	// Command is the slash command's name; default "/guidedfix".
	Command string
	// Engine runs the flows (required); New registers the adapter with it
	// as the deliverer of channel "slack".
	Engine *bot.Engine
	// Logger receives operator logs; default slog.Default(). Secrets never
	// reach it.
	Logger *slog.Logger
	// Now returns the current time for the request-timestamp check of
	// signed requests; default time.Now.
	Now func() time.Time

	// SupportChannel is the id of the channel ("C…" public, "G…"
	// private) where the adapter, as the support desk's notifier, posts
	// hand-off watch threads and escalations, and where it reads the
	// replies of the agent who took a conversation over. The app must be
	// a member. Empty: no notifier.
	SupportChannel string
	// StaffUserIDs are the Slack user ids of support staff.
	StaffUserIDs []string
	// StaffGroup is a Slack user group ("S…") whose members are support
	// staff (usergroups.users.list, re-read at most once a minute).
	StaffGroup string
	// Desk, if set, enables the staff side: the handoff and audit
	// commands, take-over and hand-back, agent replies. Without it those
	// commands are answered with the help.
	Desk Desk
	// HandoffTTL is how long the hand-off links Desk makes can be opened
	// (slack.handoff_ttl), told to the agent; ≤ 0 means 10 minutes
	// (support.DefaultHandoffTTL).
	HandoffTTL time.Duration
	// HTTPClient, if set, makes the Web API requests (slack-go's
	// OptionHTTPClient), e.g. one whose transport counts them for metrics.
	HTTPClient *http.Client
	// Ready, if set, is called once when auth.test has succeeded and
	// traffic is being received: readiness probes (/readyz) wait for it.
	Ready func()
}

// Adapter connects Slack to the engine. It is safe for concurrent use.
type Adapter struct {
	api     *slackapi.Client
	ready   func() // Options.Ready
	engine  *bot.Engine
	log     *slog.Logger
	now     func() time.Time
	mode    string
	listen  string
	command string
	secret  string
	// botUser is the app's bot user id (auth.test), whose own messages
	// are ignored; set by Run before any traffic is received.
	botUser string

	// work counts the inbound requests still being handled, so that Run
	// returns only when they are done.
	work sync.WaitGroup
	// sleep waits for a rate limit's Retry-After; tests replace it.
	sleep func(ctx context.Context, d time.Duration) error
	// ackBudget is how long a view submission may wait for the engine.
	ackBudget time.Duration

	// The staff side (staff.go).
	desk           Desk
	supportChannel string
	handoffTTL     time.Duration
	staff          *staffSet
	staffLine      staffLine
	staffEvents    recentIDs
	// supportDown is set while the app cannot post in the support channel
	// (not a member, channel gone), as found by CheckSupportChannel or a
	// failed post; hand-offs and escalations then say so.
	supportDown atomic.Bool
}

var _ bot.Deliverer = (*Adapter)(nil)

// New returns the adapter for opts and registers it with opts.Engine as
// the deliverer of channel "slack". It also loads the adapter's texts
// (button labels, modal titles) into the engine's catalog.
//
// New returns an error when opts has no engine or bot token, when Mode is
// neither "socket" nor "http", when Socket Mode lacks the app-level token
// or HTTP mode the signing secret, or when the texts do not load. It makes
// no Slack call; Run checks the token with auth.test.
func New(opts Options) (*Adapter, error) {
	if opts.Engine == nil || opts.BotToken == "" {
		return nil, errors.New("slack: an engine and a bot token are required")
	}
	a := &Adapter{
		engine:    opts.Engine,
		log:       opts.Logger,
		now:       opts.Now,
		mode:      opts.Mode,
		listen:    opts.Listen,
		command:   opts.Command,
		secret:    opts.SigningSecret,
		sleep:     sleep,
		ackBudget: ackBudget,
		ready:     opts.Ready,
	}
	if a.mode == "" {
		a.mode = ModeSocket
	}
	switch {
	case a.mode != ModeSocket && a.mode != ModeHTTP:
		return nil, fmt.Errorf("slack: mode %q is neither %q nor %q", a.mode, ModeSocket, ModeHTTP)
	case a.mode == ModeSocket && opts.AppToken == "":
		return nil, errors.New("slack: Socket Mode needs the app-level token")
	case a.mode == ModeHTTP && opts.SigningSecret == "":
		return nil, errors.New("slack: HTTP mode needs the signing secret")
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.command == "" {
		a.command = "/guidedfix"
	}
	if a.listen == "" {
		a.listen = ":3000"
	}
	if ch := opts.SupportChannel; ch != "" && !strings.HasPrefix(ch, "C") && !strings.HasPrefix(ch, "G") {
		return nil, fmt.Errorf("slack: support channel %q is not a channel id (C… or G…)", ch)
	}
	a.desk, a.supportChannel = opts.Desk, opts.SupportChannel
	if a.handoffTTL = opts.HandoffTTL; a.handoffTTL <= 0 {
		a.handoffTTL = 10 * time.Minute
	}
	a.staff = newStaffSet(opts.StaffUserIDs, opts.StaffGroup)
	var apiOpts []slackapi.Option
	if opts.APIURL != "" {
		u := opts.APIURL
		if !strings.HasSuffix(u, "/") {
			u += "/"
		}
		apiOpts = append(apiOpts, slackapi.OptionAPIURL(u))
	}
	if opts.AppToken != "" {
		apiOpts = append(apiOpts, slackapi.OptionAppLevelToken(opts.AppToken))
	}
	if opts.HTTPClient != nil {
		apiOpts = append(apiOpts, slackapi.OptionHTTPClient(opts.HTTPClient))
	}
	a.api = slackapi.New(opts.BotToken, apiOpts...)
	if err := opts.Engine.Catalog().Load(messages, "locales/en.yaml", "locales/ms.yaml"); err != nil {
		return nil, fmt.Errorf("slack: %w", err)
	}
	opts.Engine.Register(Channel, a)
	return a, nil
}

// Run checks the bot token and learns the bot's user id (auth.test), and
// then receives Slack traffic
// until ctx is done: the Socket Mode loop, or the HTTP server on
// Options.Listen serving Handler. When ctx is done it stops receiving,
// waits for the requests already acknowledged to be handled, and returns
// nil. It returns an error when auth.test fails, the HTTP server cannot
// listen, or Socket Mode gives up (invalid or revoked app token).
func (a *Adapter) Run(ctx context.Context) error {
	var me *slackapi.AuthTestResponse
	for pause := time.Second; ; pause = min(2*pause, 30*time.Second) {
		err := a.call(ctx, func() (err error) { me, err = a.api.AuthTestContext(ctx); return err })
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return nil
		}
		var refused slackapi.SlackErrorResponse
		if errors.As(err, &refused) {
			// Slack answered (invalid_auth, account_inactive, …): trying
			// again will not help.
			return fmt.Errorf("slack: auth.test: %w", err)
		}
		// Slack not reachable, or 5xx: keep trying, as a restart would.
		a.log.WarnContext(ctx, "slack: auth.test failed at startup; trying again", "in", pause, "err", err)
		if err := a.sleep(ctx, pause); err != nil {
			return nil
		}
	}
	a.botUser = me.UserID
	if err := a.CheckSupportChannel(ctx); err != nil && !errors.Is(err, bot.ErrSupportUnreachable) {
		a.log.WarnContext(ctx, "slack: could not check that the app is in the support channel (scopes channels:read, groups:read?); taking it as usable",
			"channel", a.supportChannel, "err", err)
	} else if err != nil {
		a.log.ErrorContext(ctx, "slack: the support channel cannot be used: hand-offs are not watched there and \"Talk to a person\" says support is unreachable; invite the app to the channel (/invite) and check slack.support_channel",
			"channel", a.supportChannel, "err", err)
	}
	if a.ready != nil {
		a.ready()
	}
	var err error
	if a.mode == ModeHTTP {
		err = a.serveHTTP(ctx)
	} else {
		err = a.runSocket(ctx)
	}
	a.work.Wait()
	return err
}

// serveHTTP runs the HTTP server until ctx is done, then shuts it down,
// letting requests in progress finish (at most 10 seconds).
func (a *Adapter) serveHTTP(ctx context.Context) error {
	srv := &http.Server{Addr: a.listen, Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	select {
	case err := <-errc:
		return fmt.Errorf("slack: http: %w", err)
	case <-ctx.Done():
	}
	shut, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shut); err != nil {
		return fmt.Errorf("slack: http shutdown: %w", err)
	}
	return nil
}

// goWork runs f in a new goroutine counted by a.work, with a context that
// outlives the request that started it.
func (a *Adapter) goWork(f func(ctx context.Context)) {
	a.work.Add(1)
	go func() {
		defer a.work.Done()
		// One correlation id for the work's log lines (internal/corr).
		ctx, cancel := context.WithTimeout(corr.Ensure(context.Background()), workTimeout)
		defer cancel()
		f(ctx)
	}()
}

// dispatch hands ev to the engine behind the events of its conversation
// already queued. c, if not nil, captures the replies of the turn (a view
// submission); done, if not nil, runs after the turn with the turn's
// context.
func (a *Adapter) dispatch(ev bot.Event, c *capture, done func(ctx context.Context)) {
	// One correlation id from here through the engine, the flow and the
	// portal core to the delivery of the turn's replies (internal/corr).
	ctx, cancel := context.WithTimeout(corr.Ensure(context.Background()), workTimeout)
	if c != nil {
		ctx = context.WithValue(ctx, captureKey{}, c)
	}
	a.work.Add(1)
	a.engine.Dispatch(ctx, ev, func(err error) {
		if err != nil {
			a.log.ErrorContext(ctx, "slack: event failed", "event", ev, "err", err)
		}
		if done != nil {
			done(ctx)
		}
		cancel()
		a.work.Done()
	})
}

// text renders catalog message id in locale.
func (a *Adapter) text(locale, id string) string {
	return a.engine.Catalog().Text(locale, id, nil)
}

// staffText renders catalog message id for staff (English) with data.
func (a *Adapter) staffText(id string, data map[string]any) string {
	return a.engine.Catalog().Text("", id, data)
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
