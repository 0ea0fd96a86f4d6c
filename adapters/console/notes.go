package console

import (
	"maps"
	"sync"

	"guidedfix/bot"
)

// Ids of the console's own notes (adapters/console/locales): lines the
// terminal prints itself, not replies of the engine or a flow. They are
// rendered in the console's locale (the session's, else Options.Locale)
// with the console's platform words ({{.W.Begin}}, bot.Words).
const (
	// MsgIdleHint says how to begin again or leave, once no guided change
	// runs.
	MsgIdleHint = "console.note.idle_hint"
	// MsgQRRemoved notes that the QR code image above was deleted.
	MsgQRRemoved = "console.note.qr_removed"
	// MsgKeyRemoved notes that the manual key above was deleted.
	MsgKeyRemoved = "console.note.key_removed"
	// MsgInputEnded says the input ended with a guided change unfinished,
	// which the console then cancels.
	MsgInputEnded = "console.note.input_ended"
	// MsgDemoOutbox tells where the demo's local portal left its mail
	// (data "Mail"), SMS ("SMS") and log ("Log"): directory and file paths.
	MsgDemoOutbox = "console.note.demo_outbox"
	// MsgDemoRemote tells that the remote portal (data "Portal", its URL)
	// sent the SMS and mail, and where the log is ("Log", a file path).
	MsgDemoRemote = "console.note.demo_remote"
)

// TextFunc renders catalog message id in locale for channel with data and
// the channel's platform words, the way bot.Engine.Text does (pass that
// method value).
type TextFunc func(locale, channel, id string, data map[string]any) string

// ownCatalog is the console's catalog for a Console without Options.Text
// (tests, tools): its notes with words of its own (commands typed as
// "/word", the default flow begun with /start).
var ownCatalog = sync.OnceValue(func() *bot.Catalog {
	c := bot.NewCatalog()
	if err := c.Load(messages, "locales/en.yaml", "locales/ms.yaml"); err != nil {
		panic("console: own catalog: " + err.Error())
	}
	return c
})

// setLocale records the locale notes are rendered in (the session's);
// "" keeps the current one.
func (c *Console) setLocale(locale string) {
	if locale == "" {
		return
	}
	c.locMu.Lock()
	c.locale = locale
	c.locMu.Unlock()
}

// Note renders the console note id (one of the Msg* ids above) with data
// in the console's current locale: the last session's, else
// Options.Locale. It uses Options.Text when set, else the console's own
// catalog; an unknown id renders as "[id]" (bot.Catalog.Text).
func (c *Console) Note(id string, data map[string]any) string {
	c.locMu.Lock()
	locale := c.locale
	c.locMu.Unlock()
	if locale == "" {
		locale = c.opts.Locale
	}
	if c.opts.Text != nil {
		return c.opts.Text(locale, Channel, id, data)
	}
	cat := ownCatalog()
	w := c.Wording()
	word := func(wid, name string) bot.Word {
		return bot.Word(cat.Text(locale, wid, map[string]any{"Name": name}))
	}
	d := make(map[string]any, len(data)+1)
	maps.Copy(d, data)
	d[bot.WordsKey] = bot.Words{Begin: word(w.Begin, "start"), Tap: word(w.Tap, ""), Here: word(w.Here, ""), Support: word(w.Support, "")}
	return cat.Text(locale, id, d)
}
