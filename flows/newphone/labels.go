package newphone

import "guidedfix/bot"

// msgButtonPrefix begins the catalog id of every button label of the
// flow (the labels bot.Turn.TypedLabel compares with).
const msgButtonPrefix = "newphone.button."

// labelTyped reports whether code, the answer to a code prompt (the
// current app's, a recovery code, the new app's), is one of the flow's
// or the engine's button labels (bot.Turn.TypedLabel), and then answers
// bot.MsgLabelTyped with the step's buttons, asking for the same secret
// again: the core is not asked, no try is counted and the state does not
// change.
func (f *Flow) labelTyped(t *turn, code bot.Secret) bool {
	if !t.TypedLabel(code.Reveal(), msgButtonPrefix) {
		return false
	}
	buttons := []bot.Button{t.cancelButton()}
	if t.Session.State == StateAwaitingNewCode {
		buttons = f.newCodeButtons(t)
	}
	t.Ask(t.Session.Expect, bot.MsgLabelTyped, nil, buttons...)
	return true
}
