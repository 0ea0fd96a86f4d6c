package telegram

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"guidedfix/bot"
)

const (
	// maxText and maxCaption are the Bot API limits of sendMessage text
	// and sendPhoto caption, in UTF-16 code units.
	maxText    = 4096
	maxCaption = 1024
	// maxAnswer is the limit of an answerCallbackQuery text.
	maxAnswer = 200
	// maxRetryWait bounds how long one Bot API call is tried again
	// (429 and transient failures): flow.max_duration's default, the
	// longest a conversation lives.
	maxRetryWait = 20 * time.Minute
	// callTimeout bounds one attempt.
	callTimeout = 30 * time.Second
	// staleID is the engine's reply to a button from an earlier step; on
	// a callback query it becomes the query's answer instead of a message.
	staleID = "engine.stale_button"
)

// keyboard returns the reply_markup for buttons, one per row, or nil.
// Since go-telegram/bot v1.27 models.InlineKeyboardButton omits unset
// fields (before, it always sent "copy_text":{"text":""}, which Telegram
// rejects with BUTTON_COPY_TEXT_INVALID); TestKeyboardJSON pins the wire
// form.
func keyboard(buttons []bot.Button) models.ReplyMarkup {
	if len(buttons) == 0 {
		return nil
	}
	kb := models.InlineKeyboardMarkup{InlineKeyboard: make([][]models.InlineKeyboardButton, len(buttons))}
	for i, b := range buttons {
		kb.InlineKeyboard[i] = []models.InlineKeyboardButton{{Text: b.Label, CallbackData: b.Data}}
	}
	return kb
}

// Deliver performs r in the chat to.ID (a Telegram chat id):
//
//   - OpSend: sendMessage with the plain text (no parse_mode), split into
//     parts of at most 4096 UTF-16 code units, the inline keyboard on the
//     last part; or, with r.Image, sendPhoto uploading the PNG as "qr.png"
//     with r.Text as caption (shortened to 1024). protect_content follows
//     r.Protected; the r.Code parts are "code" entities (monospace,
//     copied with a tap), and a sensitive reply's first code also gets a
//     copy_text button (protect_content keeps its text from being
//     selected; see copyMarkup). It returns the message id, or the ids of the parts
//     joined by ",". A r.Link becomes the keyboard's first row, a web_app
//     (Mini App) or url button, with link previews off (link.go).
//   - OpEdit: editMessageText of r.MessageID (its last part) with the text
//     (shortened to 4096) and keyboard; "message is not modified" is no
//     error. It returns "".
//   - OpDelete: deleteMessage of the id in r.MessageID; several ids of
//     the bot's own messages (r.Ref set) go out as deleteMessages, up to
//     100 a call. It returns "".
//
// Every call (sends, edits, keyboard removals, deletes) respects
// Options.PerChatInterval and GlobalPerSecond. A 429 is waited out (its
// retry_after) and tried again, as are network errors and 5xx answers,
// for up to 20 minutes (see call). A 403 (the user blocked the bot)
// returns bot.ErrBlocked at once.
// A delete of a message that is not found, or of a bot message that can't
// be deleted, and an edit of a message that is not found return
// bot.ErrMessageGone; a user's message that can't be deleted returns a
// plain error, so the engine asks the user to delete it.
//
// Every callback query was answered on receipt (answerOnReceipt). Within
// its turn (recognised by ctx: the engine hands the context of
// Engine.Handle to Deliver), a first reply that is a text send replaces
// the pressed text message (editMessageText; it returns the pressed
// message's id), any other first reply first removes the pressed
// message's inline keyboard; an "engine.stale_button" reply that the
// answer already carried is not sent again (see settle). A to.ID that is not a number is an error.
func (a *Adapter) Deliver(ctx context.Context, to bot.Conversation, r bot.Reply) (string, error) {
	chat, err := strconv.ParseInt(to.ID, 10, 64)
	if err != nil {
		return "", fmt.Errorf("telegram: chat id %q: %w", to.ID, err)
	}
	if cb, ok := ctx.Value(callbackKey{}).(*callback); ok {
		if id, done := a.settle(ctx, chat, cb, r); done {
			return id, nil
		}
	}
	switch r.Op {
	case bot.OpDelete:
		return "", a.delete(ctx, chat, r)
	case bot.OpEdit:
		return "", a.edit(ctx, chat, r)
	case bot.OpSend, "":
		return a.send(ctx, chat, r)
	}
	return "", fmt.Errorf("telegram: unknown reply op %q", r.Op)
}

func (a *Adapter) send(ctx context.Context, chat int64, r bot.Reply) (string, error) {
	markup := replyMarkup(r)
	if kb := a.copyMarkup(ctx, conversation(chat), r); kb != nil {
		markup = kb
	}
	if len(r.Image) > 0 {
		var m *models.Message
		err := a.call(ctx, chat, func(ctx context.Context) (err error) {
			caption := shorten(r.Text, maxCaption)
			p := &tg.SendPhotoParams{ChatID: chat, Caption: caption, CaptionEntities: codeEntities(caption, r.Code), ProtectContent: r.Protected,
				Photo: &models.InputFileUpload{Filename: "qr.png", Data: bytes.NewReader(r.Image)}}
			if markup != nil {
				p.ReplyMarkup = markup
			}
			m, err = a.b.SendPhoto(ctx, p)
			return err
		})
		if err != nil {
			return "", err
		}
		return strconv.Itoa(m.ID), nil
	}
	parts := split(r.Text, maxText)
	ids := make([]string, 0, len(parts))
	for i, part := range parts {
		p := &tg.SendMessageParams{ChatID: chat, Text: part, Entities: codeEntities(part, r.Code), ProtectContent: r.Protected, LinkPreviewOptions: noPreview}
		if i == len(parts)-1 && markup != nil {
			p.ReplyMarkup = markup
		}
		var m *models.Message
		err := a.call(ctx, chat, func(ctx context.Context) (err error) {
			m, err = a.api.SendMessage(ctx, p)
			return err
		})
		if err != nil {
			return strings.Join(ids, ","), err
		}
		ids = append(ids, strconv.Itoa(m.ID))
	}
	return strings.Join(ids, ","), nil
}

func (a *Adapter) edit(ctx context.Context, chat int64, r bot.Reply) error {
	ids := strings.Split(r.MessageID, ",")
	id, err := strconv.Atoi(ids[len(ids)-1])
	if err != nil {
		return fmt.Errorf("telegram: message id %q: %w", r.MessageID, err)
	}
	p := &tg.EditMessageTextParams{ChatID: chat, MessageID: id, Text: shorten(r.Text, maxText)}
	if markup := keyboard(r.Buttons); markup != nil {
		p.ReplyMarkup = markup
	}
	err = a.call(ctx, chat, func(ctx context.Context) error {
		_, err := a.api.EditMessageText(ctx, p)
		return err
	})
	switch {
	case apiError(err, "message is not modified"):
		return nil
	case apiError(err, "message to edit not found"):
		return fmt.Errorf("%w: %w", bot.ErrMessageGone, err)
	}
	return err
}

func (a *Adapter) delete(ctx context.Context, chat int64, r bot.Reply) error {
	var firstErr error
	gone := 0
	ids := strings.Split(r.MessageID, ",")
	nums := make([]int, len(ids))
	for i, s := range ids {
		id, err := strconv.Atoi(s)
		if err != nil {
			return fmt.Errorf("telegram: message id %q: %w", r.MessageID, err)
		}
		nums[i] = id
	}
	if len(nums) > 1 && r.Ref != "" {
		return a.deleteMany(ctx, chat, nums)
	}
	for _, id := range nums {
		err := a.callFree(ctx, chat, func(ctx context.Context) error {
			_, err := a.api.DeleteMessage(ctx, &tg.DeleteMessageParams{ChatID: chat, MessageID: id})
			return err
		})
		switch {
		case err == nil:
		case apiError(err, "message to delete not found"),
			// A bot message that can't be deleted any more is as good as
			// gone; a user's message that held a secret is not.
			apiError(err, "message can't be deleted") && r.Ref != "":
			gone++
		case firstErr == nil:
			firstErr = err
		}
	}
	if firstErr == nil && gone == len(ids) {
		return fmt.Errorf("telegram: %w", bot.ErrMessageGone)
	}
	return firstErr
}

// BatchDelete implements bot.BatchDeleter: a delete reply may carry up to
// 100 refs (their messages go out in deleteMessages calls of up to 100
// ids).
func (a *Adapter) BatchDelete() int { return 100 }

var _ bot.BatchDeleter = (*Adapter)(nil)

// deleteMany deletes the bot's messages ids with deleteMessages, up to
// 100 ids a call (Bot API 7.0). Telegram skips the ones it cannot find or
// delete; a call that deleted none ("message to delete not found")
// counts as gone. It returns bot.ErrMessageGone when every call found
// nothing, the first other error otherwise.
func (a *Adapter) deleteMany(ctx context.Context, chat int64, ids []int) error {
	var firstErr error
	calls, gone := 0, 0
	for chunk := range slices.Chunk(ids, 100) {
		calls++
		err := a.callFree(ctx, chat, func(ctx context.Context) error {
			_, err := a.api.DeleteMessages(ctx, &tg.DeleteMessagesParams{ChatID: chat, MessageIDs: chunk})
			return err
		})
		switch {
		case err == nil:
		case apiError(err, "message to delete not found"), apiError(err, "message can't be deleted"):
			gone++
		case firstErr == nil:
			firstErr = err
		}
	}
	if firstErr == nil && gone == calls {
		return fmt.Errorf("telegram: %w", bot.ErrMessageGone)
	}
	return firstErr
}

// apiError reports whether err is a Bot API 400 whose description
// contains text.
func apiError(err error, text string) bool {
	return errors.Is(err, tg.ErrorBadRequest) && strings.Contains(err.Error(), text)
}

// call runs one Bot API request for chat (0: not a chat's) through the
// rate limits: every call of a chat counts against its per-chat limit and
// every call against the global one (Options.PerChatInterval,
// GlobalPerSecond), except those made with callFree (answerCallbackQuery,
// deletions: limits.go says why). A 429 is waited out
// (its retry_after, at least 1 s; the chat's next calls wait as long)
// and tried again; network errors and 5xx answers are tried again with
// backoff from 0.5 s doubling to 30 s. Attempts go on until ctx ends or
// maxRetryWait has passed since the first: a conversation lives no
// longer. The replies of a chat are delivered one after the other, so
// a waiting call keeps them in order. Only a permanent answer ends the
// attempts early: 403 becomes bot.ErrBlocked, other 4xx are returned.
func (a *Adapter) call(ctx context.Context, chat int64, fn func(context.Context) error) error {
	backoff := 500 * time.Millisecond
	start := a.now()
	for attempt := 1; ; attempt++ {
		d := a.delayFor(ctx, chat)
		if a.opts.RateWait != nil {
			a.opts.RateWait(d)
		}
		if err := a.sleep(ctx, d); err != nil {
			return err
		}
		cctx, cancel := context.WithTimeout(ctx, callTimeout)
		err := fn(cctx)
		cancel()
		if err == nil {
			return nil
		}
		var tooMany *tg.TooManyRequestsError
		wait := backoff
		switch {
		case errors.As(err, &tooMany):
			wait = time.Duration(max(tooMany.RetryAfter, 1)) * time.Second
			a.limiter.hold(a.now().Add(wait), chat)
		case errors.Is(err, tg.ErrorForbidden):
			return fmt.Errorf("telegram: %w: %w", bot.ErrBlocked, err)
		case !transient(ctx, err):
			return fmt.Errorf("telegram: %w", err)
		default:
			backoff = min(2*backoff, 30*time.Second)
		}
		if a.now().Add(wait).Sub(start) > maxRetryWait {
			return fmt.Errorf("telegram: %d attempts in %s: %w", attempt, maxRetryWait, err)
		}
		a.log.InfoContext(ctx, "Bot API call failed; retrying", "attempt", attempt, "wait", wait, "err", err)
		if err := a.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// transient reports whether err is worth retrying: not a Bot API 4xx
// answer, and ctx is still live.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var migrate *tg.MigrateError
	for _, permanent := range []error{tg.ErrorBadRequest, tg.ErrorUnauthorized, tg.ErrorForbidden, tg.ErrorNotFound, tg.ErrorConflict} {
		if errors.Is(err, permanent) {
			return false
		}
	}
	return !errors.As(err, &migrate)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// callback is the callback query of an update.
type callback struct {
	id      string
	conv    bot.Conversation
	pressed int // message whose keyboard was used; 0 if unknown
	// pressedText says the pressed message is a text message (not a
	// photo with a caption), which editMessageText can change.
	pressedText bool

	// answered is closed once answerCallbackQuery returned, or once the
	// webhook's response carrying reply was written; stale says the
	// answer carried the engine's stale-button text.
	answered chan struct{}
	stale    bool
	// reply is the answer to put in the webhook's response instead of a
	// call (webhookreply.go); nil when it is a call of its own.
	reply *tg.AnswerCallbackQueryParams

	mu      sync.Mutex
	settled bool
}

type callbackKey struct{}

// answerOnReceipt answers w's callback query at once, in its own
// goroutine, before the update's turn runs (a slow turn must not leave
// the button spinning; Telegram refuses late answers with "query is too
// old"): with the engine's stale-button text when the engine can tell so
// without running the flow and no earlier update of the chat is still
// waiting for its turn, else with no text. With inline (a webhook update
// held before the 200, see Adapter.enqueue) the answer is not sent but
// left in cb.reply, to go in the webhook's response (webhookreply.go).
// It reports false once Run has stopped.
func (a *Adapter) answerOnReceipt(w work, inline bool) bool {
	cb := w.cb
	cb.conv, cb.pressed, cb.pressedText = w.conv, w.pressed, w.pressedText
	cb.answered = make(chan struct{})
	inline = inline && !a.opts.NoWebhookReply
	a.mu.Lock()
	if a.closed {
		a.mu.Unlock()
		return false
	}
	if !inline {
		a.wg.Add(1) // answerApart's goroutine
	}
	a.mu.Unlock()
	p := &tg.AnswerCallbackQueryParams{CallbackQueryID: cb.id}
	if w.ev != nil && !a.queue.busy(w.conv.ID) {
		if text, stale := a.eng.StaleButton(context.Background(), *w.ev); stale && utf16Len(text) <= maxAnswer {
			p.Text, cb.stale = text, true
		}
	}
	if inline {
		cb.reply = p
		return true
	}
	a.answerApart(cb, p)
	return true
}

// answerApart answers the callback query cb with p as a call of its own,
// in its own goroutine, and closes cb.answered when it returned; the
// caller has counted the goroutine in a.wg. A failure is logged (the
// button stops spinning after Telegram's timeout).
func (a *Adapter) answerApart(cb *callback, p *tg.AnswerCallbackQueryParams) {
	go func() {
		defer a.wg.Done()
		defer close(cb.answered)
		err := a.callFree(context.Background(), 0, func(ctx context.Context) error {
			_, err := a.api.AnswerCallbackQuery(ctx, p)
			return err
		})
		if err != nil {
			a.log.Warn("answerCallbackQuery failed", "err", err)
		}
	}()
}

// settle runs once per callback query's turn, before the turn's first
// reply r, and reports whether r was done, with the id of the message
// that shows it: the stale-button notice is done when the query's answer
// already carried it (else it is sent as a message). A text send that
// fits the pressed message replaces it (editMessageText; see
// callback.replaces), so the used keyboard goes with the old text in one
// call (issue 14). Before any other reply but an internal error and a
// deletion of the pressed message itself, the pressed message's inline
// keyboard is removed (editMessageReplyMarkup without reply_markup).
func (a *Adapter) settle(ctx context.Context, chat int64, cb *callback, r bot.Reply) (string, bool) {
	cb.mu.Lock()
	defer cb.mu.Unlock()
	if cb.settled {
		return "", false
	}
	cb.settled = true
	if r.Op == bot.OpSend && r.ID == staleID {
		return "", cb.stale
	}
	// Keep the keyboard when the turn failed, so the user can press again.
	if cb.pressed == 0 || r.ID == "engine.internal_error" {
		return "", false
	}
	if cb.replaces(r) {
		if id, ok := a.replace(ctx, chat, cb, r); ok {
			return id, true
		}
	}
	if r.Op == bot.OpDelete && slices.Contains(strings.Split(r.MessageID, ","), strconv.Itoa(cb.pressed)) {
		return "", false // the message goes, keyboard and all
	}
	err := a.call(ctx, chat, func(ctx context.Context) error {
		_, err := a.api.EditMessageReplyMarkup(ctx, &tg.EditMessageReplyMarkupParams{ChatID: chat, MessageID: cb.pressed})
		return err
	})
	if err != nil && !apiError(err, "message is not modified") {
		a.log.DebugContext(ctx, "removing a used inline keyboard failed", "err", err)
	}
	return "", false
}

// utf16Len is the length of s in UTF-16 code units, the unit of the Bot
// API's text limits.
func utf16Len(s string) int {
	n := 0
	for _, r := range s {
		n += units(r)
	}
	return n
}

func units(r rune) int {
	if r >= 0x10000 {
		return 2
	}
	return 1
}

// prefix returns the byte length of the longest prefix of s with at most
// limit UTF-16 code units.
func prefix(s string, limit int) int {
	n := 0
	for i, r := range s {
		if n += units(r); n > limit {
			return i
		}
	}
	return len(s)
}

// split cuts s into parts of at most limit UTF-16 code units, after the
// last newline or space that keeps a part within limit when there is one.
// The parts concatenate to s.
func split(s string, limit int) []string {
	var parts []string
	for utf16Len(s) > limit {
		cut := prefix(s, limit)
		if i := strings.LastIndexAny(s[:cut], "\n "); i > 0 {
			cut = i + 1
		}
		parts = append(parts, s[:cut])
		s = s[cut:]
	}
	return append(parts, s)
}

// shorten returns s cut to at most limit UTF-16 code units, ending in "…"
// when cut.
func shorten(s string, limit int) string {
	if utf16Len(s) <= limit {
		return s
	}
	return s[:prefix(s, limit-1)] + "…"
}

// limiter spaces sends per chat and overall with the generic cell rate
// algorithm: a bucket allows burst sends at once, then one per interval.
type limiter struct {
	mu     sync.Mutex
	chat   rate
	global rate
	chats  map[int64]*time.Time
	all    time.Time
}

type rate struct {
	interval time.Duration // 0: unlimited
	burst    int
}

func newLimiter(perChat time.Duration, burst, perSecond int) *limiter {
	l := &limiter{chats: map[int64]*time.Time{}}
	if perChat > 0 {
		l.chat = rate{perChat, burst}
	}
	if perSecond > 0 {
		l.global = rate{time.Second / time.Duration(perSecond), perSecond}
	}
	return l
}

// reserve books the next send at or after at for a bucket whose
// theoretical arrival time is *tat and returns when it may go.
func (r rate) reserve(tat *time.Time, at time.Time) time.Time {
	if r.interval <= 0 {
		return at
	}
	t := *tat
	if t.Before(at) {
		t = at
	}
	send := t.Add(-time.Duration(r.burst-1) * r.interval)
	if send.Before(at) {
		send = at
	}
	*tat = t.Add(r.interval)
	return send
}

// hold makes chat's next call wait until at least until (a 429's
// retry_after); chat 0 holds nothing.
func (l *limiter) hold(until time.Time, chat int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if chat == 0 || l.chat.interval <= 0 {
		return
	}
	tat := l.chats[chat]
	if tat == nil {
		tat = &time.Time{}
		l.chats[chat] = tat
	}
	// reserve lets a call go burst-1 intervals before the bucket's time.
	if t := until.Add(time.Duration(l.chat.burst-1) * l.chat.interval); t.After(*tat) {
		*tat = t
	}
}

// delay books a call in chat (0: only the global limit) at now and
// returns how long to wait for it.
func (l *limiter) delay(now time.Time, chat int64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	at := now
	if l.chat.interval > 0 && chat != 0 {
		tat := l.chats[chat]
		if tat == nil {
			if len(l.chats) >= 4096 {
				for k, t := range l.chats {
					if !t.After(now) {
						delete(l.chats, k)
					}
				}
			}
			tat = &time.Time{}
			l.chats[chat] = tat
		}
		at = l.chat.reserve(tat, at)
	}
	at = l.global.reserve(&l.all, at)
	return at.Sub(now)
}
