// Package bot is the channel-agnostic conversation engine: adapters turn
// platform updates into Events, the Engine runs the registered Flow for the
// conversation's Session and hands Replies back to the adapter's Deliverer.
//
// bot knows no chat platform, no flow and no portal implementation
// (DESIGN.md "Layers").
package bot

import (
	"fmt"
	"log/slog"
)

// Kind is the kind of an Event.
type Kind string

const (
	// KindText is a plain text message typed by the user.
	KindText Kind = "text"
	// KindButton is a press of a button the engine offered earlier; Event.Data
	// holds the button's data.
	KindButton Kind = "button"
	// KindCommand is a command such as "/cancel"; Event.Command holds its name
	// without the slash, lower-cased, and Event.Text any argument.
	KindCommand Kind = "command"
	// KindSecret is the answer to a secret prompt (password or code),
	// collected privately by the adapter; Event.Secret holds it.
	KindSecret Kind = "secret"
	// KindStart starts a conversation, possibly with a payload (a Telegram
	// deep-link parameter, a hand-off token) in Event.Data.
	KindStart Kind = "start"
	// KindUnsupported is anything the flow cannot read: a photo, sticker,
	// voice note, file or edited message. It never changes state.
	KindUnsupported Kind = "unsupported"
	// KindResume asks the flow to show the current step's prompt again: the
	// engine sends it when an agent hands the conversation back.
	KindResume Kind = "resume"
	// KindTimer is raised by the engine itself when a session's WakeAt has
	// come: a reminder, or resuming a step a crash interrupted.
	KindTimer Kind = "timer"
	// KindBlocked says the user blocked the bot (Telegram my_chat_member
	// "kicked"): no reply can reach them any more. The engine hands it to
	// the flow of an active session, also during a take-over, with the
	// session parked so that no reply is attempted; the flow should end
	// the conversation and undo what it holds. Without an active session
	// it changes nothing.
	KindBlocked Kind = "blocked"
)

// Secret is a string that never prints: fmt verbs and slog show
// "REDACTED". Use Reveal to read it.
type Secret string

// Reveal returns the secret's clear text; call it only where the value is
// handed to the portal core.
func (s Secret) Reveal() string { return string(s) }

// String returns "REDACTED".
func (s Secret) String() string { return "REDACTED" }

// GoString returns "REDACTED" so that %#v is safe too.
func (s Secret) GoString() string { return "REDACTED" }

// Format prints "REDACTED" for every verb.
func (s Secret) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte("REDACTED")) }

// LogValue makes slog print "REDACTED".
func (s Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Conversation names one chat conversation on one channel. It is the key of
// a Session.
type Conversation struct {
	// Channel is the adapter's name: "telegram", "slack", "console".
	Channel string
	// ID is the platform's conversation id: Telegram chat id, Slack DM
	// channel id, console "local".
	ID string
}

// String returns "channel:id".
func (c Conversation) String() string { return c.Channel + ":" + c.ID }

// Event is one input from a person, already decoded by an adapter.
type Event struct {
	// Conversation is where the event happened.
	Conversation Conversation
	// UserID is the platform's id of the person (Telegram user id, Slack
	// user id). The engine checks it against the session owner.
	UserID string
	// UpdateID is the platform's unique id for the delivery (Telegram
	// update_id, Slack event_id or action ts); the engine processes each
	// (channel, UpdateID) at most once. Empty disables de-duplication.
	UpdateID string
	// Kind says which of the fields below is set.
	Kind Kind
	// Text is the typed text (KindText) or the command's argument.
	Text string
	// Command is the command name without "/" (KindCommand).
	Command string
	// Data is a button's data (KindButton) or a start payload (KindStart).
	Data string
	// Secret is a secret answer (KindSecret).
	Secret Secret
	// MessageID is the platform id of the user's message, so that a message
	// that turns out to hold a secret can be deleted.
	MessageID string
	// Locale is the user's language tag as the platform reports it
	// ("en", "ms-MY"); empty means the default.
	Locale string
	// Email is the e-mail the platform vouches for (Slack profile), used to
	// propose an account; empty if unknown.
	Email string
	// EmailPinned says Email is the only account this conversation may use
	// (the demo's --email against a remote portal): the flow then offers
	// no other e-mail. Ignored when Email is empty.
	EmailPinned bool
	// Undeletable says the bot cannot delete the user's message (a bot
	// token cannot delete what a person wrote in a Slack DM), so text typed
	// while a secret prompt is open stays visible: the engine never takes
	// it as the secret, counts no try and answers MsgTypedSecret or
	// MsgTypedPassword with the prompt's form again (Reply.Secret set).
	Undeletable bool
}

// LogValue prints the event without its text, data or secret.
func (e Event) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("conversation", e.Conversation.String()),
		slog.String("update", e.UpdateID),
		slog.String("kind", string(e.Kind)),
		slog.String("command", e.Command),
	)
}
