package bot

import (
	"context"
	"errors"
	"log/slog"
)

// Op is what a Reply asks the adapter to do.
type Op string

const (
	// OpSend sends a new message (text, buttons, image or secret prompt).
	OpSend Op = "send"
	// OpEdit replaces the text and buttons of an earlier message.
	OpEdit Op = "edit"
	// OpDelete deletes an earlier message (the bot's, or the user's message
	// that held a secret).
	OpDelete Op = "delete"
)

// Button is one choice offered with a message (Telegram inline keyboard
// button, Slack Block Kit button, console "[Label]").
type Button struct {
	// Label is the localized text on the button.
	Label string
	// Data is the opaque value the adapter returns in Event.Data when the
	// button is pressed: at most 64 bytes of [A-Za-z0-9_|.-] (Telegram's
	// callback_data limit). The engine encodes the action and the step in
	// it, so a button from an earlier step is recognised as stale.
	Data string
}

// Reply is one output of a turn, delivered in order.
type Reply struct {
	// Op is OpSend, OpEdit or OpDelete.
	Op Op
	// ID is the catalog message id of Text (stable; tests assert it).
	ID string
	// Text is the localized text, plain (no markup).
	Text string
	// Buttons are offered under the message, one row each.
	Buttons []Button
	// Image is a PNG to send (a QR code); Text is then its caption.
	Image []byte
	// QR is the text encoded in Image when Image is a QR code, for
	// adapters that draw the code as text (the console). Sensitive.
	QR string
	// Code lists parts of Text to show in a monospace, copyable style
	// (Telegram "code" entity; Slack and the console show Text as it is),
	// such as a manual TOTP key. Sensitive when the reply is.
	Code []string
	// Protected asks the platform to prevent forwarding and saving
	// (Telegram protect_content).
	Protected bool
	// Sensitive marks a reply that carries a TOTP secret (QR, manual key):
	// it is never logged and is deleted once the enrollment ends.
	Sensitive bool
	// Secret, when not SecretNone, makes this message a secret prompt: the
	// adapter collects the answer privately (Telegram deletes it, Slack uses
	// a modal, the console reads without echo).
	Secret SecretField
	// Ref names the delivered message for a later OpEdit or OpDelete
	// ("qr", "key", "prompt"). Empty refs are not tracked.
	Ref string
	// MessageID is the platform message id to edit or delete; the engine
	// fills it from Ref, or from the event for the user's own message.
	MessageID string
	// ButtonsStep is the session step the buttons belong to (filled by the
	// engine); adapters that keep their own state (Slack modals) echo it.
	ButtonsStep int
	// Link, when not nil, is a web link the adapter shows as the first
	// button of the message: the secure entry page (internal/entry) adds
	// it at delivery time. It is never stored.
	Link *Link
}

// Link is a button that opens a web page instead of sending data back.
type Link struct {
	// Label is the localized text on the button.
	Label string
	// URL is the absolute https URL the button opens. It holds a one-time
	// token: adapters never log it or put it into message text.
	URL string
	// WebApp asks Telegram to open URL as a Mini App (inline button
	// web_app) instead of a browser link; other adapters ignore it.
	WebApp bool
}

// LogValue prints a reply without its text or image when it is Sensitive.
func (r Reply) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("op", string(r.Op)), slog.String("id", r.ID), slog.String("ref", r.Ref)}
	if r.Sensitive {
		attrs = append(attrs, slog.Bool("sensitive", true))
	}
	return slog.GroupValue(attrs...)
}

// Errors a Deliverer returns.
var (
	// ErrBlocked is returned by a Deliverer when the user cannot be reached
	// any more (Telegram 403: the user blocked the bot). The engine parks
	// the session and stops delivering.
	ErrBlocked = errors.New("bot: user unreachable (blocked the bot)")
	// ErrMessageGone is returned for an edit or delete of a message that no
	// longer exists or is too old; the engine treats it as done.
	ErrMessageGone = errors.New("bot: message no longer exists")
)

// Deliverer is an adapter's outbound side. Implementations retry transient
// failures themselves (rate limits, network errors) within ctx.
type Deliverer interface {
	// Deliver performs r in conversation to and returns the platform message
	// id of a sent message ("" for edits and deletes). It returns ErrBlocked
	// when the user cannot be reached and ErrMessageGone when an edit or
	// delete target no longer exists.
	Deliver(ctx context.Context, to Conversation, r Reply) (messageID string, err error)
}
