package slack

import (
	"context"

	slackapi "github.com/slack-go/slack"

	"guidedfix/bot"
)

// actionLink is the action_id of a bot.Link's URL button. Slack still
// sends a block_actions event when it is clicked; onAction ignores it.
const actionLink = "guidedfix_link"

// postLink sends r, whose Link is set, like post does, with the Link's
// URL button first in the actions block (beside the modal's Enter button
// of prompt p, which stays as the fallback) and link unfurling off
// (unfurl_links and unfurl_media false), and returns the message ts.
func (a *Adapter) postLink(ctx context.Context, ch string, r bot.Reply, p *prompt) (string, error) {
	blocks := a.blocks(r.Text, r.Buttons, p)
	link := slackapi.NewButtonBlockElement(actionLink, "link", plain(r.Link.Label))
	link.URL = r.Link.URL
	link.Style = slackapi.StylePrimary
	if len(blocks) > 1 {
		act := blocks[1].(*slackapi.ActionBlock)
		for _, el := range act.Elements.ElementSet {
			if b, ok := el.(*slackapi.ButtonBlockElement); ok && b.ActionID == actionSecret {
				b.Style = "" // one primary button: the page
			}
		}
		act.Elements.ElementSet = append([]slackapi.BlockElement{link}, act.Elements.ElementSet...)
	} else {
		blocks = append(blocks, slackapi.NewActionBlock("", link))
	}
	var ts string
	err := a.call(ctx, func() (err error) {
		_, ts, err = a.api.PostMessageContext(ctx, ch, slackapi.MsgOptionText(r.Text, false), slackapi.MsgOptionBlocks(blocks...),
			slackapi.MsgOptionDisableLinkUnfurl(), slackapi.MsgOptionDisableMediaUnfurl())
		return err
	})
	return ts, deliverErr(err)
}
