package bot

import "strings"

// helpIdle returns the engine's help when no guided change runs
// (MsgHelpIdle): one line per registered flow that has a start command,
// built from its Descriptor — how to give the command on this channel
// (Words.Say) and the command's description (Command.Description, else
// the flow's Title) — so that the engine's text names no flow. A flow
// without a command or a text is left out.
func (e *Engine) helpIdle(locale, channel string) string {
	w := e.words(locale, channel)
	var lines []string
	for _, d := range e.descs {
		if len(d.Commands) == 0 {
			continue
		}
		c := d.Commands[0]
		id := c.Description
		if id == "" || !e.catalog.Has(id) {
			id = d.Title
		}
		say, ok := w.Say[c.Name]
		if id == "" || !e.catalog.Has(id) || !ok {
			continue
		}
		lines = append(lines, "• "+say.Cap()+": "+e.Text(locale, channel, id, nil))
	}
	return e.Text(locale, channel, MsgHelpIdle, map[string]any{"Flows": strings.Join(lines, "\n")})
}
