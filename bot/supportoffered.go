package bot

// SupportOffered reports whether the engine will add "Talk to a person"
// (engine.button.human) under the last reply with buttons this turn
// queues: support is configured (Options.Support), the session is not
// done and no agent has the conversation. A flow uses it to word a text
// that mentions the button only when the button is actually there (the
// console demo and deployments without a support channel have none).
func (t *Turn) SupportOffered() bool {
	s := t.Session
	return t.engine != nil && t.engine.support != nil && !s.Done && s.Agent == ""
}

// MsgButtonHuman is the catalog id of the "Talk to a person" button's
// label, which the engine adds under a step's buttons (Options.Support);
// flows that recognise their buttons' labels typed as text need it.
const MsgButtonHuman = "engine.button.human"
