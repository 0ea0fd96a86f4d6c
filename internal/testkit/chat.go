package testkit

import (
	"context"
	"errors"
	"slices"
	"strconv"
	"strings"
	"testing"

	"guidedfix/bot"
)

// Chat is the one chat test driver of the flow tests: it drives one
// conversation through an engine with no platform, as a person typing,
// pressing buttons and answering prompts, and returns the replies each
// turn produced (recorded by its Recorder). Update ids count up from 1,
// so a redelivery is a repeated id. A Chat is used by one goroutine.
type Chat struct {
	// T is the test that fails when a turn fails (unless Lossy).
	T testing.TB
	// Engine returns the engine to drive; a function, so that the chat
	// follows Env.Restart.
	Engine func() *bot.Engine
	// Rec records the replies of Conv's channel.
	Rec *Recorder
	// Conv is the conversation and UserID its user.
	Conv   bot.Conversation
	UserID string
	// Lossy tolerates turns that fail (a core answer lost on purpose):
	// Send then returns the replies without failing T.
	Lossy bool
	// Upd is the last update id sent; Seen how many of Rec's replies were
	// returned already.
	Upd, Seen int
	// Last are the replies of the last turn, All those of every turn.
	Last, All []bot.Reply
	// Transcript, if set, records every turn (golden transcripts).
	Transcript *Transcript
	// OnError, if set, gets the error of a turn (ev as handed to the
	// engine) before Lossy is looked at, and returns what remains of it:
	// nil when it handled it, e.g. a simulated crash after which it
	// restarted the engine and handed ev again.
	OnError func(ev bot.Event, err error) error
}

// NewChat returns a Chat of user "u100" in conversation conv, with a new
// Recorder registered on conv's channel of engine().
func NewChat(t testing.TB, engine func() *bot.Engine, conv bot.Conversation) *Chat {
	c := &Chat{T: t, Engine: engine, Rec: &Recorder{}, Conv: conv, UserID: "u100"}
	engine().Register(conv.Channel, c.Rec)
	return c
}

// NewChat returns a Chat on e's engine in conversation "100" of channel
// (which must not be shared with another Chat: each has its own
// Recorder).
func (e *Env) NewChat(t testing.TB, channel string) *Chat {
	return NewChat(t, func() *bot.Engine { return e.Engine }, bot.Conversation{Channel: channel, ID: "100"})
}

// Send hands ev to the engine with the chat's conversation, user and the
// next update id, and returns the replies of the turn. A failed turn
// fails T unless Lossy.
func (c *Chat) Send(ev bot.Event) []bot.Reply {
	c.T.Helper()
	c.Upd++
	ev.Conversation, ev.UserID, ev.UpdateID = c.Conv, c.UserID, strconv.Itoa(c.Upd)
	return c.handle(ev)
}

// Redeliver hands ev to the engine again with the last update id, as a
// platform does when it got no answer, and returns the replies.
func (c *Chat) Redeliver(ev bot.Event) []bot.Reply {
	c.T.Helper()
	ev.Conversation, ev.UserID, ev.UpdateID = c.Conv, c.UserID, strconv.Itoa(c.Upd)
	return c.handle(ev)
}

func (c *Chat) handle(ev bot.Event) []bot.Reply {
	c.T.Helper()
	expect, flow := bot.SecretNone, ""
	if s, err := c.Engine().Session(context.Background(), c.Conv); err == nil {
		flow = s.Flow
		if c.Transcript != nil && !s.Done {
			expect = s.Expect
		}
	}
	err := c.Engine().Handle(context.Background(), ev)
	if err != nil && c.OnError != nil {
		err = c.OnError(ev, err)
	}
	if err != nil {
		if !c.Lossy {
			c.T.Fatalf("Handle: %v", err)
		}
		c.T.Logf("turn failed: %v", err)
	}
	c.Last, c.Seen = c.Rec.Since(c.Seen)
	c.All = append(c.All, c.Last...)
	c.recordAsks(flow)
	if c.Transcript != nil {
		c.Transcript.Turn(ev, expect, c.Last)
	}
	return c.Last
}

// recordAsks logs the secret prompts of the last replies and the tags of
// the session after the turn (RecordAsk, RecordTags), by the session's
// flow, or by before (the flow of the session before the turn) when the
// session is gone.
func (c *Chat) recordAsks(before string) {
	flow := before
	if s, err := c.Engine().Session(context.Background(), c.Conv); err == nil {
		flow = s.Flow
		RecordTags(s)
	}
	RecordAsk(flow, c.Last)
}

// Arrived returns the replies recorded since the last turn or call that
// no turn returned (delivered by the sweeper, or by a turn another part
// started, such as a form posted to the entry page).
func (c *Chat) Arrived() []bot.Reply {
	c.Last, c.Seen = c.Rec.Since(c.Seen)
	c.All = append(c.All, c.Last...)
	c.recordAsks("")
	if c.Transcript != nil {
		c.Transcript.Replies(c.Last)
	}
	return c.Last
}

// Start sends a start event (no payload).
func (c *Chat) Start() []bot.Reply { return c.Send(bot.Event{Kind: bot.KindStart}) }

// Text sends typed text; its message id is "u<update id>", so that the
// engine can delete it when it held a secret.
func (c *Chat) Text(s string) []bot.Reply {
	return c.Send(bot.Event{Kind: bot.KindText, Text: s, MessageID: "u" + strconv.Itoa(c.Upd+1)})
}

// Cmd sends the command name (without "/").
func (c *Chat) Cmd(name string) []bot.Reply {
	return c.Send(bot.Event{Kind: bot.KindCommand, Command: name})
}

// Press presses the newest button offered whose action is action; it
// fails T when none was offered.
func (c *Chat) Press(action string) []bot.Reply {
	c.T.Helper()
	data := c.Button(action)
	if data == "" {
		c.T.Fatalf("no button %q offered; last replies %v", action, IDs(c.Last))
	}
	return c.Send(bot.Event{Kind: bot.KindButton, Data: data})
}

// Button returns the data ("action|nonce") of the newest button offered
// whose action is action, or "".
func (c *Chat) Button(action string) string {
	for i := len(c.All) - 1; i >= 0; i-- {
		for _, b := range c.All[i].Buttons {
			if strings.HasPrefix(b.Data, action+"|") {
				return b.Data
			}
		}
	}
	return ""
}

// Session returns the conversation's stored session; it fails T when
// there is none.
func (c *Chat) Session() *bot.Session {
	c.T.Helper()
	s, err := c.Engine().Session(context.Background(), c.Conv)
	if err != nil {
		c.T.Fatal(err)
	}
	return s
}

// HasSession reports whether the conversation has a stored session.
func (c *Chat) HasSession() bool {
	_, err := c.Engine().Session(context.Background(), c.Conv)
	return !errors.Is(err, bot.ErrNoSession)
}

// IDs returns the catalog ids of rs, with "op:ref" before the id of an
// edit or delete ("delete:qr", "delete:engine.delete_user_secret").
func IDs(rs []bot.Reply) []string {
	out := make([]string, 0, len(rs))
	for _, r := range rs {
		id := r.ID
		if r.Op != bot.OpSend {
			id = string(r.Op) + ":" + r.Ref + r.ID
		}
		out = append(out, id)
	}
	return out
}

// WantIDs fails t unless IDs(got) equals want.
func WantIDs(t testing.TB, got []bot.Reply, want ...string) {
	t.Helper()
	if g := IDs(got); !slices.Equal(g, want) {
		t.Fatalf("replies %q\nwant    %q", g, want)
	}
}

// ButtonActions returns the actions of r's buttons in order: each
// button's Data before the "|" that precedes the engine's step nonce
// ("verify|…" gives "verify").
func ButtonActions(r bot.Reply) []string {
	var out []string
	for _, b := range r.Buttons {
		action, _, _ := strings.Cut(b.Data, "|")
		out = append(out, action)
	}
	return out
}
