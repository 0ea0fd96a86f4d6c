package telegram

import (
	"github.com/go-telegram/bot/models"

	"guidedfix/bot"
)

// linkKeyboard is an inline keyboard whose first row is a bot.Link: a
// web_app button (Bot API WebAppInfo; Telegram opens the URL as a Mini App,
// in private chats only) or a url button, then the callback buttons. Each
// button sets exactly one optional field, as the Bot API requires.
type linkKeyboard struct {
	InlineKeyboard [][]linkButton `json:"inline_keyboard"`
}

type linkButton struct {
	Text         string      `json:"text"`
	URL          string      `json:"url,omitempty"`
	WebApp       *webAppInfo `json:"web_app,omitempty"`
	CallbackData string      `json:"callback_data,omitempty"`
}

type webAppInfo struct {
	URL string `json:"url"`
}

// replyMarkup returns the reply_markup of r: keyboard(r.Buttons) without a
// Link, otherwise the Link's button on the first row and the buttons below.
func replyMarkup(r bot.Reply) models.ReplyMarkup {
	if r.Link == nil || r.Link.URL == "" {
		return keyboard(r.Buttons)
	}
	first := linkButton{Text: r.Link.Label, URL: r.Link.URL}
	if r.Link.WebApp {
		first = linkButton{Text: r.Link.Label, WebApp: &webAppInfo{URL: r.Link.URL}}
	}
	kb := linkKeyboard{InlineKeyboard: [][]linkButton{{first}}}
	for _, b := range r.Buttons {
		kb.InlineKeyboard = append(kb.InlineKeyboard, []linkButton{{Text: b.Label, CallbackData: b.Data}})
	}
	return kb
}

// noPreview is the link_preview_options of every message: previews off, so
// no preview fetcher opens a link we send, in the text or in a button
// (issue 11 item 9; Bot API LinkPreviewOptions).
var noPreview = &models.LinkPreviewOptions{IsDisabled: func() *bool { b := true; return &b }()}
