package totpswitch

import (
	"time"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// reverify sends the user back to the password step because the grant
// lapsed before a step that needs it.
func (f *Flow) reverify(t *turn) {
	t.d.Grant, t.d.GrantLevel, t.d.GrantExpires = "", "", time.Time{}
	t.Goto(StateAwaitingPassword)
	t.say(msgReverify, nil)
	t.ask(bot.SecretPassword, msgAskPassword, nil, t.cancelButton())
}

func (f *Flow) setGrant(t *turn, g portal.Grant) {
	t.d.Grant, t.d.GrantLevel, t.d.GrantExpires = g.Token, g.Level, g.ExpiresAt
}

// grantValid reports whether the session's grant is usable for at least
// the flow's margin from now.
func (t *turn) grantValid() bool {
	return t.d.Grant != "" && t.Now.Add(t.margin).Before(t.d.GrantExpires)
}
