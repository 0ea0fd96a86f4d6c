// Package simcustomer is a simulated Telegram customer for guidedfix's
// crash test and load benchmark: a person who moves their Customer Portal
// account's two-factor authentication to an authenticator app by talking
// to the bot through the Telegram webhook, as Telegram delivers it, and
// who reacts only to what the bot shows in the chat (the fake Bot API's
// view of it): the newest prompt decides the next input. The SMS code is
// read from where the customer's SMS arrives (an SMSSource: the embedded
// core's file outbox, or an SMS gateway's endpoint), the TOTP code is
// computed from the QR code the bot sent.
//
// Like Telegram, the customer delivers each update until the webhook
// answers 200, retrying the same update_id after a connection error or a
// 5xx (a restarted server must recognise it). When the chat shows nothing
// new for a while after an input, it types the input again as a new
// message, as a person would.
package simcustomer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/internal/qr/qrdecode"
)

// Customer is one simulated customer. Fill the fields, then call Run once.
type Customer struct {
	// Fake is the fake Bot API the server talks to (required).
	Fake *fakebotapi.Server
	// Webhook is the server's webhook endpoint as the TLS terminator
	// would forward to it, e.g. http://127.0.0.1:8443/telegram. Empty: the
	// server long-polls, and each update is queued in Fake for getUpdates
	// and counts as delivered once a getUpdates call has confirmed it.
	Webhook string
	// Secret is the webhook's secret token.
	Secret string
	// Client posts the updates; nil means http.DefaultClient.
	Client *http.Client
	// User is the customer's Telegram user; the chat is its private chat.
	User fakebotapi.User
	// Email, Password and Phone are the portal account's (required).
	Email, Password, Phone string
	// SMS is the phone: where the account's SMS arrive, e.g. an
	// *SMSInbox on the embedded core's file outbox (required).
	SMS SMSSource
	// Stall is how long the chat may show nothing new after an input
	// before the customer types it again; default 5 s.
	Stall time.Duration
	// Timeout bounds the whole flow; default 2 minutes.
	Timeout time.Duration
	// BeforePost, if set, is called before each delivery attempt of an
	// update (attempt 1, 2, … for the same update).
	BeforePost func(u fakebotapi.Update, attempt int)
	// BeforeInput, if set, is called before the customer answers a prompt
	// ("email", "password", "sms", "totp", "press"); a benchmark holds
	// customers there to make a burst.
	BeforeInput func(kind string)
	// LastAccepted, if set, returns when the fake Bot API last accepted a
	// call for a chat; a turn's latency is then measured from the start of
	// its webhook request to the last reply accepted before the customer
	// saw the turn's outcome (the next prompt). Without it, the time until
	// the customer saw it is measured.
	LastAccepted func(chat int64) time.Time
	// Log, if set, receives one line per step (debugging).
	Log func(format string, args ...any)

	secret string
	// floor is the id of the newest message acted on: an input counts as
	// delivered before its turn ends (long polling, and a webhook that answers once the update is held), so the chat may
	// not show the turn's replies yet, and an older prompt must not be
	// answered again; floorText is that message's text and caption. A
	// newer message with the same text is the prompt sent once more after
	// a crash (the window bot/outbox.go documents): already answered.
	floor     int
	floorText string
	// posted is when the last accepted webhook update was posted, until
	// its turn's latency is recorded; zero when none is pending.
	posted time.Time
}

// turnSeen records the latency of the pending webhook update, if any, now
// that the customer sees its turn's outcome.
func (c *Customer) turnSeen(res *Result) {
	if c.posted.IsZero() {
		return
	}
	lat := time.Since(c.posted)
	if c.LastAccepted != nil {
		if at := c.LastAccepted(c.User.ID); at.After(c.posted) {
			lat = at.Sub(c.posted)
		}
	}
	res.Latencies = append(res.Latencies, lat)
	c.posted = time.Time{}
}

// Result is what a Run did.
type Result struct {
	// Turns is the number of updates the webhook accepted (200), or that
	// a getUpdates call confirmed (long polling).
	Turns int
	// Latencies holds each accepted update's turn latency.
	Latencies []time.Duration
	// Acks holds how long the webhook took to answer 200 to each
	// accepted update (webhook mode only).
	Acks []time.Duration
	// Redeliveries counts delivery attempts repeated after a failure
	// (connection refused or reset, 5xx).
	Redeliveries int
	// Repeats counts inputs typed again because the chat stalled.
	Repeats int
	// TOTPSecret is the secret read from the QR code (for leak checks).
	TOTPSecret string
}

// ErrFlowEnded is returned by Run when the bot ended the flow without
// success (cancelled, expired, locked, failed).
var ErrFlowEnded = errors.New("simcustomer: the flow ended without success")

// action is what the customer does next.
type action struct {
	kind   string // "email", "password", "sms", "totp", "press", "done", "failed"
	button string // for "press": the action name
	msg    int    // the message it answers
}

// Run goes through the whole flow: /start, e-mail, password, SMS code,
// "Disable 2FA", "Setup Two-Factor Authentication", "Authenticator App",
// the TOTP code from the QR code, "Okay". It returns when the bot says
// the change is done, or an error.
func (c *Customer) Run(ctx context.Context) (res Result, err error) {
	defer func() { res.TOTPSecret = c.secret }()
	if c.Stall <= 0 {
		c.Stall = 5 * time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	chat := fakebotapi.PrivateChat(c.User)
	last := action{}
	var lastInput func() fakebotapi.Update
	acted := time.Now()
	send := func(mk func() fakebotapi.Update) error {
		lastInput, acted = mk, time.Now()
		return c.deliver(ctx, mk, &res)
	}
	if err := send(func() fakebotapi.Update { return c.Fake.Text(chat, c.User, "/start") }); err != nil {
		return res, err
	}
	for {
		if err := ctx.Err(); err != nil {
			return res, fmt.Errorf("simcustomer %s: %w (last action %+v; chat %s)", c.Email, err, last, c.transcript())
		}
		a := c.decide()
		if a.kind != "" && a != last {
			c.turnSeen(&res)
		}
		switch {
		case a.kind == "done":
			return res, nil
		case a.kind == "failed":
			return res, fmt.Errorf("%w: %s", ErrFlowEnded, c.transcript())
		case a.kind == "" || a == last:
			// Nothing new yet: wait, and after a stall type the input again.
			if lastInput != nil && time.Since(acted) > c.Stall {
				res.Repeats++
				c.logf("stalled on %+v; repeating the input", last)
				if err := send(lastInput); err != nil {
					return res, err
				}
				continue
			}
			sleep(ctx, 10*time.Millisecond)
			continue
		}
		c.logf("act %+v", a)
		mk, err := c.input(ctx, chat, a)
		if err != nil {
			return res, err
		}
		if mk == nil {
			sleep(ctx, 10*time.Millisecond)
			continue
		}
		last = a
		if a.msg > c.floor {
			c.floor = a.msg
			for _, m := range c.botMessages() {
				if m.ID == a.msg {
					c.floorText = m.Text + m.Caption
				}
			}
		}
		if c.BeforeInput != nil {
			c.BeforeInput(a.kind)
		}
		if err := send(mk); err != nil {
			return res, err
		}
	}
}

// input returns the update maker for action a (nil: not possible yet).
func (c *Customer) input(ctx context.Context, chat fakebotapi.Chat, a action) (func() fakebotapi.Update, error) {
	text := func(s string) func() fakebotapi.Update {
		return func() fakebotapi.Update { return c.Fake.Text(chat, c.User, s) }
	}
	switch a.kind {
	case "email":
		return text(c.Email), nil
	case "password":
		return text(c.Password), nil
	case "sms":
		code, ok := c.SMS.Latest(c.Phone)
		if !ok {
			return nil, nil
		}
		return text(code), nil
	case "totp":
		key, err := c.key()
		if err != nil || key == nil {
			return nil, err
		}
		code, err := totp.GenerateCodeCustom(key.Secret(), time.Now(), totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return nil, err
		}
		return text(code), nil
	case "totp_next":
		// The code of this time step was used: wait for the next one.
		next := time.Now().Truncate(30 * time.Second).Add(30*time.Second + 500*time.Millisecond)
		sleep(ctx, time.Until(next))
		return c.input(ctx, chat, action{kind: "totp"})
	case "press":
		data := c.buttonData(a.msg, a.button)
		if data == "" {
			return nil, nil
		}
		msg := a.msg
		return func() fakebotapi.Update { return c.Fake.Callback(chat, c.User, msg, data) }, nil
	}
	return nil, fmt.Errorf("simcustomer: unknown action %q", a.kind)
}

// injectMu makes building an update (its update_id) and queueing it for
// getUpdates one step for all customers of the process, so that updates
// are queued in update_id order as Telegram queues them: otherwise a
// getUpdates answer could confirm a higher id before a lower one was
// queued, and the lower one would never be delivered.
var injectMu sync.Mutex

// deliver posts the update mk builds to the webhook until it answers
// 200, or, without a webhook, queues it for getUpdates and waits until it
// is confirmed.
func (c *Customer) deliver(ctx context.Context, mk func() fakebotapi.Update, res *Result) error {
	if c.Webhook == "" {
		injectMu.Lock()
		u := mk()
		if c.BeforePost != nil {
			c.BeforePost(u, 1)
		}
		start := time.Now()
		c.Fake.Inject(u)
		injectMu.Unlock()
		for c.Fake.Confirmed() <= u.ID {
			if err := ctx.Err(); err != nil {
				return fmt.Errorf("simcustomer: update %d not confirmed by getUpdates: %w", u.ID, err)
			}
			sleep(ctx, 2*time.Millisecond)
		}
		res.Turns++
		// As with the webhook, the latency runs from the queueing to the
		// turn's last reply (turnSeen), not to the confirmation.
		if c.posted.IsZero() {
			c.posted = start
		}
		return nil
	}
	u := mk()
	client := c.Client
	if client == nil {
		client = http.DefaultClient
	}
	body, err := json.Marshal(u)
	if err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		if c.BeforePost != nil {
			c.BeforePost(u, attempt)
		}
		start := time.Now()
		// The fake performs the request a webhook answer may carry
		// (answerCallbackQuery), as Telegram does.
		status, err := c.Fake.PostBody(ctx, client, c.Webhook, c.Secret, body)
		switch {
		case err == nil && status == http.StatusOK:
			res.Turns++
			res.Acks = append(res.Acks, time.Since(start))
			// An input typed again before its first turn showed: the
			// latency counts from the first.
			if c.posted.IsZero() {
				c.posted = start
			}
			return nil
		case err == nil && status < 500:
			return fmt.Errorf("simcustomer: webhook answered %d to update %d", status, u.ID)
		case ctx.Err() != nil:
			return fmt.Errorf("simcustomer: delivering update %d: %w", u.ID, ctx.Err())
		}
		res.Redeliveries++
		c.logf("update %d: attempt %d failed (status %d, %v); retrying", u.ID, attempt, status, err)
		sleep(ctx, 20*time.Millisecond)
	}
}

// botMessages returns the bot's messages that exist in the chat, oldest
// first.
func (c *Customer) botMessages() []fakebotapi.Message {
	var out []fakebotapi.Message
	for _, m := range c.Fake.Messages(c.User.ID) {
		if m.From != nil && m.From.IsBot {
			out = append(out, m)
		}
	}
	return out
}

// Prompts of the flow, recognised by a stable part of their English text
// (flows/totpswitch/locales/en.yaml).
var prompts = []struct{ text, kind string }{
	{"All done!", "done"},
	{"Which e-mail address", "email"},
	{"does not look like an e-mail address", "email"},
	{"type your account password", "password"},
	{"confirm your password again", "password"},
	{"e-mail address or password is not right", "password"},
	{"sent a 6-digit code by SMS", "sms"},
	{"That code is not right", "sms"},
	{"When the app shows a 6-digit code", "totp"},
	{"That code does not match", "totp"},
	{"A code has exactly 6 digits", "code"}, // SMS or app: see decide
	{"That code was already used", "totp_next"},
	{"Cancelled.", "failed"},
	{"expired after a period without activity", "failed"},
	{"temporarily locked", "failed"},
	{"Too many wrong answers", "failed"},
	{"expired before it was verified", "failed"},
	{"already uses an authenticator app", "failed"},
}

// buttons the customer presses, in the order of the flow; "_continue"
// answers the engine's start-again question, which a repeated /start
// (after a stall) gets once the conversation has begun.
var presses = []string{"okay", "app", "setup", "disable", "_continue"}

// decide reads the chat and returns the next action for its newest
// actionable message.
func (c *Customer) decide() action {
	msgs := c.botMessages()
	for i := len(msgs) - 1; i >= 0; i-- {
		m := msgs[i]
		if m.ID < c.floor {
			break
		}
		text := m.Text + m.Caption
		if m.ID > c.floor && c.floor > 0 && text == c.floorText {
			continue
		}
		for _, p := range prompts {
			if !strings.Contains(text, p.text) {
				continue
			}
			kind := p.kind
			if kind == "code" {
				// The app's code once the QR code was shown, else the SMS.
				kind = "sms"
				for _, o := range msgs[:i] {
					if len(o.Photo) > 0 {
						kind = "totp"
					}
				}
			}
			return action{kind: kind, msg: m.ID}
		}
		if strings.Contains(text, "Tap \"Send a new code\"") {
			return action{kind: "press", button: "resend", msg: m.ID}
		}
		for _, b := range presses {
			if buttonOf(m, b) != "" {
				return action{kind: "press", button: b, msg: m.ID}
			}
		}
	}
	return action{}
}

// buttonOf returns the callback data of m's button for action, or "".
func buttonOf(m fakebotapi.Message, act string) string {
	var kb struct {
		InlineKeyboard [][]struct {
			CallbackData string `json:"callback_data"`
		} `json:"inline_keyboard"`
	}
	_ = json.Unmarshal(m.ReplyMarkup, &kb)
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if strings.HasPrefix(b.CallbackData, act+"|") {
				return b.CallbackData
			}
		}
	}
	return ""
}

func (c *Customer) buttonData(msg int, act string) string {
	for _, m := range c.botMessages() {
		if m.ID == msg {
			return buttonOf(m, act)
		}
	}
	return ""
}

// key decodes the newest QR code in the chat (nil when there is none).
func (c *Customer) key() (*otp.Key, error) {
	msgs := c.botMessages()
	for i := len(msgs) - 1; i >= 0; i-- {
		if len(msgs[i].Photo) == 0 {
			continue
		}
		png, ok := c.Fake.FileData(msgs[i].Photo[0].FileID)
		if !ok {
			return nil, fmt.Errorf("simcustomer: photo %s not stored", msgs[i].Photo[0].FileID)
		}
		uri, err := qrdecode.Decode(png)
		if err != nil {
			return nil, fmt.Errorf("simcustomer: QR code: %w", err)
		}
		k, err := otp.NewKeyFromURL(uri)
		if err == nil {
			c.secret = k.Secret()
		}
		return k, err
	}
	return nil, nil
}

// transcript is the chat as the customer sees it, for error messages.
func (c *Customer) transcript() string {
	var b strings.Builder
	for _, m := range c.Fake.Messages(c.User.ID) {
		who := "user"
		if m.From != nil && m.From.IsBot {
			who = "bot"
		}
		text := m.Text
		if len(m.Photo) > 0 {
			text = "[photo] " + m.Caption
		}
		if len(text) > 70 {
			text = text[:70] + "…"
		}
		fmt.Fprintf(&b, "\n  %d %s: %s", m.ID, who, text)
	}
	return b.String()
}

func (c *Customer) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log("%s: "+format, append([]any{c.Email}, args...)...)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// SMSSource is where a customer's SMS arrives: the file phone
// (SMSInbox) or an SMS gateway's receiving endpoint (cmd/loadgen).
type SMSSource interface {
	// Latest returns the 6-digit code of the newest SMS that reached
	// phone (E.164), and false while none has.
	Latest(phone string) (code string, ok bool)
}

// SMSCode returns the 6-digit code of an SMS text as the embedded core
// words it ("…: your verification code is 123456. …"), and false when the
// text holds none.
func SMSCode(text string) (string, bool) {
	m := codeRe.FindStringSubmatch(text)
	if m == nil {
		return "", false
	}
	return m[1], true
}

// SMSInbox reads the SMS the embedded core wrote to its outbox directory
// (embedded.FileSMS: one file per SMS, "To: <phone>\n\n<text>\n", named
// by UTC time so that names sort in sending order). It is safe for
// concurrent use and reads each file once.
type SMSInbox struct {
	// Dir is DATA/outbox/sms.
	Dir string

	mu     sync.Mutex
	read   map[string]bool
	latest map[string]string // phone -> code of its newest SMS
	name   map[string]string // phone -> file name of its newest SMS
}

var codeRe = regexp.MustCompile(`code is ([0-9]{6})`)

// Latest implements SMSSource: the code of the newest SMS file written
// for phone.
func (in *SMSInbox) Latest(phone string) (string, bool) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.read == nil {
		in.read, in.latest, in.name = map[string]bool{}, map[string]string{}, map[string]string{}
	}
	entries, _ := os.ReadDir(in.Dir)
	for _, e := range entries {
		n := e.Name()
		if in.read[n] || strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".txt") {
			continue
		}
		raw, err := os.ReadFile(filepath.Join(in.Dir, n))
		if err != nil {
			continue
		}
		in.read[n] = true
		to, rest, _ := strings.Cut(string(raw), "\n")
		to = strings.TrimSpace(strings.TrimPrefix(to, "To:"))
		code, ok := SMSCode(rest)
		if !ok {
			continue
		}
		if n > in.name[to] {
			in.name[to], in.latest[to] = n, code
		}
	}
	code, ok := in.latest[phone]
	return code, ok
}
