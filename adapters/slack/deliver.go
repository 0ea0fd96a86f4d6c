package slack

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	slackapi "github.com/slack-go/slack"

	"guidedfix/bot"
)

// filePrefix marks a message id that is an uploaded file ("file:F123"),
// deleted with files.delete instead of chat.delete.
const filePrefix = "file:"

// Deliver performs r in the DM channel to.ID and returns the id of a sent
// message: the message ts ("1700000000.000100"), or "file:<file id>" for an
// image, which is uploaded with the files upload v2 flow
// (files.getUploadURLExternal, POST to the upload URL,
// files.completeUploadExternal) with Text as its comment. It returns "" for
// edits and deletes.
//
// Text is sent as plain text (a section block) with the buttons as Block
// Kit buttons (value = Button.Data); a r.Link becomes a URL button in
// front of them, with unfurling off (link.go). A secret prompt (Secret not
// SecretNone) gets an "Enter password" or "Enter code" button first, which
// opens the modal that collects the answer. During a view submission the
// adapter may hold back a prompt that repeats the question just answered
// and show it in the modal instead (see capture); Deliver then returns "".
//
// In a button's turn the first reply replaces the pressed message
// (chat.update; Deliver returns its ts) or removes its buttons (see
// settlePressed), and consecutive sends arrive joined (Joins). OpEdit
// uses chat.update; OpDelete uses chat.delete, or files.delete for
// a "file:" id, and does nothing for an empty id. Deleting a user's own
// message fails (a bot token cannot delete it) and the error is returned,
// so the engine asks the user to delete it.
//
// Deliver retries a call answered 429 after its Retry-After, up to 5 times
// within ctx. It refuses images, sensitive replies and secret prompts for
// a conversation that is not a DM ("D…"). It returns bot.ErrMessageGone
// when an edit or delete target no longer exists (message_not_found,
// file_not_found), bot.ErrBlocked when the DM cannot be reached
// (channel_not_found, is_archived, account_inactive), and other Slack
// errors as they are.
func (a *Adapter) Deliver(ctx context.Context, to bot.Conversation, r bot.Reply) (string, error) {
	if (len(r.Image) > 0 || r.Sensitive || r.Secret != bot.SecretNone) && !isDM(to.ID) {
		return "", fmt.Errorf("slack: refusing to send %s outside a DM", r.ID)
	}
	var p *prompt
	if r.Op == bot.OpSend && r.Secret != bot.SecretNone {
		s, err := a.engine.Session(ctx, to)
		if err != nil {
			return "", fmt.Errorf("slack: prompt %s: %w", r.ID, err)
		}
		p = &prompt{reply: r, ref: modalRef{Chan: to.ID, Field: r.Secret, Nonce: a.engine.Nonce(s), Locale: s.Locale}}
	}
	if c, ok := ctx.Value(captureKey{}).(*capture); ok {
		flush, hold := c.add(p)
		if flush != nil {
			if _, err := a.send(ctx, to.ID, flush.reply, flush); err != nil {
				a.log.WarnContext(ctx, "slack: deliver failed", "reply", flush.reply, "err", err)
			}
		}
		if hold {
			return "", nil
		}
		if id, done := a.replacePrompt(ctx, to, c, r, p, flush != nil); done {
			return id, nil
		}
	}
	if id, done := a.settlePressed(ctx, to.ID, r, p); done {
		return id, nil
	}
	switch r.Op {
	case bot.OpDelete:
		return "", a.delete(ctx, to.ID, r.MessageID)
	case bot.OpEdit:
		return "", a.edit(ctx, to.ID, r)
	}
	return a.send(ctx, to.ID, r, p)
}

// send posts r (p is its prompt, or nil) to channel ch and returns its id.
func (a *Adapter) send(ctx context.Context, ch string, r bot.Reply, p *prompt) (string, error) {
	if len(r.Image) > 0 {
		var f *slackapi.FileSummary
		err := a.call(ctx, func() (err error) {
			f, err = a.api.UploadFileContext(ctx, slackapi.UploadFileParameters{
				Reader: bytes.NewReader(r.Image), FileSize: len(r.Image), Filename: "qr.png",
				Title: "QR code", AltTxt: "QR code", Channel: ch, InitialComment: r.Text,
			})
			return err
		})
		if err != nil {
			return "", deliverErr(err)
		}
		return filePrefix + f.ID, nil
	}
	if r.Link != nil {
		return a.postLink(ctx, ch, r, p)
	}
	return a.post(ctx, ch, r.Text, r.Buttons, p)
}

// post sends a message of text and buttons (plus the prompt's Enter
// button when p is not nil) to ch with chat.postMessage and returns its ts.
func (a *Adapter) post(ctx context.Context, ch, text string, buttons []bot.Button, p *prompt) (string, error) {
	var ts string
	err := a.call(ctx, func() (err error) {
		_, ts, err = a.api.PostMessageContext(ctx, ch,
			slackapi.MsgOptionText(text, false), slackapi.MsgOptionBlocks(a.blocks(text, buttons, p)...))
		return err
	})
	return ts, deliverErr(err)
}

func (a *Adapter) edit(ctx context.Context, ch string, r bot.Reply) error {
	if strings.HasPrefix(r.MessageID, filePrefix) {
		return fmt.Errorf("slack: an uploaded file cannot be edited (%s)", r.ID)
	}
	return deliverErr(a.call(ctx, func() error {
		_, _, _, err := a.api.UpdateMessageContext(ctx, ch, r.MessageID,
			slackapi.MsgOptionText(r.Text, false), slackapi.MsgOptionBlocks(a.blocks(r.Text, r.Buttons, nil)...))
		return err
	}))
}

func (a *Adapter) delete(ctx context.Context, ch, id string) error {
	if id == "" {
		return nil
	}
	return deliverErr(a.call(ctx, func() error {
		if f, ok := strings.CutPrefix(id, filePrefix); ok {
			return a.api.DeleteFileContext(ctx, f)
		}
		_, _, err := a.api.DeleteMessageContext(ctx, ch, id)
		return err
	}))
}

// blocks renders a message: its text as a plain-text section, then one
// actions block with the prompt's Enter button and the buttons.
func (a *Adapter) blocks(text string, buttons []bot.Button, p *prompt) []slackapi.Block {
	blocks := []slackapi.Block{slackapi.NewSectionBlock(plain(text), nil, nil)}
	var els []slackapi.BlockElement
	if p != nil {
		els = append(els, a.enterButton(p.ref))
	}
	for i, b := range buttons {
		els = append(els, slackapi.NewButtonBlockElement(actionButton+strconv.Itoa(i), b.Data, plain(b.Label)))
	}
	if len(els) > 0 {
		blocks = append(blocks, slackapi.NewActionBlock("", els...))
	}
	return blocks
}

// enterButton returns the button that opens the modal for ref.
func (a *Adapter) enterButton(ref modalRef) *slackapi.ButtonBlockElement {
	label := "slack.button.enter_code"
	if ref.Field == bot.SecretPassword {
		label = "slack.button.enter_password"
	}
	b := slackapi.NewButtonBlockElement(actionSecret, ref.encode(), plain(a.text(ref.Locale, label)))
	b.Style = slackapi.StylePrimary
	return b
}

// call runs the Web API call f, waiting out 429 answers (Retry-After) up
// to maxRateLimitRetries times; it returns f's last error, or ctx's.
func (a *Adapter) call(ctx context.Context, f func() error) error {
	for i := 0; ; i++ {
		err := f()
		var rl *slackapi.RateLimitedError
		if !errors.As(err, &rl) || i == maxRateLimitRetries {
			return err
		}
		a.log.InfoContext(ctx, "slack: rate limited", "retry_after", rl.RetryAfter)
		if err := a.sleep(ctx, rl.RetryAfter); err != nil {
			return err
		}
	}
}

// deliverErr maps Slack error codes to the bot package's errors.
func deliverErr(err error) error {
	var se slackapi.SlackErrorResponse
	if !errors.As(err, &se) {
		return err
	}
	switch se.Err {
	case "message_not_found", "file_not_found", "file_deleted":
		return fmt.Errorf("%w (%s)", bot.ErrMessageGone, se.Err)
	case "channel_not_found", "is_archived", "account_inactive", "user_disabled":
		return fmt.Errorf("%w (%s)", bot.ErrBlocked, se.Err)
	}
	return err
}

// slackError returns the Slack error code of err ("expired_trigger_id"),
// or "".
func slackError(err error) string {
	var se slackapi.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	return ""
}

func plain(s string) *slackapi.TextBlockObject {
	return slackapi.NewTextBlockObject(slackapi.PlainTextType, s, false, false)
}

// isDM reports whether id names a direct-message channel.
func isDM(id string) bool { return strings.HasPrefix(id, "D") }

func conv(dm string) bot.Conversation { return bot.Conversation{Channel: Channel, ID: dm} }
