package console

import (
	"embed"
	"io/fs"

	"guidedfix/bot"
)

//go:embed locales/*.yaml
var messages embed.FS

var (
	_ bot.WordSource    = (*Console)(nil)
	_ bot.MessageSource = (*Console)(nil)
)

// Wording returns the console's platform words for the engine's texts
// (bot.WordSource, issue 12): commands are typed lines ("type /cancel"),
// buttons are chosen by label or number ("choose", as a terminal has
// nothing to tap), secrets are typed here (without echo on a terminal).
// The texts are the "console.words.*" ids of adapters/console/locales;
// load them with Messages before the first turn.
func (c *Console) Wording() bot.Wording {
	return bot.Wording{
		Say:     "console.words.say",
		Typed:   "console.words.typed",
		Begin:   "console.words.begin",
		Tap:     "console.words.tap",
		Here:    "console.words.here",
		Support: "console.words.support",
	}
}

// Messages returns the file system and paths of the console's catalog
// files (en and ms) for bot.Catalog.Load (bot.MessageSource).
func (c *Console) Messages() (fs.FS, []string) {
	return messages, []string{"locales/en.yaml", "locales/ms.yaml"}
}
