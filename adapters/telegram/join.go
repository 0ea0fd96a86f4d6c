package telegram

import (
	"context"
	"strconv"
	"strings"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"guidedfix/bot"
)

// Fewer messages and calls per flow (issue 14): the engine joins a turn's
// consecutive sends into one message (bot.Joiner), the first message of a
// button's turn replaces the pressed message (editMessageText) instead of
// a keyboard removal plus a new message, and the Reply.Code parts (the
// manual TOTP key) are shown as "code" entities.

var _ bot.Joiner = (*Adapter)(nil)

// Joins implements bot.Joiner: next may be shown in first's message when
// the joined text fits one message, 4096 UTF-16 code units (a caption of
// 1024 when first is a photo; Bot API sendMessage and sendPhoto).
func (a *Adapter) Joins(first, next bot.Reply) bool {
	limit := maxText
	if len(first.Image) > 0 {
		limit = maxCaption
	}
	return utf16Len(bot.JoinReplies(first, next).Text) <= limit
}

// codeEntities returns a "code" entity (Bot API MessageEntity, offsets in
// UTF-16 code units) for the first occurrence in text of each of codes
// that text holds whole.
func codeEntities(text string, codes []string) []models.MessageEntity {
	var out []models.MessageEntity
	for _, c := range codes {
		i := strings.Index(text, c)
		if c == "" || i < 0 {
			continue
		}
		out = append(out, models.MessageEntity{Type: models.MessageEntityTypeCode, Offset: utf16Len(text[:i]), Length: utf16Len(c)})
	}
	return out
}

// replaces reports whether r, the first reply of cb's turn, is shown by
// editing the pressed message instead of sending a new one: a text send
// that fits one message, with no photo, not protected (protect_content
// cannot be set by an edit), into a pressed message that is text (a
// photo's caption is not its text), and a reply of the flow: the
// engine's own answers ("engine.*": support unreachable, escalated) leave
// the step's message in place.
func (cb *callback) replaces(r bot.Reply) bool {
	return cb.pressed != 0 && cb.pressedText && (r.Op == bot.OpSend || r.Op == "") && len(r.Image) == 0 &&
		!r.Protected && r.Text != "" && utf16Len(r.Text) <= maxText && !strings.HasPrefix(r.ID, "engine.")
}

// replace shows r by editing the pressed message of cb (editMessageText
// with r's text, entities and keyboard) and returns that message's id.
// It reports false when the edit failed, and r is to be sent instead.
func (a *Adapter) replace(ctx context.Context, chat int64, cb *callback, r bot.Reply) (string, bool) {
	p := &tg.EditMessageTextParams{ChatID: chat, MessageID: cb.pressed, Text: r.Text,
		Entities: codeEntities(r.Text, r.Code), LinkPreviewOptions: noPreview}
	if markup := replyMarkup(r); markup != nil {
		p.ReplyMarkup = markup
	}
	err := a.call(ctx, chat, func(ctx context.Context) error {
		_, err := a.api.EditMessageText(ctx, p)
		return err
	})
	if err != nil && !apiError(err, "message is not modified") {
		a.log.DebugContext(ctx, "editing the pressed message into the next prompt failed; sending it", "err", err)
		return "", false
	}
	return strconv.Itoa(cb.pressed), true
}

// copyKeyID is the catalog id of the copy_text button's label.
const copyKeyID = "telegram.button.copy_key"

// copyMarkup returns the inline keyboard of a sensitive reply with Code
// parts (the QR code's message with its manual key): first a copy_text
// button (Bot API CopyTextButton, 1-256 characters) that copies the first
// code without its spaces, labelled in the conversation's locale, then
// r's buttons, one a row. It returns nil when r has no such code or a
// Link (the entry page shows the key itself). The key is never stored:
// the button is made at delivery from the reply's content.
func (a *Adapter) copyMarkup(ctx context.Context, to bot.Conversation, r bot.Reply) models.ReplyMarkup {
	if !r.Sensitive || len(r.Code) == 0 || r.Link != nil {
		return nil
	}
	key := strings.ReplaceAll(r.Code[0], " ", "")
	if key == "" || utf16Len(key) > 256 {
		return nil
	}
	locale := ""
	if s, err := a.eng.Session(ctx, to); err == nil {
		locale = s.Locale
	}
	rows := [][]models.InlineKeyboardButton{{{Text: a.eng.Catalog().Text(locale, copyKeyID, nil), CopyText: &models.CopyTextButton{Text: key}}}}
	if kb, ok := keyboard(r.Buttons).(models.InlineKeyboardMarkup); ok {
		rows = append(rows, kb.InlineKeyboard...)
	}
	return models.InlineKeyboardMarkup{InlineKeyboard: rows}
}
