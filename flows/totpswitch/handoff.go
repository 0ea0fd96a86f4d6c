package totpswitch

import (
	"context"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// withSource names the platform user behind the turn's event on ctx
// ("<channel>:<user id>", or the conversation for an event without a
// user), so the core counts failures per source as well as per account
// (portal.WithSource), and the session's language, which an account
// without one takes on Disable2FA or ConfirmTOTPEnrollment for its
// e-mails (portal.WithLocale).
func withSource(ctx context.Context, bt *bot.Turn) context.Context {
	ev := bt.Event
	ctx = portal.WithLocale(ctx, bt.Session.Locale)
	if ev.UserID != "" {
		return portal.WithSource(ctx, ev.Conversation.Channel+":"+ev.UserID)
	}
	return portal.WithSource(ctx, ev.Conversation.String())
}

// handoff starts the flow from a support hand-off link: the account is
// identified by the token, and the user still proves password and the
// current SMS code. It reports whether the token was good; a bad one gets
// one answer that reveals nothing.
func (f *Flow) handoff(ctx context.Context, t *turn, token string) bool {
	if f.handoffs == nil {
		return false
	}
	accountID, handoffID, err := f.handoffs.Redeem(ctx, token, t.Session.Conversation.String())
	if err != nil {
		t.say(msgHandoffInvalid, nil)
		return false
	}
	acc, err := f.core.Account(ctx, accountID)
	if err != nil {
		t.say(msgHandoffInvalid, nil)
		return false
	}
	t.d.AccountID = acc.ID
	t.Tag(bot.TagAccount, acc.ID)
	t.Tag(bot.TagHandoff, handoffID)
	t.Goto(StateAwaitingPassword)
	t.say(msgHandoffWelcome, map[string]any{"Email": maskEmail(acc.Email)})
	t.ask(bot.SecretPassword, msgAskPassword, nil, t.cancelButton())
	return true
}
