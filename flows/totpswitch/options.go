package totpswitch

import (
	"context"
	"time"
)

// Options configure the flow.
type Options struct {
	// Core is the portal auth core (required; any portal.Core).
	Core Core
	// Issuer is the issuer name shown in prompts; default "IP ServerOne".
	Issuer string
	// MaxTries is how many wrong e-mail/password answers one conversation
	// may give before the flow stops; default 5 (the core's own per-account
	// lock applies as well).
	MaxTries int
	// GrantMargin is how long before its expiry a grant is treated as
	// expired, so that a step does not start with a grant about to lapse;
	// default 30 seconds.
	GrantMargin time.Duration
	// Order is OrderEnrollThenSwitch (default: SMS stays active until the
	// new code is verified; the core swaps the methods in one transaction,
	// so the account is never password-only) or OrderDisableThenEnroll (the
	// knowledge-base order as written, made safe by compensation).
	Order string
	// ReminderAfter is how long after SMS 2FA was disabled, with no app
	// verified yet, the user is reminded; default 10 minutes.
	ReminderAfter time.Duration
	// Handoffs redeems the start payload of a support hand-off (a deep
	// link's token); nil disables hand-offs.
	Handoffs Handoffs
	// RecoveryCodes is how many single-use recovery codes to issue once
	// the app is verified (0, the default, issues none and skips the step;
	// at most 20).
	RecoveryCodes int
}

// Handoffs redeems hand-off tokens: a support agent started the guided fix
// for a customer's account and sent the customer a link carrying the token.
type Handoffs interface {
	// Redeem uses token once for conversation (a bot.Conversation string)
	// and returns the portal account id and the hand-off id. Any error
	// (unknown, used or expired token) gets the same answer.
	Redeem(ctx context.Context, token, conversation string) (accountID, handoffID string, err error)
	// Redeemable reports, spending and writing nothing, whether Redeem of
	// token for conversation would succeed now: true for an unused token
	// of this flow, or one this conversation used and may reopen. It is
	// false, with a nil error, for every other token (unknown, expired,
	// completed, used by another conversation, of another flow): they all
	// get one answer, so that the check tells no more than Redeem does.
	// err is a failure to read the hand-offs (the turn then fails and
	// nothing is saved). Issue 14 F9: the start of a hand-off link checks
	// its token before it shows the hand-off's confirmation.
	Redeemable(ctx context.Context, token, conversation string) (ok bool, err error)
}

// Flow orders (Options.Order).
const (
	// OrderDisableThenEnroll disables SMS 2FA at "Disable 2FA" and, if the
	// app is not verified in time, restores it (RestoreFactor).
	OrderDisableThenEnroll = "disable-then-enroll"
	// OrderEnrollThenSwitch keeps SMS 2FA until the app's code is verified;
	// the account is never without a second factor.
	OrderEnrollThenSwitch = "enroll-then-switch"
)
