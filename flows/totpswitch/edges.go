package totpswitch

import (
	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// Catalog ids of the issue 14 "rough edges" texts (locales/en.yaml,
// locales/ms.yaml), kept apart from messages.go.
const (
	// msgCodeUsed: a code typed after the app was verified; the message
	// was deleted. Data: Button, the label of the step's button.
	msgCodeUsed = "totp.code_used"
	// msgCodeUsedKept is msgCodeUsed where the bot cannot delete what the
	// user typed (bot.Event.Undeletable).
	msgCodeUsedKept = "totp.code_used_kept"
)

// reusedCode answers text that is a code alone (portal.NormalizeCode)
// typed after the authenticator app was verified (StateActivated,
// StateRecoveryCodes): typically the verified code typed again. The code
// was spent (RFC 6238 §5.2 allows a time step once) and the flow needs no
// code any more, so it is not sent to the core; the message is deleted
// from the chat (the engine's MsgDeleteUserSecret delete, as for a
// secret) and the user is told it was already used and which button
// continues. It reports whether it answered; the state does not change.
func (f *Flow) reusedCode(t *turn) bool {
	ev := t.Event
	if ev.Kind != bot.KindText || !t.d.Activated {
		return false
	}
	if _, ok := portal.NormalizeCode(ev.Text); !ok {
		return false
	}
	label := msgButtonOkay
	if t.Session.State == StateRecoveryCodes {
		label = msgButtonSaved
	}
	id := msgCodeUsedKept
	if ev.MessageID != "" && !ev.Undeletable {
		t.Send(bot.Reply{Op: bot.OpDelete, MessageID: ev.MessageID, ID: bot.MsgDeleteUserSecret})
		id = msgCodeUsed
	}
	t.say(id, map[string]any{"Button": t.T(label, nil)})
	return true
}
