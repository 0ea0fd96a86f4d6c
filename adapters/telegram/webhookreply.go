package telegram

import (
	"encoding/json"
	"net/http"
	"strconv"

	tg "github.com/go-telegram/bot"
)

// A button press's answer in the webhook's response (issue 14).
//
// The Bot API lets a webhook answer carry one call: "If you're using
// webhooks, you can perform a request to the Bot API while sending an
// answer to the webhook. Use either application/json or
// application/x-www-form-urlencoded or multipart/form-data response
// content type for passing parameters. Specify the method to be invoked
// in the method parameter of the request. It's not possible to know that
// such a request was successful or get its result."
// (core.telegram.org/bots/api#making-requests-when-getting-updates;
// grammY's webhookReply.)
//
// A callback query is answered on receipt (answerOnReceipt), before its
// turn, with an answer that is known then: no text, or the engine's
// stale-button text. When the webhook answers once the update is held
// (Options.Inbox), that answer goes in the 200 response as
// {"method":"answerCallbackQuery","callback_query_id":…[,"text":…]} with
// Content-Type application/json, instead of a separate HTTPS call: of a
// flow's 17 Bot API calls, its 4 callback answers then cost no outbound
// request. Everything else stays a call of its own: the turn's replies
// (their results, message ids and errors are needed), long polling (no
// response to carry anything), a webhook without an Inbox (it answers
// after the turn, too late for the button), a replayed update, and
// Options.NoWebhookReply. Since its result is unknowable, only a call
// whose failure changes nothing goes this way: a lost answer leaves the
// button spinning until Telegram's own timeout, as a failed
// answerCallbackQuery does.

// answerReply is the webhook response body that performs
// answerCallbackQuery: its parameters beside "method".
type answerReply struct {
	Method string `json:"method"`
	*tg.AnswerCallbackQueryParams
}

// answerInResponse writes the webhook's 200 answer carrying cb.reply as
// an answerCallbackQuery request, flushes it, and then closes
// cb.answered, so that the turn's own calls come after the answer left.
// Should the body not encode, the answer is sent as a call of its own.
func (a *Adapter) answerInResponse(w http.ResponseWriter, cb *callback) {
	body, err := json.Marshal(answerReply{Method: "answerCallbackQuery", AnswerCallbackQueryParams: cb.reply})
	if err != nil {
		// Not expected (strings and booleans): answer apart. The turn
		// queued for cb waits on cb.answered, so a.wg is above zero.
		a.wg.Add(1)
		a.answerApart(cb, cb.reply)
		w.WriteHeader(http.StatusOK)
		return
	}
	defer close(cb.answered)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusOK)
	if _, err := w.Write(body); err != nil {
		a.log.Debug("webhook answer with answerCallbackQuery not written", "err", err)
		return
	}
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
}
