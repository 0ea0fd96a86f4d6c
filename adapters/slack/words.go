package slack

import "guidedfix/bot"

var _ bot.WordSource = (*Adapter)(nil)

// Wording returns Slack's platform words for the engine's texts
// (bot.WordSource, issue 12): commands are typed as plain words in the DM
// or given to the slash command as configured (Options.Command, e.g.
// "/helpdesk"), which texts see as {{.Command}}; secrets are typed into a
// private form (a modal, views.open) that a button opens, because a bot
// token cannot delete what the user wrote. The texts are the
// "slack.words.*" ids of adapters/slack/locales.
func (a *Adapter) Wording() bot.Wording {
	return bot.Wording{
		Say:     "slack.words.say",
		Typed:   "slack.words.typed",
		Begin:   "slack.words.begin",
		Tap:     "slack.words.tap",
		Here:    "slack.words.here",
		Support: "slack.words.support",
		Data:    map[string]any{"Command": a.command},
	}
}
