package telegram

import "guidedfix/bot"

var _ bot.WordSource = (*Adapter)(nil)

// Wording returns Telegram's platform words for the engine's texts
// (bot.WordSource, issue 12): commands are sent as bot commands ("/cancel",
// core.telegram.org/bots#commands), buttons are inline keyboard buttons
// one taps, secrets are typed in the private chat (the bot deletes them).
// Those are the engine's defaults (bot.DefaultWording); only the way to
// reach support when the bot cannot is Telegram's own,
// "telegram.words.support" of adapters/telegram/locales.
func (a *Adapter) Wording() bot.Wording {
	return bot.Wording{Support: "telegram.words.support"}
}
