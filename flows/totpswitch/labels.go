package totpswitch

import "guidedfix/bot"

// msgButtonPrefix begins the catalog id of every button label of the
// flow (the labels bot.Turn.TypedLabel compares with).
const msgButtonPrefix = "totp.button."

// labelTyped reports whether code, the answer to the SMS or authenticator
// code prompt, is one of the flow's or the engine's button labels
// (bot.Turn.TypedLabel), and then answers bot.MsgLabelTyped with the step's
// prompt buttons, asking for the same code again: the core is not asked,
// no try is counted and the state does not change.
func (f *Flow) labelTyped(t *turn, code bot.Secret) bool {
	if !t.TypedLabel(code.Reveal(), msgButtonPrefix) {
		return false
	}
	t.ask(t.Session.Expect, bot.MsgLabelTyped, nil, f.stepButtons(t)...)
	return true
}
