package slack

import (
	"context"
	"strings"
	"unicode/utf8"

	slackapi "github.com/slack-go/slack"

	"guidedfix/bot"
	"guidedfix/internal/corr"
)

// Fewer messages per flow (issue 14): the engine joins a turn's
// consecutive sends into one message (bot.Joiner), and the first reply of
// a button's turn replaces the message whose button was pressed
// (chat.update), so a step's buttons never outlive the step; a turn whose
// first reply cannot replace it (an upload, a deletion) removes the
// pressed message's buttons instead.

var _ bot.Joiner = (*Adapter)(nil)

// maxSection is the longest text of a Block Kit section block (Slack:
// 3000 characters).
const maxSection = 3000

// Joins implements bot.Joiner: next is shown in first's message when
// first is not an uploaded file (a file comment has no buttons) and the
// joined text fits one section block.
func (a *Adapter) Joins(first, next bot.Reply) bool {
	return len(first.Image) == 0 && utf8.RuneCountInString(bot.JoinReplies(first, next).Text) <= maxSection
}

// pressedKey is the context key of the turn of a button press: the
// *pressed message.
type pressedKey struct{}

// pressed is the message whose button started a turn.
type pressed struct {
	ts      string // message ts; "" when unknown
	text    string // its text, kept when only the buttons go
	settled bool   // the turn's first reply was seen
}

// dispatchPressed hands the button event ev to the engine like dispatch,
// with the pressed message (ts, text) in the turn's context.
func (a *Adapter) dispatchPressed(ev bot.Event, ts, text string) {
	a.dispatchCtx(ev, func(ctx context.Context) context.Context {
		return context.WithValue(ctx, pressedKey{}, &pressed{ts: ts, text: text})
	})
}

// settlePressed runs before each reply of a button's turn and acts on the
// first only: a text send (no file, no link) replaces the pressed message
// (chat.update with its text and blocks) and reports the pressed ts as
// the message id, done; an edit of the pressed message is left to Deliver
// (its one chat.update sets the edit's text and buttons); any other first
// reply but a deletion or an engine message ("engine.*": the step did not
// move) first removes the pressed message's buttons (chat.update with its
// text only). A failed update is logged and the reply goes out as usual.
func (a *Adapter) settlePressed(ctx context.Context, ch string, r bot.Reply, p *prompt) (string, bool) {
	pr, ok := ctx.Value(pressedKey{}).(*pressed)
	if !ok || pr.settled || pr.ts == "" {
		return "", false
	}
	pr.settled = true
	if r.Op == bot.OpDelete || strings.HasPrefix(r.ID, "engine.") {
		// A turn that begins by deleting (an ending, the codes saved)
		// deletes what needed it; putting the pressed text back to drop
		// its buttons could repeat a manual key. The engine's own answers
		// (support unreachable, an internal error) leave the step's
		// message as it is, to be used again.
		return "", false
	}
	if r.Op == bot.OpEdit && r.MessageID == pr.ts {
		// The flow edits the pressed message itself: its chat.update
		// (edit) replaces text and blocks, buttons included, in one call.
		return "", false
	}
	if (r.Op == bot.OpSend || r.Op == "") && len(r.Image) == 0 && r.Link == nil && r.Text != "" {
		err := a.call(ctx, func() error {
			_, _, _, err := a.api.UpdateMessageContext(ctx, ch, pr.ts,
				slackapi.MsgOptionText(r.Text, false), slackapi.MsgOptionBlocks(a.blocks(r.Text, r.Buttons, p)...))
			return err
		})
		if err == nil {
			return pr.ts, true
		}
		a.log.DebugContext(ctx, "slack: replacing the pressed message failed; posting", "err", err)
		return "", false
	}
	err := a.call(ctx, func() error {
		_, _, _, err := a.api.UpdateMessageContext(ctx, ch, pr.ts,
			slackapi.MsgOptionText(pr.text, false), slackapi.MsgOptionBlocks(a.blocks(pr.text, nil, nil)...))
		return err
	})
	if err != nil {
		a.log.DebugContext(ctx, "slack: removing the pressed message's buttons failed", "err", err)
	}
	return "", false
}

// dispatchCtx hands ev to the engine like dispatch(ev, nil, nil), with
// the turn's context changed by wrap.
func (a *Adapter) dispatchCtx(ev bot.Event, wrap func(context.Context) context.Context) {
	ctx, cancel := context.WithTimeout(corr.Ensure(context.Background()), workTimeout)
	ctx = wrap(ctx)
	a.work.Add(1)
	a.engine.Dispatch(ctx, ev, func(err error) {
		if err != nil {
			a.log.ErrorContext(ctx, "slack: event failed", "event", ev, "err", err)
		}
		cancel()
		a.work.Done()
	})
}

// replacePrompt runs before each reply of a view submission's turn that
// is not held back (capture) and acts on the first only: when the step
// moved on (the reply is no repeat of the submitted question) and the
// reply is a flow's text send, it replaces the message of the prompt
// whose modal was submitted (the session's bot.RefPrompt ref; chat.update
// with the reply's text and blocks), so that the old Enter button does
// not outlive its step, and reports that message's ts, done. flushed says
// a held prompt was posted before this reply (it was the first).
func (a *Adapter) replacePrompt(ctx context.Context, to bot.Conversation, c *capture, r bot.Reply, p *prompt, flushed bool) (string, bool) {
	c.mu.Lock()
	first := !c.settled && !flushed
	c.settled = true
	want := c.want
	c.mu.Unlock()
	if !first || (r.Op != bot.OpSend && r.Op != "") || len(r.Image) > 0 || r.Link != nil || r.Text == "" || strings.HasPrefix(r.ID, "engine.") {
		return "", false
	}
	if p != nil && p.ref.Field == want.Field && p.ref.Nonce == want.Nonce {
		return "", false // the same question again: its message stays
	}
	s, err := a.engine.Session(ctx, to)
	if err != nil {
		return "", false
	}
	ts := s.Messages[bot.RefPrompt]
	if ts == "" || strings.HasPrefix(ts, filePrefix) {
		return "", false
	}
	err = a.call(ctx, func() error {
		_, _, _, err := a.api.UpdateMessageContext(ctx, to.ID, ts,
			slackapi.MsgOptionText(r.Text, false), slackapi.MsgOptionBlocks(a.blocks(r.Text, r.Buttons, p)...))
		return err
	})
	if err != nil {
		a.log.DebugContext(ctx, "slack: replacing the answered prompt failed; posting", "err", err)
		return "", false
	}
	return ts, true
}
