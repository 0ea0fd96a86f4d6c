package slack

import (
	"context"
	"fmt"

	slackapi "github.com/slack-go/slack"

	"guidedfix/bot"
)

// Block Kit ids of the support channel's buttons.
const (
	actionTakeOver = "guidedfix_takeover" // value: the customer's conversation, "telegram:12345"
	actionHandBack = "guidedfix_handback" // value: the customer's conversation
	// actionTakeOverFrom is "Take over from <agent>" (issue 11 item 10);
	// value: the customer's conversation, "|", the holder's Slack user id.
	actionTakeOverFrom = "guidedfix_takeover_from"
)

// errNoSupportChannel is returned by the notifier methods when
// Options.SupportChannel is empty.
var errNoSupportChannel = fmt.Errorf("slack: no support channel is configured: %w", bot.ErrSupportUnreachable)

// errNotInSupportChannel is wrapped by CheckSupportChannel and the
// notifier methods when the app cannot post in the support channel.
var errNotInSupportChannel = fmt.Errorf("slack: the app is not a member of the support channel: %w", bot.ErrSupportUnreachable)

// CheckSupportChannel checks with conversations.info that the app is a
// member of Options.SupportChannel, so that it can post there; Run calls
// it at start. It returns nil when there is no support channel or the
// app is a member, an error wrapping bot.ErrSupportUnreachable when the
// app is not a member or the channel does not exist (channel_not_found,
// also for a private channel the app is not in), and Slack's error
// otherwise (e.g. missing_scope: channels:read / groups:read), which
// leaves the channel taken as usable. Until it is a member again, hand-off
// answers say nothing is posted and escalations fail with
// bot.ErrSupportUnreachable; a later successful post clears that.
func (a *Adapter) CheckSupportChannel(ctx context.Context) error {
	if a.supportChannel == "" {
		return nil
	}
	var ch *slackapi.Channel
	err := a.call(ctx, func() (err error) {
		ch, err = a.api.GetConversationInfoContext(ctx, &slackapi.GetConversationInfoInput{ChannelID: a.supportChannel})
		return err
	})
	switch {
	case slackError(err) == "channel_not_found" || (err == nil && !ch.IsMember):
		a.supportDown.Store(true)
		return errNotInSupportChannel
	case err != nil:
		return fmt.Errorf("slack: conversations.info %s: %w", a.supportChannel, err)
	}
	a.supportDown.Store(false)
	return nil
}

// supportReachable reports whether the app can post in the support
// channel, as far as it knows.
func (a *Adapter) supportReachable() bool { return a.supportChannel != "" && !a.supportDown.Load() }

// OpenThread posts text (Slack mrkdwn, e.g. "<@U123>" mentions) as a new
// message in the support channel and returns the channel and the
// message's ts, which is the thread's id. It implements the support
// desk's Notifier (hand-off watch threads).
func (a *Adapter) OpenThread(ctx context.Context, text string) (channel, thread string, err error) {
	if a.supportChannel == "" {
		return "", "", errNoSupportChannel
	}
	return a.postSupport(ctx, a.supportChannel, "", text, false, mrkdwnSection(text))
}

// Post adds text to the thread (channel, thread) with chat.postMessage and
// thread_ts. The text is escaped (&, <, >), so that a customer's words
// relayed here cannot mention anybody or make a link: "<!channel>" shows
// as typed. It implements the support desk's Notifier (watch steps,
// relayed customer text).
func (a *Adapter) Post(ctx context.Context, channel, thread, text string) error {
	_, _, err := a.postSupport(ctx, channel, thread, text, true)
	return err
}

// Escalate posts an escalation, text (mrkdwn), as a new message in the
// support channel, calls record (if not nil) with the channel and the
// message's ts, which is the thread's id, and only then adds the "Take
// over" button, whose value is conv ("telegram:12345"), with chat.update:
// a take-over pressed at once finds the escalation stored. An error of
// record is returned and the message keeps no button. It implements the
// support desk's Notifier.
func (a *Adapter) Escalate(ctx context.Context, conv bot.Conversation, text string, record func(channel, thread string) error) error {
	if a.supportChannel == "" {
		return errNoSupportChannel
	}
	ch, ts, err := a.postSupport(ctx, a.supportChannel, "", text, false, mrkdwnSection(text))
	if err != nil {
		return err
	}
	if record != nil {
		if err := record(ch, ts); err != nil {
			return err
		}
	}
	take := slackapi.NewButtonBlockElement(actionTakeOver, conv.String(), plain(a.staffText("slack.button.take_over", nil)))
	take.Style = slackapi.StylePrimary
	return a.call(ctx, func() error {
		_, _, _, err := a.api.UpdateMessageContext(ctx, ch, ts, slackapi.MsgOptionText(text, false),
			slackapi.MsgOptionBlocks(mrkdwnSection(text), slackapi.NewActionBlock("", take)))
		return err
	})
}

// postSupport posts text (escaped when escape is set), with blocks if
// any, to channel, in thread when thread is not empty; it returns the
// channel and the message's ts.
func (a *Adapter) postSupport(ctx context.Context, channel, thread, text string, escape bool, blocks ...slackapi.Block) (string, string, error) {
	opts := []slackapi.MsgOption{slackapi.MsgOptionText(text, escape)}
	if len(blocks) > 0 {
		opts = append(opts, slackapi.MsgOptionBlocks(blocks...))
	}
	if thread != "" {
		opts = append(opts, slackapi.MsgOptionTS(thread))
	}
	var ch, ts string
	err := a.call(ctx, func() (err error) {
		ch, ts, err = a.api.PostMessageContext(ctx, channel, opts...)
		return err
	})
	if channel == a.supportChannel {
		switch slackError(err) {
		case "not_in_channel", "channel_not_found", "is_archived":
			a.supportDown.Store(true)
			return "", "", fmt.Errorf("%w (%v)", errNotInSupportChannel, err)
		case "":
			if err == nil {
				a.supportDown.Store(false)
			}
		}
	}
	if err != nil {
		return "", "", err
	}
	if ch == "" {
		ch = channel
	}
	return ch, ts, nil
}

// mrkdwnSection is a section block of mrkdwn text.
func mrkdwnSection(text string) slackapi.Block {
	return slackapi.NewSectionBlock(slackapi.NewTextBlockObject(slackapi.MarkdownType, text, false, false), nil, nil)
}
