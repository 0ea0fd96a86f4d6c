package telegram

import (
	"context"
	"time"
)

// Which Bot API calls count against Telegram's limits (issue 14).
//
// Telegram's Bots FAQ ("My bot is hitting limits, how do I avoid this?")
// names three: in one chat about one message per second (short bursts
// tolerated, then 429), 20 messages per minute in a group, and about 30
// messages per second when broadcasting to many users. The Bot API's
// maintainer has said which calls those are: "Limits for message editing
// and sending are shared" (tdlib/td#3034), "You can call
// answerCallbackQuery without any limits, editing of the message in
// question is still subject to per chat limits" (tdlib/telegram-bot-api
// #648, #636), and for deleteMessages "the limits are high enough to cover
// all reasonable usages" (tdlib/telegram-bot-api#572). So:
//
//   - metered (per-chat interval and the global budget): sendMessage,
//     sendPhoto, editMessageText, editMessageReplyMarkup — every call the
//     adapter makes through Adapter.call;
//   - free (no wait for either limit): answerCallbackQuery,
//     deleteMessage and deleteMessages — through Adapter.callFree.
//
// cmd/loadgen counts the calls of a flow by method: of the about 25 Bot
// API calls a flow made before issue 14, 8 (4 callback answers, 3
// deletions, 1 batched deletion) were spent from the global budget of 30
// a second for nothing. A free call still honours a 429 the same way (it
// waits its retry_after and holds the chat's next metered calls as long).

// unmeteredKey marks a call's context as free of the rate limits.
type unmeteredKey struct{}

// callFree is Adapter.call for a method that does not count against
// Telegram's limits (answerCallbackQuery, deleteMessage, deleteMessages):
// it takes no place in the per-chat or the global budget and never waits
// for them; retries, 429 and 403 are handled as in call.
func (a *Adapter) callFree(ctx context.Context, chat int64, fn func(context.Context) error) error {
	return a.call(context.WithValue(ctx, unmeteredKey{}, true), chat, fn)
}

// delayFor books a call of chat in the limits at now and returns how long
// it must wait; 0 for a call made with callFree.
func (a *Adapter) delayFor(ctx context.Context, chat int64) time.Duration {
	if free, _ := ctx.Value(unmeteredKey{}).(bool); free {
		return 0
	}
	return a.limiter.delay(a.now(), chat)
}
