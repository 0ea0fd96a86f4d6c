package telegram

import "guidedfix/bot"

var _ bot.WordSource = (*Adapter)(nil)

// Wording returns Telegram's platform words for the engine's texts
// (bot.WordSource, issue 12): commands are sent as bot commands ("/cancel",
// core.telegram.org/bots#commands), buttons are inline keyboard buttons
// one taps, secrets are typed in the private chat (the bot deletes them).
// The texts are the "telegram.words.*" ids of adapters/telegram/locales.
func (a *Adapter) Wording() bot.Wording {
	return bot.Wording{
		Say:     "telegram.words.say",
		Typed:   "telegram.words.typed",
		Begin:   "telegram.words.begin",
		Tap:     "telegram.words.tap",
		Here:    "telegram.words.here",
		Support: "telegram.words.support",
	}
}
