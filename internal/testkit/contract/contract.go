// Package contract is the adapter contract test (issue 12): one suite, Run,
// that drives a chat adapter through the scripted test flow
// (internal/testkit/scriptflow) and checks what reached the platform —
// messages sent, edited and deleted by their platform ids, buttons, the
// private image, protection, the secret prompt and the deletion of a
// typed answer — and that the bad inputs (typed text, unsupported media,
// stale and forged buttons, text at a secret prompt, a duplicate delivery)
// change nothing. Each adapter's tests provide a Driver over the adapter's
// real code and its platform fake (adapters/telegram/fakebotapi with
// go-telegram/bot, adapters/slack/fakeslack with slack-go, the console's
// Deliver and line parser). Only tests import it.
//
// Checks compare catalog ids, platform message ids, counts and states,
// never English wording: a driver maps the texts it finds on the platform
// back to catalog ids with Resolver.
package contract

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/testkit"
	"guidedfix/internal/testkit/scriptflow"
)

// Kind is what one platform effect did.
type Kind string

const (
	// Send is a new message of the bot (text, image, prompt).
	Send Kind = "send"
	// Edit changed the text and buttons of an earlier bot message.
	Edit Kind = "edit"
	// Delete removed one or more messages in one platform call.
	Delete Kind = "delete"
	// Notice is a short answer that is not a chat message (Telegram's
	// answerCallbackQuery text, Slack's ephemeral message or modal error).
	Notice Kind = "notice"
)

// Effect is one observable change on the platform, read by a driver from
// the platform fake's record (not from the adapter's input).
type Effect struct {
	// Kind is Send, Edit, Delete or Notice.
	Kind Kind
	// Msgs are the platform ids of the messages sent, edited or deleted
	// (Telegram message_id, Slack ts or "file:<id>", console "m<n>" or the
	// image path); a batched delete lists several.
	Msgs []string
	// ID is the catalog id of the text shown ("" for deletes, and when the
	// text is none of the resolver's ids).
	ID string
	// Buttons are the catalog label ids of the buttons shown with the
	// message, in order, without the platform's own (Slack's Enter
	// button).
	Buttons []string
	// Image says the message is an image (Telegram sendPhoto, Slack file,
	// console PNG file).
	Image bool
	// Protected says the platform was asked to prevent forwarding and
	// saving (Telegram protect_content).
	Protected bool
	// Prompt says the message carries the platform's private way to
	// answer a secret (Slack's Enter button that opens a modal).
	Prompt bool
	// User says a Delete removed the user's own message.
	User bool
	// Code says the message shows scriptflow.Key as copyable code
	// (bot.Reply.Code: Telegram's "code" entity over it and a copy_text
	// button, which is not among Buttons).
	Code bool
}

// String prints e compactly for failure messages.
func (e Effect) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s%v", e.Kind, e.Msgs)
	if e.ID != "" {
		b.WriteString(" " + e.ID)
	}
	if len(e.Buttons) > 0 {
		fmt.Fprintf(&b, " %v", e.Buttons)
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{e.Image, "image"}, {e.Protected, "protected"}, {e.Prompt, "prompt"}, {e.User, "user"}, {e.Code, "code"}} {
		if f.on {
			b.WriteString(" +" + f.name)
		}
	}
	return b.String()
}

// Caps says how a platform differs where the contract allows it to.
type Caps struct {
	// Protect: the platform honours bot.Reply.Protected (Telegram).
	Protect bool
	// BatchDelete: several deletions by ref go out in one call
	// (bot.BatchDeleter, Telegram deleteMessages).
	BatchDelete bool
	// TypedSecret is what text typed at a secret prompt does: "used" (the
	// engine takes it as the answer and deletes the message: Telegram),
	// "refused" (the bot cannot delete it, so it is never used and the
	// private form is offered again: Slack), or "read" (the line is the
	// answer and there is no message to delete: the console).
	TypedSecret string
	// Unsupported: the platform can deliver media the flow cannot read.
	Unsupported bool
	// Redeliver: the platform can deliver the same update twice.
	Redeliver bool
	// ForgeButtons: a client can send button data of its own (Telegram
	// callback_data, Slack action value), so stale and forged presses
	// are checked.
	ForgeButtons bool
	// Code: the platform shows bot.Reply.Code as copyable code
	// (Telegram); elsewhere the key is plain text.
	Code bool
	// PromptForm: a secret prompt carries the platform's private form
	// (Slack's Enter button), so Effect.Prompt is set on it.
	PromptForm bool
	// PromptInModal: a prompt that repeats the question just answered
	// wrongly is shown in the open modal instead of as a new message,
	// with the answer before it (Slack's response_action "errors", a
	// Notice with their ids), and the right answer closes it.
	PromptInModal bool
}

// Driver drives one adapter, over its real code and its platform fake,
// for one user in one private conversation. Methods fail the test they
// were made for on a platform error, and return once the adapter has
// finished the work the input caused.
type Driver interface {
	// Env is the back end the adapter's engine runs on (its engine runs
	// scriptflow as its only flow).
	Env() *testkit.Env
	// Conversation is the engine's conversation of the user's chat.
	Conversation() bot.Conversation
	// Caps are the platform's allowed differences.
	Caps() Caps
	// Start begins the flow the platform's way (/start, the slash
	// command, the console's first line).
	Start()
	// Text sends typed text.
	Text(s string)
	// Command sends a command word ("cancel", "help").
	Command(name string)
	// Press presses the newest button whose action is action.
	Press(action string)
	// PressData presses a button carrying data (a stale or forged one) on
	// the newest message that has buttons.
	PressData(data string)
	// ButtonData returns the data of the newest button of action.
	ButtonData(action string) string
	// Secret answers the open secret prompt the platform's private way
	// (Telegram: a message the bot deletes; Slack: the modal; console: a
	// line read without echo).
	Secret(s string)
	// TypeAtPrompt types s as an ordinary message while a secret prompt
	// is open.
	TypeAtPrompt(s string)
	// Unsupported sends media the flow cannot read (a photo or a file).
	Unsupported()
	// Redeliver delivers the last update again (same update id).
	Redeliver()
	// Effects returns the platform effects since the last call.
	Effects() []Effect
}

// Resolver maps a rendered text back to its catalog id, for locale and
// channel as the engine renders them (with the channel's platform words,
// bot.Engine.Text). It renders on first use, so that it sees the words of
// the Deliverer registered by then.
type Resolver struct {
	eng             *bot.Engine
	locale, channel string
	once            sync.Once
	texts           map[string]string
}

// engineIDs are the engine texts the contract can meet.
var engineIDs = []string{bot.MsgStaleButton, bot.MsgNoSession, bot.MsgNotOwner, bot.MsgInternalError,
	bot.MsgDeleteFailed, bot.MsgTypedSecret, bot.MsgTypedPassword}

// NewResolver returns the resolver of scriptflow's and the engine's texts
// rendered by eng for locale and channel.
func NewResolver(eng *bot.Engine, locale, channel string) *Resolver {
	return &Resolver{eng: eng, locale: locale, channel: channel}
}

// ID returns the catalog id whose text is text (spaces around ignored),
// "a+b" for a message that joins the texts of a and b (bot.JoinReplies),
// or "" when none is.
func (r *Resolver) ID(text string) string {
	r.once.Do(func() {
		r.texts = map[string]string{}
		for _, id := range append(slices.Clone(scriptflow.IDs), engineIDs...) {
			data := map[string]any(nil)
			if id == scriptflow.MsgKey {
				data = map[string]any{"Key": scriptflow.Key}
			}
			r.texts[strings.TrimSpace(r.eng.Text(r.locale, r.channel, id, data))] = id
		}
	})
	text = strings.TrimSpace(text)
	if id, ok := r.texts[text]; ok {
		return id
	}
	// A joined message (bot.JoinReplies): the texts of its parts,
	// separated by a blank line.
	parts := strings.Split(text, "\n\n")
	ids := make([]string, len(parts))
	for i, p := range parts {
		if ids[i] = r.texts[strings.TrimSpace(p)]; ids[i] == "" {
			return ""
		}
	}
	return strings.Join(ids, "+")
}

// Run runs the contract suite: every subtest makes a fresh Driver with
// newDriver (which must register t's cleanups) for a user whose platform
// reports the language locale (a BCP 47 tag: "en", or "ms" for the Malay
// subtest; the driver gives it the platform's form, e.g. Slack's "ms-MY",
// and resolves texts in it) and walks scriptflow.
func Run(t *testing.T, newDriver func(t *testing.T, locale string) Driver) {
	en := func(t *testing.T) Driver { return newDriver(t, "en") }
	t.Run("MainPath", func(t *testing.T) { mainPath(t, en(t)) })
	t.Run("BadInputs", func(t *testing.T) { badInputs(t, en(t)) })
	t.Run("SecretTypedAtPrompt", func(t *testing.T) { typedAtPrompt(t, en(t)) })
	t.Run("StaleAndForgedButtons", func(t *testing.T) { staleButtons(t, en(t)) })
	t.Run("CancelDeletesSensitive", func(t *testing.T) { cancel(t, en(t)) })
	t.Run("ExpiryDeletesSensitive", func(t *testing.T) { expiry(t, en(t)) })
	t.Run("MalayUser", func(t *testing.T) { malay(t, newDriver(t, "ms")) })
}

// session returns the stored session of d's conversation.
func session(t *testing.T, d Driver) *bot.Session {
	t.Helper()
	s, err := d.Env().Engine.Session(context.Background(), d.Conversation())
	if err != nil {
		t.Fatalf("session: %v", err)
	}
	return s
}

func wantState(t *testing.T, d Driver, st bot.State, step int) *bot.Session {
	t.Helper()
	s := session(t, d)
	if s.State != st || s.Step != step {
		t.Fatalf("session at %s step %d, want %s step %d", s.State, s.Step, st, step)
	}
	return s
}

// want fails unless effects equal want exactly.
func want(t *testing.T, what string, got []Effect, want ...Effect) {
	t.Helper()
	t.Logf("%s:\n%s", what, list(got))
	if !slices.EqualFunc(got, want, func(a, b Effect) bool { return a.String() == b.String() }) {
		t.Fatalf("%s: platform effects\n%s\nwant\n%s", what, list(got), list(want))
	}
}

func list(es []Effect) string {
	if len(es) == 0 {
		return "  (none)"
	}
	var b strings.Builder
	for _, e := range es {
		b.WriteString("  " + e.String() + "\n")
	}
	return strings.TrimRight(b.String(), "\n")
}

// only returns the effects of kind k.
func only(es []Effect, k Kind) []Effect {
	return slices.DeleteFunc(slices.Clone(es), func(e Effect) bool { return e.Kind != k })
}

// register marks scriptflow's secrets as values that must never reach the
// log or the session store (checked by testkit on cleanup).
func register(d Driver) {
	d.Env().AddSecret(scriptflow.Passphrase, scriptflow.Key, strings.ReplaceAll(scriptflow.Key, " ", ""), "wrong-passphrase-1234")
}

// toPrompt walks d from the start to the secret prompt and returns the
// platform ids of the hello message and of the messages that show the
// image, the key and the prompt. A platform that joins a turn's
// consecutive sends (bot.Joiner) may show several of these in one
// message; the session's refs then name that one message.
func toPrompt(t *testing.T, d Driver) (hello, image, key, prompt string) {
	t.Helper()
	register(d)
	caps := d.Caps()
	d.Start()
	es := d.Effects()
	want(t, "start", only(es, Send), Effect{Kind: Send, Msgs: msgs(es, 0), ID: scriptflow.MsgHello, Buttons: []string{scriptflow.LabelGo}})
	hello = es[0].Msgs[0]
	wantState(t, d, scriptflow.StateGreeted, 1)

	d.Press(scriptflow.ActionGo)
	es = d.Effects()
	want(t, "Go", slices.DeleteFunc(es, func(e Effect) bool { return e.Kind == Notice }),
		Effect{Kind: Edit, Msgs: []string{hello}, ID: scriptflow.MsgEdited, Buttons: []string{scriptflow.LabelNext}})
	wantState(t, d, scriptflow.StateEdited, 2)

	d.Press(scriptflow.ActionNext)
	es = slices.DeleteFunc(d.Effects(), func(e Effect) bool { return e.Kind == Notice })
	t.Logf("Next:\n%s", list(es))
	ids, in := shown(es)
	if len(es) != len(only(es, Send)) || !slices.Equal(ids, []string{scriptflow.MsgQR, scriptflow.MsgKey, scriptflow.MsgAskSecret}) {
		t.Fatalf("Next: platform effects\n%s\nwant sends showing the image, the key and the prompt, in order", list(es))
	}
	for _, e := range es {
		if e.Image != (e.Msgs[0] == in[scriptflow.MsgQR].Msgs[0]) || len(e.Buttons) != 0 {
			t.Fatalf("Next: %s: want the image only in the image's message, and no buttons", e)
		}
	}
	if in[scriptflow.MsgQR].Protected != caps.Protect || in[scriptflow.MsgKey].Protected != caps.Protect {
		t.Fatalf("Next: the image's and the key's messages protected %v and %v, want %v",
			in[scriptflow.MsgQR].Protected, in[scriptflow.MsgKey].Protected, caps.Protect)
	}
	if in[scriptflow.MsgAskSecret].Prompt != caps.PromptForm {
		t.Fatalf("Next: the prompt's message has the private form %v, want %v", in[scriptflow.MsgAskSecret].Prompt, caps.PromptForm)
	}
	for _, e := range es {
		if e.Code != (caps.Code && e.Msgs[0] == in[scriptflow.MsgKey].Msgs[0]) {
			t.Fatalf("Next: %s: want the key as code (%v) in the key's message only", e, caps.Code)
		}
	}
	image, key, prompt = in[scriptflow.MsgQR].Msgs[0], in[scriptflow.MsgKey].Msgs[0], in[scriptflow.MsgAskSecret].Msgs[0]
	if image == hello || key == hello || prompt == hello {
		t.Fatalf("message ids %q %q %q reuse the hello message %q", image, key, prompt, hello)
	}
	s := wantState(t, d, scriptflow.StateAsking, 3)
	if s.Expect != bot.SecretPassword {
		t.Fatalf("expect %q, want %q", s.Expect, bot.SecretPassword)
	}
	// The engine's refs name the platform's messages.
	for ref, id := range map[string]string{scriptflow.RefHello: hello, scriptflow.RefQR: image, scriptflow.RefKey: key, scriptflow.RefPrompt: prompt} {
		if s.Messages[ref] != id {
			t.Fatalf("session ref %q names message %q, want %q (refs %v)", ref, s.Messages[ref], id, s.Messages)
		}
	}
	return hello, image, key, prompt
}

// shown returns the catalog ids the sends of es show, in order (a joined
// message shows several, Effect.ID "a+b"), and the effect showing each.
func shown(es []Effect) ([]string, map[string]Effect) {
	var ids []string
	in := map[string]Effect{}
	for _, e := range only(es, Send) {
		for _, id := range strings.Split(e.ID, "+") {
			ids = append(ids, id)
			in[id] = e
		}
	}
	return ids, in
}

// toSends returns es as Send effects (to read what notices show).
func toSends(es []Effect) []Effect {
	out := slices.Clone(es)
	for i := range out {
		out[i].Kind = Send
	}
	return out
}

// deleted returns the sorted, distinct platform ids the Delete effects of
// es removed.
func deleted(es []Effect) []string {
	var out []string
	for _, e := range only(es, Delete) {
		out = append(out, e.Msgs...)
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// distinct returns ids sorted, without repeats.
func distinct(ids ...string) []string {
	out := slices.Clone(ids)
	slices.Sort(out)
	return slices.Compact(out)
}

func msgs(es []Effect, i int) []string {
	if i < len(es) {
		return es[i].Msgs
	}
	return nil
}

// mainPath walks the script to its end and checks every platform effect.
func mainPath(t *testing.T, d Driver) {
	caps := d.Caps()
	hello, image, key, _ := toPrompt(t, d)

	// A wrong secret: the answer and the prompt again (in one message
	// where the platform joins them; in the open modal where the platform
	// asks there), the state at the same step; nothing of the bot's is
	// deleted.
	d.Secret("wrong-passphrase-1234")
	raw := d.Effects()
	es := withoutUserDeletes(t, d, raw)
	t.Logf("wrong secret:\n%s", list(raw))
	wantIDs := []string{scriptflow.MsgSecretWrong, scriptflow.MsgAskSecret}
	if caps.PromptInModal {
		// The answer and the question again are the open modal's error
		// (Slack response_action "errors"): no message.
		var modal []Effect
		for _, e := range only(raw, Notice) {
			if e.ID != "" {
				modal = append(modal, e)
			}
		}
		if ids, _ := shown(toSends(modal)); len(es) != 0 || len(modal) != 1 || !slices.Equal(ids, wantIDs) {
			t.Fatalf("wrong secret: platform effects\n%s\nwant only the modal showing %q", list(raw), wantIDs)
		}
	} else {
		ids, in := shown(es)
		if len(es) != len(only(es, Send)) || !slices.Equal(ids, wantIDs) {
			t.Fatalf("wrong secret: platform effects\n%s\nwant sends showing %q", list(es), wantIDs)
		}
		if in[scriptflow.MsgAskSecret].Prompt != caps.PromptForm {
			t.Fatalf("wrong secret: the prompt again has the private form %v, want %v", in[scriptflow.MsgAskSecret].Prompt, caps.PromptForm)
		}
	}
	wantState(t, d, scriptflow.StateAsking, 3)

	// The right secret: the messages of the image and the key go (one
	// call where the platform batches), the confirmation comes with
	// Finish.
	d.Secret(scriptflow.Passphrase)
	es = withoutUserDeletes(t, d, d.Effects())
	if got, want := deleted(es), distinct(image, key); !slices.Equal(got, want) {
		t.Fatalf("right secret: deleted %q, want the image's and the key's messages %q:\n%s", got, want, list(es))
	}
	if dels := only(es, Delete); caps.BatchDelete && len(dels) != 1 {
		t.Fatalf("right secret: %d delete calls, want 1 batch:\n%s", len(dels), list(es))
	}
	sends := only(es, Send)
	want(t, "right secret (sent)", sends, Effect{Kind: Send, Msgs: msgs(sends, 0), ID: scriptflow.MsgSecretOK, Buttons: []string{scriptflow.LabelFinish}})
	if s := wantState(t, d, scriptflow.StateVerified, 4); s.Expect != bot.SecretNone {
		t.Fatalf("expect %q after the right secret", s.Expect)
	}

	d.Press(scriptflow.ActionFinish)
	es = slices.DeleteFunc(d.Effects(), func(e Effect) bool { return e.Kind == Notice })
	want(t, "Finish", es, Effect{Kind: Delete, Msgs: []string{hello}}, Effect{Kind: Send, Msgs: msgs(es, 1), ID: scriptflow.MsgDone})
	s := wantState(t, d, scriptflow.StateDone, 5)
	if !s.Done {
		t.Fatal("session not done after Finish")
	}
	for _, ref := range []string{scriptflow.RefHello, scriptflow.RefQR, scriptflow.RefKey} {
		if _, ok := s.Messages[ref]; ok {
			t.Fatalf("after Finish: refs %v, want none of the hello, image and key messages", s.Messages)
		}
	}
}

// withoutUserDeletes checks the deletion of the user's typed secret where
// the platform has one (Telegram) and returns the other effects.
func withoutUserDeletes(t *testing.T, d Driver, es []Effect) []Effect {
	t.Helper()
	var user, rest []Effect
	for _, e := range es {
		switch {
		case e.Kind == Delete && e.User:
			user = append(user, e)
		case e.Kind == Notice:
		default:
			rest = append(rest, e)
		}
	}
	if n := len(user); d.Caps().TypedSecret == "used" && n != 1 || d.Caps().TypedSecret != "used" && n != 0 {
		t.Fatalf("%d deletions of the user's message:\n%s", n, list(es))
	}
	return rest
}

// badInputs: typed text, unsupported media, help and a duplicate delivery
// are answered (or ignored) and change neither state nor step.
func badInputs(t *testing.T, d Driver) {
	register(d)
	caps := d.Caps()
	d.Start()
	d.Effects()
	before := wantState(t, d, scriptflow.StateGreeted, 1)

	d.Text("what is this")
	es := d.Effects()
	want(t, "typed text", es, Effect{Kind: Send, Msgs: msgs(es, 0), ID: scriptflow.MsgTextSeen})
	wantState(t, d, scriptflow.StateGreeted, 1)

	if caps.Unsupported {
		d.Unsupported()
		es = d.Effects()
		want(t, "unsupported media", es, Effect{Kind: Send, Msgs: msgs(es, 0), ID: scriptflow.MsgUnsupported})
		wantState(t, d, scriptflow.StateGreeted, 1)
	}

	d.Command("help")
	es = d.Effects()
	want(t, "help", es, Effect{Kind: Send, Msgs: msgs(es, 0), ID: scriptflow.MsgHelp})
	wantState(t, d, scriptflow.StateGreeted, 1)

	if caps.Redeliver {
		d.Redeliver()
		want(t, "duplicate delivery", d.Effects())
		wantState(t, d, scriptflow.StateGreeted, 1)
	}
	// The Go button still works after all of it.
	d.Press(scriptflow.ActionGo)
	es = slices.DeleteFunc(d.Effects(), func(e Effect) bool { return e.Kind == Notice })
	want(t, "Go", es, Effect{Kind: Edit, Msgs: msgs(es, 0), ID: scriptflow.MsgEdited, Buttons: []string{scriptflow.LabelNext}})
	if caps.Redeliver {
		// A button press delivered twice moves one step, not two.
		d.Redeliver()
		want(t, "duplicate button press", d.Effects())
	}
	if s := wantState(t, d, scriptflow.StateEdited, 2); s.ID != before.ID {
		t.Fatalf("session id changed from %s to %s", before.ID, s.ID)
	}
}

// typedAtPrompt: text typed at the secret prompt is used and deleted,
// refused, or read, as the platform allows (Caps.TypedSecret), and a
// typed right answer on a platform that refuses it is never taken.
func typedAtPrompt(t *testing.T, d Driver) {
	caps := d.Caps()
	toPrompt(t, d)
	d.TypeAtPrompt(scriptflow.Passphrase)
	es := d.Effects()
	switch caps.TypedSecret {
	case "used", "read":
		es = withoutUserDeletes(t, d, es)
		sends := only(es, Send)
		want(t, "typed right answer", only(es, Send), Effect{Kind: Send, Msgs: msgs(sends, 0), ID: scriptflow.MsgSecretOK, Buttons: []string{scriptflow.LabelFinish}})
		wantState(t, d, scriptflow.StateVerified, 4)
	case "refused":
		// Not used, not deleted (the bot cannot), the form offered again.
		want(t, "typed right answer", es, Effect{Kind: Send, Msgs: msgs(es, 0), ID: bot.MsgTypedPassword, Prompt: caps.PromptForm})
		wantState(t, d, scriptflow.StateAsking, 3)
		// The form still works.
		d.Secret(scriptflow.Passphrase)
		wantState(t, d, scriptflow.StateVerified, 4)
	default:
		t.Fatalf("Caps.TypedSecret %q", caps.TypedSecret)
	}
}

// staleButtons: a button of an earlier step, a forged nonce and an action
// the step did not offer are refused with the stale-button notice and
// change nothing; the current button then works.
func staleButtons(t *testing.T, d Driver) {
	if !d.Caps().ForgeButtons {
		t.Skip("the platform cannot send button data of its own")
	}
	register(d)
	d.Start()
	d.Effects()
	goData := d.ButtonData(scriptflow.ActionGo)
	d.Press(scriptflow.ActionGo)
	d.Effects()
	wantState(t, d, scriptflow.StateEdited, 2)
	nextData := d.ButtonData(scriptflow.ActionNext)
	_, nonce, _ := strings.Cut(nextData, "|")
	for _, data := range []string{
		goData,                                // the earlier step's button
		scriptflow.ActionNext + "|zz" + nonce, // a forged nonce
		scriptflow.ActionFinish + "|" + nonce, // an action this step did not offer
		"no-separator",
	} {
		d.PressData(data)
		es := d.Effects()
		n := 0
		for _, e := range es {
			if e.ID == bot.MsgStaleButton && (e.Kind == Notice || e.Kind == Send) {
				n++
			} else if e.Kind != Notice {
				t.Fatalf("button %q: unexpected effect %s:\n%s", data, e, list(es))
			}
		}
		if n != 1 {
			t.Fatalf("button %q: %d stale-button notices, want 1:\n%s", data, n, list(es))
		}
		wantState(t, d, scriptflow.StateEdited, 2)
	}
	d.Press(scriptflow.ActionNext)
	wantState(t, d, scriptflow.StateAsking, 3)
}

// cancel: /cancel at the prompt deletes the image and the key and ends
// the session.
func cancel(t *testing.T, d Driver) {
	_, image, key, _ := toPrompt(t, d)
	d.Command("cancel")
	wantEnded(t, d, "cancel", image, key, scriptflow.MsgCancelled, scriptflow.StateCancelled)
}

// expiry: a session left at the prompt expires when the sweeper runs after
// the idle timeout (15 minutes): the adapter delivers outside any turn of
// the user the deletion of the image and the key and the expiry notice.
func expiry(t *testing.T, d Driver) {
	_, image, key, _ := toPrompt(t, d)
	env := d.Env()
	env.Clock.Advance(15*time.Minute + time.Second)
	if n, err := env.Engine.Sweep(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("sweep: %d sessions, %v; want 1", n, err)
	}
	wantEnded(t, d, "expiry", image, key, scriptflow.MsgExpired, scriptflow.StateExpired)
}

// wantEnded checks the effects of an ending (what names it: "cancel",
// "expiry"): the image and the key deleted (in one call where the
// platform deletes in batches), one notice msgID sent, and the session
// done in state at step 4.
func wantEnded(t *testing.T, d Driver, what, image, key, msgID string, state bot.State) {
	t.Helper()
	es := d.Effects()
	if got, want := deleted(es), distinct(image, key); !slices.Equal(got, want) {
		t.Fatalf("%s: deleted %q, want %q:\n%s", what, got, want, list(es))
	}
	if d.Caps().BatchDelete && len(only(es, Delete)) != 1 {
		t.Fatalf("%s: %d delete calls, want 1:\n%s", what, len(only(es, Delete)), list(es))
	}
	sends := only(es, Send)
	want(t, what+" (sent)", sends, Effect{Kind: Send, Msgs: msgs(sends, 0), ID: msgID})
	if s := wantState(t, d, state, 4); !s.Done {
		t.Fatalf("session not done after %s", what)
	}
}

// malay: a user whose platform reports Malay gets the Malay texts and
// button labels (the driver's resolver knows only the Malay ones), and
// the session keeps the locale.
func malay(t *testing.T, d Driver) {
	toPrompt(t, d)
	if s := session(t, d); !strings.HasPrefix(s.Locale, "ms") {
		t.Fatalf("session locale %q, want Malay", s.Locale)
	}
}
