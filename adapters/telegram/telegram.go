// Package telegram is the Telegram adapter: customers run the guided change
// in a private chat with the bot. Every Bot API call goes through
// github.com/go-telegram/bot; the engine and the flows stay platform-free.
//
// Updates arrive by long polling (getUpdates, the default) or by webhook
// (setWebhook with a secret token, checked on every request). A polled
// update is held on disk (Options.Inbox) before getUpdates can confirm it,
// a webhook update before the webhook answers 200, and each is released
// after its turn, so a crash loses none; a held webhook update's 200
// carries a button press's answerCallbackQuery (webhookreply.go). Each update
// becomes a bot.Event; the updates of one chat are handled one at a time in
// order, chats in parallel. Replies go out as plain text without
// parse_mode, so user-supplied text such as "a_b*c" is never parsed as
// markup; buttons are inline keyboards; the QR code is an uploaded PNG with
// protect_content. Flows run only in private chats: in a group the bot
// answers commands with a link to its private chat and never asks for a
// secret.
package telegram

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"guidedfix/bot"
)

//go:embed locales/*.yaml
var messages embed.FS

// Channel is the adapter's channel name in bot.Conversation and in the
// engine's record of processed update ids.
const Channel = "telegram"

// DefaultAPIURL is the public Bot API server.
const DefaultAPIURL = "https://api.telegram.org"

// SecretHeader is the header in which Telegram sends the webhook's secret
// token (Bot API setWebhook, secret_token).
const SecretHeader = "X-Telegram-Bot-Api-Secret-Token"

// allowedUpdates are the update kinds the adapter reads (Bot API
// getUpdates/setWebhook allowed_updates).
// my_chat_member tells when a user blocks the bot (or unblocks it).
var allowedUpdates = []string{models.AllowedUpdateMessage, models.AllowedUpdateEditedMessage, models.AllowedUpdateCallbackQuery,
	models.AllowedUpdateMyChatMember}

// maxIdleConns is how many connections to the Bot API server the
// adapter opens at most, and keeps idle for reuse (issue 14). With 64 idle
// and no cap, 500 concurrent customers made the server dial and close
// connections for 6 % of its CPU; a cap of 256 stopped the churn, but a
// burst still dialled all 256 (2.7-4.4 % of the CPU at 500 customers);
// with 64 it is about 1 %, the calls in excess wait for a connection
// (each takes about a millisecond against a local fake, a round trip to
// Telegram, whose limits allow about 30 messages a second in all) and the
// turn latency measured the same.
const maxIdleConns = 64

// Options configure an Adapter.
type Options struct {
	// Token is the bot token from @BotFather (required).
	Token string
	// APIURL is the Bot API server's base URL, without the "/bot<token>"
	// part: a self-hosted telegram-bot-api server or a test fake. Default
	// DefaultAPIURL.
	APIURL string
	// BotUsername is the bot's @username without "@", used for the
	// https://t.me/<username> link given in groups and to recognise
	// "/cmd@username". Empty: Run asks getMe.
	BotUsername string
	// WebhookURL is the public HTTPS URL Telegram posts updates to; empty
	// (default) means long polling.
	WebhookURL string
	// WebhookSecret is the secret_token given to setWebhook and required
	// in SecretHeader on every webhook request: 1-256 characters of
	// A-Z a-z 0-9 _ -. Required with WebhookURL.
	WebhookSecret string
	// Listen is the local address of the webhook's HTTP server, e.g.
	// ":8443"; default ":8443". It serves plain HTTP on every path: TLS is
	// terminated in front of it (Telegram only posts to HTTPS URLs).
	Listen string
	// Engine runs the flows (required); New registers the adapter with it
	// as the deliverer of channel "telegram".
	Engine *bot.Engine
	// Logger receives operator logs (never message texts or secrets);
	// default slog.Default().
	Logger *slog.Logger
	// PerChatInterval is the sustained interval between messages sent
	// (or edited) in one chat, with a burst of 3; default 1 s, negative
	// disables the per-chat limit.
	PerChatInterval time.Duration
	// GlobalPerSecond is how many messages the bot sends or edits per
	// second over all chats (burst of the same size); default 30,
	// negative disables the global limit. Neither limit counts
	// answerCallbackQuery or deletions, which Telegram does not limit
	// (limits.go).
	GlobalPerSecond int
	// Inbox, if set, holds long-polled updates from the moment getUpdates
	// returns them, and webhook updates from before the webhook answers
	// 200, until their turn ends; Run replays the held ones when it
	// starts (bot.Inbox). Without it an update confirmed by the next
	// getUpdates is lost if the process dies before its turn ends, and
	// the webhook answers only after the turn.
	Inbox bot.Inbox
	// NoWebhookReply makes every callback query's answer a call of its
	// own. By default, in webhook mode with an Inbox, the answer of a
	// button press goes in the webhook's 200 response instead
	// (webhookreply.go): one HTTP round trip less per press.
	NoWebhookReply bool
	// HTTPClient, if set, makes the Bot API requests. Its Timeout must be
	// 0 or above 60 s: getUpdates is held up to 59 s. The default keeps up
	// to 256 idle connections to the Bot API server.
	HTTPClient *http.Client
	// Ready, if set, is called once when the startup calls have succeeded
	// (getMe, setMyCommands, then deleteWebhook or setWebhook) and updates
	// are being received: readiness probes (/readyz) wait for it.
	Ready func()
	// WrapTransport, if set, wraps the Bot API client's transport (e.g.
	// to count calls for metrics); it gets http.DefaultTransport's clone
	// or HTTPClient's transport.
	WrapTransport func(http.RoundTripper) http.RoundTripper
	// RateWait, if set, receives each wait the rate limits impose before
	// a send (0 when none), for metrics.
	RateWait func(time.Duration)
}

// Adapter connects the engine to one Telegram bot. It implements
// bot.Deliverer; its methods are safe for concurrent use.
type Adapter struct {
	opts     Options
	b        *tg.Bot
	api      *jsonAPI // the hot methods as JSON POSTs (jsoncall.go)
	eng      *bot.Engine
	commands []string // the engine's commands (bot.Engine.Commands), read once
	log      *slog.Logger
	user     atomic.Pointer[string]
	queue    serial
	recent   recentSet
	inflight idSet // held updates queued or running now
	limiter  *limiter

	mu     sync.Mutex // guards closed and wg.Add
	closed bool
	wg     sync.WaitGroup

	// Seams for tests.
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	onDone   func(updateID int64)
	listener net.Listener // serve the webhook here instead of Listen
}

var _ bot.Deliverer = (*Adapter)(nil)

// New returns an adapter for opts and registers it with opts.Engine as the
// deliverer of channel "telegram"; it loads the adapter's texts into the
// engine's catalog. It makes no network call. It returns an error when
// Token or Engine is missing, when WebhookURL is set without
// WebhookSecret, or when the Bot API client cannot be created.
func New(opts Options) (*Adapter, error) {
	switch {
	case opts.Token == "":
		return nil, errors.New("telegram: Options.Token is required")
	case opts.Engine == nil:
		return nil, errors.New("telegram: Options.Engine is required")
	case opts.WebhookURL != "" && opts.WebhookSecret == "":
		return nil, errors.New("telegram: a webhook needs Options.WebhookSecret")
	}
	if opts.APIURL == "" {
		opts.APIURL = DefaultAPIURL
	}
	opts.APIURL = strings.TrimRight(opts.APIURL, "/")
	if opts.Listen == "" {
		opts.Listen = ":8443"
	}
	if opts.PerChatInterval == 0 {
		opts.PerChatInterval = time.Second
	}
	if opts.GlobalPerSecond == 0 {
		opts.GlobalPerSecond = 30
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	a := &Adapter{
		opts:     opts,
		eng:      opts.Engine,
		commands: opts.Engine.Commands(),
		log:      opts.Logger.With("channel", Channel),
		limiter:  newLimiter(opts.PerChatInterval, 3, opts.GlobalPerSecond),
		now:      time.Now,
		sleep:    sleepCtx,
	}
	name := strings.TrimPrefix(opts.BotUsername, "@")
	a.user.Store(&name)
	if err := a.eng.Catalog().Load(messages, "locales/en.yaml", "locales/ms.yaml"); err != nil {
		return nil, err
	}
	tgOpts := []tg.Option{
		tg.WithServerURL(opts.APIURL),
		tg.WithSkipGetMe(),
		tg.WithDefaultHandler(a.onUpdate),
		// One consumer that only queues, so that an update is taken from
		// getUpdates (and confirmed by the next offset) only once queued.
		tg.WithNotAsyncHandlers(),
		tg.WithUpdatesChannelCap(0),
		tg.WithAllowedUpdates(allowedUpdates),
		tg.WithErrorsHandler(a.clientError),
	}
	client := opts.HTTPClient
	if client == nil {
		// go-telegram/bot's default client uses http.DefaultTransport,
		// which keeps 2 idle connections per host: with more turns in
		// flight, every other Bot API call opened (and TLS-handshook) a new
		// connection and left one in TIME_WAIT.
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = maxIdleConns
		// More calls in flight wait for a connection instead of dialling
		// one that the idle pool then closes (issue 14: with limits off
		// and 500 customers, dialling was 5 % of the server's CPU).
		tr.MaxConnsPerHost = maxIdleConns
		client = &http.Client{Transport: tr, Timeout: time.Minute}
	}
	if opts.WrapTransport != nil {
		c := *client
		if c.Transport == nil {
			c.Transport = http.DefaultTransport
		}
		c.Transport = opts.WrapTransport(c.Transport)
		client = &c
	}
	if opts.Inbox != nil && opts.WebhookURL == "" {
		client = withHolding(client, opts.Inbox)
	}
	tgOpts = append(tgOpts, tg.WithHTTPClient(time.Minute, client))
	b, err := tg.New(opts.Token, tgOpts...)
	if err != nil {
		return nil, fmt.Errorf("telegram: %w", err)
	}
	a.b = b
	a.api = newJSONAPI(opts.APIURL, opts.Token, client)
	a.eng.Register(Channel, a)
	return a, nil
}

// Run receives updates until ctx is done. It first asks getMe when
// Options.BotUsername is empty and registers the engine's commands
// (bot.Engine.Commands: /start, /2fa, each registered flow's own, /cancel
// and /help) with setMyCommands. Then, with no WebhookURL, it calls
// deleteWebhook and long-polls getUpdates; with a WebhookURL it serves
// WebhookHandler on Options.Listen and calls setWebhook (url, secret_token,
// allowed_updates message, edited_message, callback_query,
// my_chat_member). When ctx is
// done it stops taking updates (webhook requests get 503), waits for the
// turns in flight and returns nil, also when ctx ends during startup. A
// startup call (getMe, setMyCommands, deleteWebhook, setWebhook) that
// cannot reach the Bot API, or gets 5xx or 429, is tried again with a
// growing pause (at most 30 s); it returns an error when one is refused
// for good (401 bad token, 400, 403, 404), or the webhook server cannot
// listen or stops. An Adapter runs once.
func (a *Adapter) Run(ctx context.Context) error {
	err := a.run(ctx)
	a.close()
	a.wg.Wait()
	if ctx.Err() != nil {
		return nil // a startup call cut short by the shutdown is no failure
	}
	return err
}

// startup makes one startup call, again and again while the Bot API
// cannot be reached, answers 5xx or 429 (a network outage or a restart of
// a self-hosted server must not stop guidedfix), waiting 1 s, 2 s, 4 s, …
// up to 30 s or Telegram's retry_after. An answer that will not change by
// trying again (401 bad token, 400, 403, 404) is returned at once, as is
// ctx's error.
func (a *Adapter) startup(ctx context.Context, method string, call func(context.Context) error) error {
	pause := time.Second
	for {
		err := call(ctx)
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, tg.ErrorUnauthorized), errors.Is(err, tg.ErrorBadRequest),
			errors.Is(err, tg.ErrorForbidden), errors.Is(err, tg.ErrorNotFound):
			return fmt.Errorf("telegram: %s: %w", method, err)
		}
		wait := pause
		var tooMany *tg.TooManyRequestsError
		if errors.As(err, &tooMany) && tooMany.RetryAfter > 0 {
			wait = time.Duration(tooMany.RetryAfter) * time.Second
		}
		a.log.WarnContext(ctx, "Bot API call failed at startup; trying again", "method", method, "in", wait, "err", err)
		if err := a.sleep(ctx, wait); err != nil {
			return err
		}
		pause = min(2*pause, 30*time.Second)
	}
}

func (a *Adapter) run(ctx context.Context) error {
	if a.username() == "" {
		err := a.startup(ctx, "getMe", func(ctx context.Context) error {
			me, err := a.b.GetMe(ctx)
			if err == nil {
				a.user.Store(&me.Username)
			}
			return err
		})
		if err != nil {
			return err
		}
	}
	if a.opts.Inbox != nil {
		if err := a.replayHeld(ctx); err != nil {
			return err
		}
	}
	err := a.startup(ctx, "setMyCommands", func(ctx context.Context) error {
		// The default list in English, then one per other language of
		// bot.Languages for users whose language_code is that language
		// (core.telegram.org/bots/api#setmycommands, language_code).
		if _, err := a.b.SetMyCommands(ctx, &tg.SetMyCommandsParams{Commands: a.botCommands("")}); err != nil {
			return err
		}
		for _, l := range bot.Languages {
			if l.Tag == "en" {
				continue
			}
			if _, err := a.b.SetMyCommands(ctx, &tg.SetMyCommandsParams{Commands: a.botCommands(l.Tag), LanguageCode: l.Tag}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if a.opts.WebhookURL == "" {
		return a.poll(ctx)
	}
	return a.serveWebhook(ctx)
}

// close makes receive refuse new updates.
func (a *Adapter) close() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
}

func (a *Adapter) poll(ctx context.Context) error {
	err := a.startup(ctx, "deleteWebhook", func(ctx context.Context) error {
		_, err := a.b.DeleteWebhook(ctx, &tg.DeleteWebhookParams{})
		return err
	})
	if err != nil {
		return err
	}
	if a.opts.Ready != nil {
		a.opts.Ready()
	}
	a.log.InfoContext(ctx, "receiving updates by long polling")
	a.b.Start(ctx)
	return nil
}

func (a *Adapter) serveWebhook(ctx context.Context) error {
	ln := a.listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", a.opts.Listen); err != nil {
			return fmt.Errorf("telegram: webhook listen: %w", err)
		}
	}
	srv := &http.Server{Handler: a.WebhookHandler(), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	err := a.startup(ctx, "setWebhook", func(ctx context.Context) error {
		_, err := a.b.SetWebhook(ctx, &tg.SetWebhookParams{URL: a.opts.WebhookURL, SecretToken: a.opts.WebhookSecret, AllowedUpdates: allowedUpdates})
		return err
	})
	if err != nil {
		srv.Close()
		return err
	}
	if a.opts.Ready != nil {
		a.opts.Ready()
	}
	a.log.InfoContext(ctx, "receiving updates by webhook", "listen", ln.Addr().String())
	select {
	case <-ctx.Done():
	case err := <-served:
		return fmt.Errorf("telegram: webhook server: %w", err)
	}
	a.close()
	// Shutdown waits for the requests in flight, which wait for their turns.
	_ = srv.Shutdown(context.WithoutCancel(ctx))
	return nil
}

// WebhookHandler returns the webhook endpoint (Bot API "Getting updates",
// setWebhook). A request must be a POST whose SecretHeader equals
// Options.WebhookSecret (compared in constant time); otherwise it gets 401
// (405 for other methods) and changes nothing. The JSON body (at most
// 1 MiB) is one Update; a malformed one gets 400.
//
// With Options.Inbox the update is held there (on disk) as a long-polled
// one is, and the handler answers 200 at once; the turn runs after, and
// the update is released when it ended. For a button press that 200
// carries the press's answer, {"method":"answerCallbackQuery",...} as
// application/json (Bot API "Making requests when getting updates";
// webhookreply.go), unless Options.NoWebhookReply. A kill in between loses nothing:
// Run replays the held update at the next start, and the engine's record
// of processed updates drops it if its turn had run. A redelivery of an
// update held or handled by this process gets 200 and runs nothing; a
// failed hold gets 500 (Telegram redelivers). Without an Inbox the
// handler answers after the update's turn: 200 when it was handled,
// ignored or is a redelivery of one already handled, 500 when the engine
// failed. Both answer 503 once Run has stopped. It can be mounted on any
// mux; without Run, set Options.BotUsername.
func (a *Adapter) WebhookHandler() http.Handler {
	want := sha256.Sum256([]byte(a.opts.WebhookSecret))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		got := sha256.Sum256([]byte(r.Header.Get(SecretHeader)))
		if a.opts.WebhookSecret == "" || subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
		var u models.Update
		if err == nil {
			err = json.Unmarshal(body, &u)
		}
		if err != nil {
			http.Error(w, "malformed update", http.StatusBadRequest)
			return
		}
		if a.opts.Inbox != nil {
			a.receiveHeld(w, r, &u, body)
			return
		}
		done, ok := a.receive(&u, false)
		if !ok {
			http.Error(w, "shutting down", http.StatusServiceUnavailable)
			return
		}
		select {
		case err := <-done:
			if err != nil {
				http.Error(w, "update not processed", http.StatusInternalServerError)
				return
			}
			w.WriteHeader(http.StatusOK)
		case <-r.Context().Done():
		}
	})
}

// clientError logs an error of go-telegram/bot's polling loop. The
// library's text for an update it cannot decode (since v1.27 it skips the
// update and moves the offset past it) quotes the whole update, which may
// be a typed password: only the decoding error is logged.
func (a *Adapter) clientError(err error) {
	if strings.HasPrefix(err.Error(), "error decode update") {
		reason := "unknown"
		if inner := errors.Unwrap(err); inner != nil {
			reason = inner.Error()
		}
		a.log.Warn("Bot API update could not be decoded; skipped", "reason", reason)
		return
	}
	a.log.Warn("Bot API client", "err", err)
}

// receiveHeld holds the webhook update u (its JSON body raw) in the inbox,
// answers 200 and queues its turn; see WebhookHandler.
func (a *Adapter) receiveHeld(w http.ResponseWriter, r *http.Request, u *models.Update, raw []byte) {
	if a.recent.has(u.ID) || a.inflight.has(u.ID) {
		w.WriteHeader(http.StatusOK) // a redelivery: its turn runs or ran
		return
	}
	a.mu.Lock()
	closed := a.closed
	a.mu.Unlock()
	if closed {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if err := a.opts.Inbox.Hold(r.Context(), Channel, []bot.Inbound{{ID: u.ID, Raw: raw}}); err != nil {
		a.log.Error("could not hold a webhook update; Telegram will redeliver it", "update", u.ID, "err", err)
		http.Error(w, "update not held", http.StatusInternalServerError)
		return
	}
	_, cb, ok := a.enqueue(u, true, true)
	if !ok {
		// Held: the next start runs it.
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	if cb != nil {
		a.answerInResponse(w, cb)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// onUpdate is go-telegram/bot's handler for every polled update.
func (a *Adapter) onUpdate(_ context.Context, _ *tg.Bot, u *models.Update) {
	defer func() {
		if p := recover(); p != nil {
			a.log.Error("panic while reading an update; recovered", "update", u.ID, "panic", p, "stack", string(debug.Stack()))
		}
	}()
	a.receive(u, a.opts.Inbox != nil)
}

// receive queues u behind the earlier updates of its chat and returns a
// channel that gets the result of its turn; ok is false once Run stopped.
// A redelivered update (same update_id, seen by this process) or one the
// adapter ignores completes at once; the engine drops duplicates that
// survive a restart. A held update (in Options.Inbox) is released when its
// turn has ended, done or failed (the engine then told the user to try
// again), or it was ignored: only a crash leaves it held, for the replay.
func (a *Adapter) receive(u *models.Update, held bool) (<-chan error, bool) {
	done, _, ok := a.enqueue(u, held, false)
	return done, ok
}

// enqueue is receive; with inline, a callback query's answer is not
// sent but left in cb.reply for the webhook's response (a webhook that
// answers once the update is held, webhookreply.go), and cb is returned:
// the caller must then write the answer and close cb.answered (see
// Adapter.answerInResponse). cb is nil when there is no such answer
// (not a callback query, a redelivery) or ok is false.
func (a *Adapter) enqueue(u *models.Update, held, inline bool) (_ <-chan error, cb *callback, ok bool) {
	done := make(chan error, 1)
	w, handle := a.route(u)
	if held && !a.inflight.add(u.ID) {
		// The same update is queued already (a webhook redelivery, or a
		// replay of one being handled): that turn runs and releases it.
		a.finish(u.ID)
		done <- nil
		return done, nil, true
	}
	redelivered := a.recent.has(u.ID)
	if w.cb != nil && !redelivered {
		if !a.answerOnReceipt(w, inline) {
			if held {
				a.inflight.remove(u.ID)
			}
			return nil, nil, false
		}
		if w.cb.reply != nil {
			cb = w.cb
		}
	}
	if !handle || redelivered {
		// A callback query is always handled (routeCallback): cb is nil.
		if held {
			a.release(u.ID)
			a.inflight.remove(u.ID)
		}
		a.finish(u.ID)
		done <- nil
		return done, nil, true
	}
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		if held {
			a.inflight.remove(u.ID)
		}
		if cb != nil {
			close(cb.answered) // no turn waits; the replay answers it
		}
		return nil, nil, false
	}
	a.wg.Add(1)
	a.mu.Unlock()
	a.queue.do(w.conv.ID, func() {
		defer a.wg.Done()
		err := a.process(w)
		if err == nil {
			a.recent.add(u.ID)
		} else {
			a.log.Error("update not processed", "update", u.ID, "err", err)
		}
		if held {
			// Its turn ended: done, or failed after the engine told the
			// user to try again. Trying it again here could repeat what
			// the turn did before failing (a wrong password counted
			// twice), and replaying it at a later start, after newer
			// updates of the chat, would answer an old step.
			a.release(u.ID)
			a.inflight.remove(u.ID)
		}
		a.finish(u.ID)
		done <- err
	})
	return done, cb, true
}

func (a *Adapter) finish(id int64) {
	if a.onDone != nil {
		a.onDone(id)
	}
}

// process runs one update's turn. A panic is logged and the update
// counts as handled, so that a redelivery does not crash it again.
func (a *Adapter) process(w work) (err error) {
	ctx := context.Background()
	if w.cb != nil {
		// The query was answered on receipt; the turn's calls come after
		// that answer.
		<-w.cb.answered
		ctx = context.WithValue(ctx, callbackKey{}, w.cb)
	}
	defer func() {
		if p := recover(); p != nil {
			a.log.ErrorContext(ctx, "panic while handling an update; recovered", "conversation", w.conv.String(), "panic", p, "stack", string(debug.Stack()))
			err = nil
		}
	}()
	switch {
	case w.ev != nil:
		return a.eng.Handle(ctx, *w.ev)
	case w.link:
		r := bot.Reply{Op: bot.OpSend, ID: "telegram.private_only",
			Text: a.eng.Catalog().Text(w.locale, "telegram.private_only", map[string]any{"Link": "https://t.me/" + a.username()})}
		if _, err := a.Deliver(ctx, w.conv, r); err != nil {
			a.log.WarnContext(ctx, "deliver failed", "conversation", w.conv.String(), "reply", r, "err", err)
		}
	}
	return nil
}

func (a *Adapter) username() string { return *a.user.Load() }

// botCommands are the engine's commands with their descriptions in
// locale ("" for the default, English; setMyCommands'
// BotCommand.description): a flow's start command is
// described by its descriptor (bot.Command.Description), the engine's
// other start commands (/start) by the default flow's title
// (bot.Descriptor.Title), the rest (/cancel, /help, and whatever a flow
// leaves undescribed) by this adapter's "telegram.command.<name>".
func (a *Adapter) botCommands(locale string) []models.BotCommand {
	cmds := a.commands
	cat := a.eng.Catalog()
	def := a.eng.Flows()[0]
	out := make([]models.BotCommand, len(cmds))
	for i, c := range cmds {
		id := "telegram.command." + c
		_, fc, own := a.eng.CommandFlow(c)
		switch {
		case own && fc.Description != "" && cat.Has(fc.Description):
			id = fc.Description
		case !own && a.eng.IsStartCommand(c) && def.Title != "" && cat.Has(def.Title):
			id = def.Title
		case !cat.Has(id):
			id = "telegram.command.start"
		}
		out[i] = models.BotCommand{Command: c, Description: cat.Text(locale, id, nil)}
	}
	return out
}

// serial runs the functions given for one key one after the other, in the
// order given, each key in its own goroutine.
type serial struct {
	mu sync.Mutex
	m  map[string][]func()
}

func (s *serial) do(key string, f func()) {
	s.mu.Lock()
	q, running := s.m[key]
	if s.m == nil {
		s.m = map[string][]func(){}
	}
	s.m[key] = append(q, f)
	s.mu.Unlock()
	if !running {
		go s.run(key)
	}
}

// busy reports whether a function for key is queued or running.
func (s *serial) busy(key string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.m[key]
	return ok
}

func (s *serial) run(key string) {
	for {
		s.mu.Lock()
		q := s.m[key]
		if len(q) == 0 {
			delete(s.m, key)
			s.mu.Unlock()
			return
		}
		f := q[0]
		s.m[key] = q[1:]
		s.mu.Unlock()
		f()
	}
}

// idSet is a set of update ids, safe for concurrent use.
type idSet struct {
	mu  sync.Mutex
	ids map[int64]bool
}

// add adds id and reports whether it was not in the set yet.
func (s *idSet) add(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids[id] {
		return false
	}
	if s.ids == nil {
		s.ids = map[int64]bool{}
	}
	s.ids[id] = true
	return true
}

func (s *idSet) remove(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.ids, id)
}

func (s *idSet) has(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}

// recentSet remembers the last recentMax handled update ids, so that a
// webhook redelivery is answered without queueing a turn.
type recentSet struct {
	mu   sync.Mutex
	ids  map[int64]bool
	ring [recentMax]int64
	next int
}

const recentMax = 4096

func (s *recentSet) has(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ids[id]
}

func (s *recentSet) add(id int64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ids == nil {
		s.ids = map[int64]bool{}
	}
	if s.ids[id] {
		return
	}
	if len(s.ids) == recentMax {
		delete(s.ids, s.ring[s.next])
	}
	s.ids[id] = true
	s.ring[s.next] = id
	s.next = (s.next + 1) % recentMax
}
