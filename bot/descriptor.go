package bot

import "strings"

// Descriptor is what a flow says about itself, so that the engine, the
// adapters and the support desk never name a flow, its commands or its
// states (DESIGN.md "Layers"; issue 12). Catalog ids refer to the flow's
// own message files (MessageSource); the engine routes start events by
// Commands and PayloadPrefix.
type Descriptor struct {
	// Name is the flow's stable name (Flow.Name), stored in sessions and
	// hand-off records.
	Name string
	// Version is the flow's version, stored in each new session
	// (Session.FlowVersion); 0 means 1.
	Version int
	// Title is the catalog id of the flow's human name for staff and
	// menus ("Move the authenticator app to a new phone"); "" for none.
	Title string
	// Commands are the commands that start the flow, lower case without
	// "/", in the order adapters offer them (Telegram setMyCommands,
	// core.telegram.org/bots/api#setmycommands; the Slack slash command's
	// first word or a DM word).
	Commands []Command
	// States maps each state of the flow to the catalog id of its human
	// name for staff (the support desk's watch thread and audit log:
	// "Verify SMS code"). A state without an entry is shown by its name.
	States map[State]string
	// Secrets are the kinds of secret the flow asks for (secret prompts'
	// Reply.Secret), so that adapters can prepare a private input for each.
	Secrets []SecretField
	// Tags are the session tags the flow sets (Turn.Tag): "account",
	// "handoff", "verified", "last_error", …; observers read only these.
	Tags []string
	// TagAlerts maps some of Tags to the catalog id of the support desk's
	// alert (a new thread in the support channel and an audit entry,
	// action "alert:<tag>") for a session that ends with that tag set: a
	// flow says what staff should follow up, the desk names no flow's
	// words. The text is rendered in the desk's locale with the template
	// data .Email (the account's e-mail, or "unknown account"), .Channel
	// (the chat platform), .Step (the staff's name of the state the session
	// ended from), .Outcome (the desk's words, in its locale, for
	// completed, cancelled, expired, blocked or "failed: <step>") and .Value (the tag's value). A tag without an
	// entry raises no alert; nil for none.
	TagAlerts map[string]string
	// PayloadPrefix prefixes the hand-off token in the start payload of a
	// hand-off of this flow (the Telegram deep link
	// t.me/<bot>?start=<prefix><token>,
	// core.telegram.org/bots/features#deep-linking). The engine starts the
	// flow for a payload with the prefix and passes the rest on as
	// Event.Data. "" (allowed for one flow, the default) takes the
	// payloads no other flow claims.
	PayloadPrefix string
	// NeedsMethod is the second-factor method ("sms", "totp" or "none",
	// as portal.Account.Method reports it) an account must currently use
	// for this flow to make sense; the support desk refuses a hand-off of
	// the flow for an account with another method (support.ErrWrongMethod)
	// instead of e-mailing a link that dead-ends. "" accepts any account.
	NeedsMethod string
}

// Command is one start command of a flow.
type Command struct {
	// Name is the command word, lower case, without "/" ("newphone").
	Name string
	// Label is the catalog id of the command's short label (a menu or
	// button text); "" for none.
	Label string
	// Description is the catalog id of the command's description in
	// Telegram's command menu (setMyCommands' BotCommand.description,
	// 1-256 characters); "" lets the adapter use its own.
	Description string
}

// Describer is implemented by flows that describe themselves; a flow
// without it is described by Describe with its name only.
type Describer interface {
	// Describe returns the flow's descriptor; it is read once, at New.
	Describe() Descriptor
}

// Describe returns f's descriptor: f.Describe() for a Describer, else one
// with only Name. Name always equals f.Name(), Version is at least 1 and
// command names are lower case.
func Describe(f Flow) Descriptor {
	var d Descriptor
	if ds, ok := f.(Describer); ok {
		d = ds.Describe()
	}
	d.Name = f.Name()
	if d.Version <= 0 {
		d.Version = 1
	}
	cmds := make([]Command, len(d.Commands))
	for i, c := range d.Commands {
		c.Name = strings.ToLower(c.Name)
		cmds[i] = c
	}
	d.Commands = cmds
	return d
}

// StateName returns the catalog id of state s's human name, or "" when
// the descriptor has none.
func (d Descriptor) StateName(s State) string { return d.States[s] }

// Flows returns the descriptors of the engine's flows (Options.Flows), in
// order: the first is the default flow. The slice is a copy.
func (e *Engine) Flows() []Descriptor {
	return append([]Descriptor(nil), e.descs...)
}

// Flow returns the descriptor of the flow named name and whether the
// engine runs it.
func (e *Engine) Flow(name string) (Descriptor, bool) {
	for _, d := range e.descs {
		if d.Name == name {
			return d, true
		}
	}
	return Descriptor{}, false
}

// FlowByWord returns the descriptor in ds that word names — its Name or
// one of its start commands (Descriptor.Commands), case-insensitive, with
// or without a leading "/" and surrounding spaces — and whether one does.
// The empty word names none. Staff commands (a Slack hand-off's flow
// argument, the desk) and start payloads name flows this way.
func FlowByWord(ds []Descriptor, word string) (Descriptor, bool) {
	w := strings.ToLower(strings.TrimPrefix(strings.TrimSpace(word), "/"))
	if w == "" {
		return Descriptor{}, false
	}
	for _, d := range ds {
		if d.Name == w {
			return d, true
		}
		for _, c := range d.Commands {
			if c.Name == w {
				return d, true
			}
		}
	}
	return Descriptor{}, false
}

// CommandFlow returns the descriptor of the flow that starts with
// command name (lower case, without "/") and the command's entry; ok is
// false for Options.StartCommands (they start the default flow) and for
// words that start no flow.
func (e *Engine) CommandFlow(name string) (Descriptor, Command, bool) {
	for _, d := range e.descs {
		for _, c := range d.Commands {
			if c.Name == name {
				return d, c, true
			}
		}
	}
	return Descriptor{}, Command{}, false
}

// Route returns the name of the flow a start event begins and the start
// payload that flow receives (Event.Data):
//   - a start command of a flow's descriptor starts that flow, with the
//     event's Data unchanged;
//   - a start payload (KindStart) that begins with a flow's PayloadPrefix
//     starts that flow with the rest of the payload (a hand-off token);
//   - a start payload equal to a flow's name or one of its commands (the
//     deep link t.me/<bot>?start=<name>) starts that flow with no payload;
//   - anything else starts the default flow (Options.Flows[0]) with the
//     payload unchanged.
//
// ev need not be a start event; then the default flow is returned.
func (e *Engine) Route(ev Event) (flow, payload string) {
	d, payload := e.route(ev)
	return d.Name, payload
}

func (e *Engine) route(ev Event) (Descriptor, string) {
	def := e.descs[0]
	switch ev.Kind {
	case KindCommand:
		if d, _, ok := e.CommandFlow(ev.Command); ok {
			return d, ev.Data
		}
		return def, ev.Data
	case KindStart:
		p := ev.Data
		if p == "" {
			return def, ""
		}
		for _, d := range e.descs {
			if d.PayloadPrefix != "" && strings.HasPrefix(p, d.PayloadPrefix) {
				return d, strings.TrimPrefix(p, d.PayloadPrefix)
			}
		}
		if d, ok := FlowByWord(e.descs, p); ok {
			return d, ""
		}
	}
	return def, ev.Data
}
