package testkit

import (
	"fmt"
	"strings"

	"guidedfix/bot"
)

// Masked replaces a secret in a transcript.
const Masked = "‹masked›"

// Transcript renders a conversation turn by turn as stable text for a
// golden file (internal/testkit/golden): each input of the person, then
// each reply with its op, catalog id, ref, flags (image, code, protected,
// sensitive, the secret a prompt asks for), text and buttons (label and
// action, without the step's nonce). Secrets never appear: an answer to a
// secret prompt, typed or private, and the text of a Sensitive reply (QR
// caption, manual key, recovery codes) are Masked, and Mask (if set) masks
// the rest, e.g. Env.Mask for every registered secret.
type Transcript struct {
	// Mask, if set, masks the secrets in every text shown.
	Mask func(string) string
	b    strings.Builder
}

// Turn records one turn: ev as handed to the engine, expect the secret
// the session expected before it, rs the replies.
func (tr *Transcript) Turn(ev bot.Event, expect bot.SecretField, rs []bot.Reply) {
	fmt.Fprintf(&tr.b, "> %s\n", tr.input(ev, expect))
	for _, r := range rs {
		tr.reply(r)
	}
}

// Note adds a line of the test's own (what happened outside the chat,
// e.g. "clock +16m, sweep").
func (tr *Transcript) Note(s string) { fmt.Fprintf(&tr.b, "# %s\n", s) }

// Replies records replies that reached the chat outside a turn (the
// sweeper's).
func (tr *Transcript) Replies(rs []bot.Reply) {
	for _, r := range rs {
		tr.reply(r)
	}
}

// String returns the transcript so far.
func (tr *Transcript) String() string { return tr.b.String() }

func (tr *Transcript) mask(s string) string {
	if tr.Mask != nil {
		return tr.Mask(s)
	}
	return s
}

func (tr *Transcript) input(ev bot.Event, expect bot.SecretField) string {
	switch ev.Kind {
	case bot.KindStart:
		if ev.Data != "" {
			return "start (payload " + Masked + ")"
		}
		return "start"
	case bot.KindText:
		if expect != bot.SecretNone || bot.LooksSecret(ev.Text, false) {
			return fmt.Sprintf("text at the %s prompt: %s", expect, Masked)
		}
		return "text: " + tr.mask(ev.Text)
	case bot.KindSecret:
		return fmt.Sprintf("secret %s: %s", expect, Masked)
	case bot.KindButton:
		action, _, _ := strings.Cut(ev.Data, "|")
		return "press " + action
	case bot.KindCommand:
		return strings.TrimSpace("/" + ev.Command + " " + tr.mask(ev.Text))
	}
	return "(" + string(ev.Kind) + ")"
}

func (tr *Transcript) reply(r bot.Reply) {
	var head []string
	head = append(head, string(r.Op))
	switch r.Op {
	case bot.OpDelete:
		what := r.Ref
		if what == "" {
			what = "the user's message"
		}
		if r.ID != "" {
			what += " (" + r.ID + ")"
		}
		fmt.Fprintf(&tr.b, "< delete %s\n", what)
		return
	default:
		head = append(head, r.ID)
	}
	if r.Ref != "" {
		head = append(head, "ref="+r.Ref)
	}
	for _, f := range []struct {
		on   bool
		name string
	}{{len(r.Image) > 0, "+image"}, {len(r.Code) > 0, "+code"}, {r.Protected, "+protected"}, {r.Sensitive, "+sensitive"}} {
		if f.on {
			head = append(head, f.name)
		}
	}
	if r.Secret != bot.SecretNone {
		head = append(head, "+asks:"+string(r.Secret))
	}
	fmt.Fprintf(&tr.b, "< %s\n", strings.Join(head, " "))
	text := tr.mask(r.Text)
	if r.Sensitive {
		text = Masked
	}
	for _, line := range strings.Split(text, "\n") {
		fmt.Fprintf(&tr.b, "    | %s\n", line)
	}
	for i, action := range ButtonActions(r) {
		fmt.Fprintf(&tr.b, "    [%s] -> %s\n", r.Buttons[i].Label, action)
	}
}
