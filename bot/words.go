package bot

import (
	"maps"
	"strings"
	"unicode"
	"unicode/utf8"
)

// WordsKey is the template data key under which every text the engine
// renders (Turn.T, Engine.Text) finds the platform words of its channel, a
// Words value: a catalog text writes "{{.W.Say.cancel.Cap}} to stop" and
// reads "Send /cancel to stop" in Telegram, "Say cancel (or /helpdesk
// cancel) to stop" in Slack with the slash command /helpdesk. Flows never
// copy a text per platform (issue 12).
const WordsKey = "W"

// Word is one rendered platform word or phrase, in lower case as it reads
// inside a sentence ("send /cancel"). In a template, {{.W.Begin}} prints it
// as is and {{.W.Begin.Cap}} with its first letter upper-cased, for the
// start of a sentence.
type Word string

// Cap returns w with its first letter upper-cased (Unicode simple case
// mapping), for the start of a sentence; "" stays "".
func (w Word) Cap() string {
	r, n := utf8.DecodeRuneInString(string(w))
	if n == 0 {
		return ""
	}
	return string(unicode.ToUpper(r)) + string(w[n:])
}

// String returns w as it reads inside a sentence.
func (w Word) String() string { return string(w) }

// Words are the platform words of one channel in one language, as texts
// see them under WordsKey. Say and Typed have an entry for each of the
// engine's commands (Engine.Commands: every flow's start commands, then
// "cancel" and "help"), keyed by the command word. A template reaches a
// key that is not a Go identifier with index ({{index .W.Say "2fa"}}); a
// text that names another flow's command guards it, as that flow may not
// be registered: {{with .W.Say.newphone}}{{.Cap}} …{{end}} is empty then
// (text/template prints a missing key as "<no value>").
type Words struct {
	// Say tells how to give a command, as an imperative phrase: "send
	// /cancel" (Telegram), "say cancel (or /helpdesk cancel)" (Slack),
	// "type /cancel" (console).
	Say map[string]Word
	// Typed is a command as it is typed: "/help" (Telegram, console),
	// "help" (Slack).
	Typed map[string]Word
	// Begin tells how to begin a guided change afresh: "send /start"
	// (Telegram), "use /helpdesk" (Slack), "type /start" (console).
	Begin Word
	// Tap is the verb for choosing one of a message's buttons: "tap" on
	// the chat platforms, "choose" on the console (no buttons to tap).
	Tap Word
	// Here says where a secret (password, code) is typed, after "type it":
	// "here" (Telegram, console), "in the private form (tap the button
	// below to open it)" (Slack, whose messages the bot cannot delete).
	Here Word
	// Support tells the other way to reach the support team when the bot
	// cannot, as an imperative phrase ("ask in your usual support channel"
	// in Slack).
	Support Word
}

// Wording is what an adapter supplies for its channel's Words: the catalog
// id of each word's text (the adapter loads those texts into the engine's
// catalog, in every language the catalogs have) and the template data they
// share. The Say and Typed texts are rendered once per command with the
// command word as {{.Name}}, Begin with the default flow's first start
// command (Engine.Commands()[0]) as {{.Name}}. An empty id falls back to
// DefaultWording's.
type Wording struct {
	// Say, Typed, Begin, Tap, Here and Support are catalog ids of the
	// fields of the same names in Words.
	Say, Typed, Begin, Tap, Here, Support string
	// Data is the template data of those texts besides Name, e.g.
	// {"Command": "/helpdesk"}, Slack's configured slash command. It must
	// not hold a secret.
	Data map[string]any
}

// WordSource is implemented by a Deliverer whose channel has its own
// platform words. The engine calls Wording when it first renders a text
// for the channel after Register or a Catalog.Load, so the value must not
// change in between; a Deliverer that does not implement it gets
// DefaultWording.
type WordSource interface {
	// Wording returns the channel's words (see Wording).
	Wording() Wording
}

// DefaultWording is the engine's own wording (bot/locales), used for a
// channel whose Deliverer is not a WordSource and for every field a
// Wording leaves empty: slash commands that are sent ("send /cancel"),
// buttons that are tapped, secrets typed here.
var DefaultWording = Wording{
	Say:     "engine.words.say",
	Typed:   "engine.words.typed",
	Begin:   "engine.words.begin",
	Tap:     "engine.words.tap",
	Here:    "engine.words.here",
	Support: "engine.words.support",
}

// Words returns the platform words of channel in locale (a BCP 47 tag;
// empty or unknown falls back to English), as texts see them under
// WordsKey. The maps are copies.
func (e *Engine) Words(locale, channel string) Words {
	w := e.words(locale, channel)
	w.Say, w.Typed = maps.Clone(w.Say), maps.Clone(w.Typed)
	return w
}

// Text renders catalog message id in locale for channel with data as
// template data plus the channel's platform words under WordsKey (see
// Catalog.Text for the plural and missing-id rules). Adapters use it for
// engine and flow texts they send outside a turn.
func (e *Engine) Text(locale, channel, id string, data map[string]any) string {
	d := make(map[string]any, len(data)+1)
	maps.Copy(d, data)
	d[WordsKey] = e.words(locale, channel)
	return e.catalog.Text(locale, id, d)
}

// words returns the cached Words of channel in locale, rendering them on
// first use. The result is shared: callers must not change its maps.
func (e *Engine) words(locale, channel string) Words {
	key := locale + "\x00" + channel
	gen := e.catalog.generation()
	e.wordsMu.Lock()
	if e.wordsGen != gen {
		e.wordsCache, e.wordsGen = nil, gen
	}
	w, ok := e.wordsCache[key]
	epoch := e.wordsEpoch
	e.wordsMu.Unlock()
	if ok {
		return w
	}
	src := e.wording(channel)
	render := func(id, fallback, name string) Word {
		if id == "" {
			id = fallback
		}
		d := make(map[string]any, len(src.Data)+1)
		maps.Copy(d, src.Data)
		if name != "" {
			d["Name"] = name
		}
		return Word(strings.TrimSpace(e.catalog.Text(locale, id, d)))
	}
	def := DefaultWording
	w = Words{
		Say:     map[string]Word{},
		Typed:   map[string]Word{},
		Begin:   render(src.Begin, def.Begin, e.commands[0]),
		Tap:     render(src.Tap, def.Tap, ""),
		Here:    render(src.Here, def.Here, ""),
		Support: render(src.Support, def.Support, ""),
	}
	for _, c := range e.commands {
		w.Say[c] = render(src.Say, def.Say, c)
		w.Typed[c] = render(src.Typed, def.Typed, c)
	}
	e.wordsMu.Lock()
	if e.wordsGen == gen && e.wordsEpoch == epoch {
		if e.wordsCache == nil {
			e.wordsCache = map[string]Words{}
		}
		e.wordsCache[key] = w
	}
	e.wordsMu.Unlock()
	return w
}

// wording returns the Wording of channel's Deliverer, or DefaultWording.
func (e *Engine) wording(channel string) Wording {
	if ws, ok := e.deliverer(channel).(WordSource); ok {
		return ws.Wording()
	}
	return DefaultWording
}

// forgetWords drops the cached Words (a channel's Deliverer changed).
func (e *Engine) forgetWords() {
	e.wordsMu.Lock()
	e.wordsCache = nil
	e.wordsEpoch++
	e.wordsMu.Unlock()
}
