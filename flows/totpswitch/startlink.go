package totpswitch

import (
	"context"
	"fmt"
)

// msgLinkInvalid answers a start payload that is no redeemable hand-off
// token (unknown, expired, completed, used by another conversation, of
// another flow, or no token at all): one text for all, followed by the
// normal start (issue 14 F9).
const msgLinkInvalid = "totp.link_invalid"

// redeemable reports whether the start payload token is a hand-off token
// this conversation can redeem (Handoffs.Redeemable); false without
// Handoffs. The error is Redeemable's read failure, wrapped.
func (f *Flow) redeemable(ctx context.Context, t *turn, token string) (bool, error) {
	if f.handoffs == nil {
		return false, nil
	}
	ok, err := f.handoffs.Redeemable(ctx, token, t.Session.Conversation.String())
	if err != nil {
		return false, fmt.Errorf("totpswitch: check hand-off token: %w", err)
	}
	return ok, nil
}
