package bot

import (
	"context"
	"errors"
	"strings"
	"unicode"
)

// Ids of the answers to a secret typed where the bot cannot delete it
// (Event.Undeletable).
const (
	// MsgTypedSecret says that a typed message was not used because codes
	// go only into the private form, that it is still visible and should be
	// deleted; the reply offers the form again.
	MsgTypedSecret = "engine.typed_secret"
	// MsgTypedPassword is MsgTypedSecret for a message that may have been
	// the password: it also advises changing the password.
	MsgTypedPassword = "engine.typed_password"
)

// refuseTypedSecret answers text typed at a secret prompt that the bot
// cannot delete (ev.Undeletable): the text is not used, no try is counted
// and the session is not changed; the reply (MsgTypedPassword when the
// prompt asked for the password or the text looks like one, else
// MsgTypedSecret) carries Secret = s.Expect, so the adapter offers the
// prompt's private form again. The update is recorded as processed.
func (e *Engine) refuseTypedSecret(ctx context.Context, ev Event, s *Session) error {
	id := MsgTypedSecret
	if s.Expect == SecretPassword || (!looksLikeCode(ev.Text) && LooksSecret(ev.Text, true)) {
		id = MsgTypedPassword
	}
	if ev.UpdateID != "" {
		if err := e.store.MarkSeen(ctx, ev.Conversation.Channel, ev.UpdateID); err != nil {
			return err
		}
	}
	d := e.deliverer(ev.Conversation.Channel)
	if d == nil {
		return errors.New("no deliverer for channel " + ev.Conversation.Channel)
	}
	r := Reply{Op: OpSend, ID: id, Secret: s.Expect,
		Text: e.Text(s.Locale, ev.Conversation.Channel, id, nil)}
	if _, err := d.Deliver(ctx, ev.Conversation, r); err != nil && !errors.Is(err, ErrBlocked) {
		e.log.Warn("deliver failed", "reply", r, "err", err)
	}
	return nil
}

// looksLikeCode reports whether text is a code alone: 6 or more digits,
// spaces and hyphens between them allowed.
func looksLikeCode(text string) bool {
	digits := 0
	for _, r := range strings.TrimSpace(text) {
		switch {
		case unicode.IsDigit(r):
			digits++
		case r == ' ' || r == '-':
		default:
			return false
		}
	}
	return digits >= 6
}
