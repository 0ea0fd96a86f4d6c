package bot_test

import (
	"context"
	"testing"
	"testing/fstest"

	"guidedfix/bot"
)

// wordyRecorder is a recorder whose channel has its own platform words.
type wordyRecorder struct {
	recorder
	w bot.Wording
}

func (r *wordyRecorder) Wording() bot.Wording { return r.w }

// testWords is a catalog of made-up platform words and a text using all
// of them, in English and Malay.
var testWords = fstest.MapFS{
	"en.yaml": {Data: []byte(`test.words.say: "say {{.Name}} via {{.Command}}"
test.words.typed: "typed:{{.Name}}"
test.words.begin: "begin:{{.Command}}:{{.Name}}"
test.words.tap: "élire"
test.words.here: "in-form"
test.words.support: "ask-desk"
test.all: "{{.W.Say.cancel.Cap}}|{{.W.Typed.help}}|{{index .W.Say \"start\"}}|{{.W.Begin}}|{{.W.Tap.Cap}}|{{.W.Here}}|{{.W.Support}}|{{.Extra}}|{{with .W.Say.nope}}np{{end}}|{{with index .W.Say \"nope\"}}np{{end}}"
`)},
	"ms.yaml": {Data: []byte(`test.words.say: "sebut {{.Name}} melalui {{.Command}}"
test.words.typed: "taip:{{.Name}}"
test.words.begin: "mula:{{.Command}}:{{.Name}}"
test.words.tap: "pilih"
test.words.here: "dalam-borang"
test.words.support: "tanya-meja"
test.all: "{{.W.Say.cancel.Cap}}|{{.W.Typed.help}}|{{index .W.Say \"start\"}}|{{.W.Begin}}|{{.W.Tap.Cap}}|{{.W.Here}}|{{.W.Support}}|{{.Extra}}|{{with .W.Say.nope}}np{{end}}|{{with index .W.Say \"nope\"}}np{{end}}"
`)},
}

func testWording(command string) bot.Wording {
	return bot.Wording{Say: "test.words.say", Typed: "test.words.typed", Begin: "test.words.begin",
		Tap: "test.words.tap", Here: "test.words.here", Support: "test.words.support",
		Data: map[string]any{"Command": command}}
}

// TestTextsGetTheChannelsWords: Engine.Text and Turn.T give every text the
// platform words of its channel under .W, rendered from the adapter's
// Wording in the text's language, one per engine command; a channel
// without a WordSource gets bot.DefaultWording; a new Register or
// Catalog.Load is seen at once.
func TestTextsGetTheChannelsWords(t *testing.T) {
	e, _, rec, _, _ := newEngine(t)
	if err := e.Catalog().Load(testWords, "en.yaml", "ms.yaml"); err != nil {
		t.Fatal(err)
	}
	// "test" has a plain Deliverer: the engine's default words.
	data := map[string]any{"Extra": "x"}
	def := e.Words("en", "test")
	want := def.Say["cancel"].Cap() + "|" + string(def.Typed["help"]) + "|" + string(def.Say["start"]) + "|" + string(def.Begin) + "|" + def.Tap.Cap() + "|" + string(def.Here) + "|" + string(def.Support) + "|x||"
	if got := e.Text("en", "test", "test.all", data); got != want {
		t.Fatalf("default words: %q, want %q", got, want)
	}
	if len(data) != 1 {
		t.Fatalf("Text changed the caller's data: %v", data)
	}
	if u := e.Words("en", "unregistered"); u.Begin != def.Begin || u.Say["cancel"] != def.Say["cancel"] {
		t.Fatalf("an unregistered channel's words %+v differ from a plain Deliverer's %+v", u, def)
	}
	if def.Say["cancel"] == "" || def.Typed["help"] == "" || def.Begin == "" || def.Tap == "" || def.Here == "" || def.Support == "" {
		t.Fatalf("empty default words %+v", def)
	}

	w := &wordyRecorder{w: testWording("/x")}
	e.Register("wordy", w)
	if got, want := e.Text("en", "wordy", "test.all", data), "Say cancel via /x|typed:help|say start via /x|begin:/x:start|Élire|in-form|ask-desk|x||"; got != want {
		t.Fatalf("wordy en: %q, want %q", got, want)
	}
	if got, want := e.Text("ms", "wordy", "test.all", data), "Sebut cancel melalui /x|taip:help|sebut start melalui /x|mula:/x:start|Pilih|dalam-borang|tanya-meja|x||"; got != want {
		t.Fatalf("wordy ms: %q, want %q", got, want)
	}
	ws := e.Words("en", "wordy")
	if len(ws.Say) != len(e.Commands()) || len(ws.Typed) != len(e.Commands()) {
		t.Fatalf("%d Say, %d Typed words for commands %v", len(ws.Say), len(ws.Typed), e.Commands())
	}
	ws.Say["cancel"] = "changed"
	if e.Words("en", "wordy").Say["cancel"] != "say cancel via /x" {
		t.Fatal("Words returned the engine's own map")
	}

	// A new Register with other words is seen at once (the cache is
	// dropped), and so is a Catalog.Load that changes a word.
	e.Register("wordy", &wordyRecorder{w: testWording("/y")})
	if got := e.Words("en", "wordy").Begin; got != "begin:/y:start" {
		t.Fatalf("Begin after Register %q, want begin:/y:start", got)
	}
	if err := e.Catalog().Load(fstest.MapFS{"en.yaml": {Data: []byte(`test.words.here: "in-modal"` + "\n")}}, "en.yaml"); err != nil {
		t.Fatal(err)
	}
	if got := e.Words("en", "wordy").Here; got != "in-modal" {
		t.Fatalf("Here after Load %q, want in-modal", got)
	}
	// A Wording that leaves a word out gets the default's.
	partial := testWording("/z")
	partial.Tap = ""
	e.Register("partial", &wordyRecorder{w: partial})
	if got := e.Words("en", "partial").Tap; got != def.Tap {
		t.Fatalf("Tap of a Wording without one %q, want the default %q", got, def.Tap)
	}

	// Turn.T: a flow's text in a turn on the wordy channel (echoFlow
	// starts with engine.help_idle, which says how to begin).
	e.Register("wordy", w)
	c := bot.Conversation{Channel: "wordy", ID: "7"}
	if err := e.Handle(context.Background(), bot.Event{Conversation: c, UserID: "7", UpdateID: "w1", Kind: bot.KindStart}); err != nil {
		t.Fatal(err)
	}
	w.mu.Lock()
	n := len(w.replies)
	var got bot.Reply
	if n > 0 {
		got = w.replies[0]
	}
	w.mu.Unlock()
	if n != 1 || got.ID != "engine.help_idle" || got.Text != e.Text("en", "wordy", "engine.help_idle", nil) || got.Text == e.Text("en", "test", "engine.help_idle", nil) {
		t.Fatalf("start on the wordy channel: %d replies, first %+v", n, got)
	}
	if len(rec.replies) != 0 {
		t.Fatalf("the test channel got %d replies", len(rec.replies))
	}
}

// TestWordCap: Cap upper-cases the first letter only, Unicode included.
func TestWordCap(t *testing.T) {
	for in, want := range map[bot.Word]string{"": "", "send /cancel": "Send /cancel", "élire x": "Élire x", "/x": "/x", "Já": "Já"} {
		if got := in.Cap(); got != want {
			t.Errorf("Word(%q).Cap() = %q, want %q", in, got, want)
		}
	}
}
