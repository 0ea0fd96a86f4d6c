package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"guidedfix/flows/newphone"
	"guidedfix/internal/mail"
	"guidedfix/internal/mailtext"
	"guidedfix/internal/portal"
	"guidedfix/internal/support"
)

// newPhonePayload prefixes the token in the deep link of a new-phone
// hand-off (t.me/<bot>?start=np_<token>): the start router reads the flow
// from it and passes the token on, until hand-off records name their flow
// to the engine. Tokens are base64url, so "np_" cannot begin one.
const newPhonePayload = "np_"

// handOffNewPhone creates a hand-off of the new-phone flow for the account
// of email on behalf of staff (channel, user), e-mails the customer the
// deep link (mailtext.HandoffNewPhone) and records it in the audit log,
// as support.Desk.HandOff does for the default flow. It returns the link
// and the hand-off; support.ErrNoAccount when no account has the e-mail,
// and an error when the link cannot be made or e-mailed.
func handOffNewPhone(ctx context.Context, d *support.Desk, email, ticket, channel, user string) (string, support.Handoff, error) {
	if d.BotUsername == "" {
		return "", support.Handoff{}, errors.New("telegram.bot_username is not configured, so no link can be made")
	}
	acc, err := d.Core.LookupAccount(ctx, email)
	if errors.Is(err, portal.ErrNotFound) {
		d.RecordStaff(ctx, channel, user, "", "handoff_created", "refused: no account for the e-mail")
		return "", support.Handoff{}, support.ErrNoAccount
	}
	if err != nil {
		return "", support.Handoff{}, err
	}
	h, token, err := d.Store.CreateHandoff(ctx, support.Handoff{AccountID: acc.ID, Email: acc.Email, Flow: newphone.Name,
		CreatedBy: channel + ":" + user, Ticket: ticket}, d.HandoffTTL)
	if err != nil {
		return "", support.Handoff{}, err
	}
	link := d.DeepLink(newPhonePayload + token)
	holder := acc.Name
	if holder == "" {
		holder = acc.Email
	}
	subject, text, err := mailtext.RenderIn(acc.Locale, mailtext.HandoffNewPhone, mailtext.Data{Holder: holder, Email: acc.Email, Link: link,
		Expires: h.ExpiresAt.UTC().Format("2006-01-02 15:04"), Support: d.SupportContact})
	if err != nil {
		return "", support.Handoff{}, err
	}
	msg := mail.Message{ID: "handoff-" + strings.TrimPrefix(h.ID, "ho_"), To: acc.Email, Subject: subject, Text: text}
	if err := d.Mail.Send(ctx, msg); err != nil {
		return "", support.Handoff{}, fmt.Errorf("e-mail the link: %w", err)
	}
	outcome := "link e-mailed (" + newphone.Name + ")"
	if ticket != "" {
		outcome += ", ticket " + ticket
	}
	d.RecordStaff(ctx, channel, user, acc.ID, "handoff_created", outcome)
	if d.Notifier != nil {
		// The watch thread, as for the default flow's hand-offs.
		text := fmt.Sprintf("Hand-off %s (%s) for %s created by %s. I will post each step here.", h.ID, newphone.Name, acc.Email, user)
		if wc, wt, err := d.Notifier.OpenThread(ctx, text); err == nil {
			if h2, err := d.Store.Update(ctx, h.ID, func(h *support.Handoff) error { h.WatchChannel, h.WatchThread = wc, wt; return nil }); err == nil {
				h = h2
			}
		}
	}
	return link, h, nil
}
