package entry

import "guidedfix/bot"

var _ bot.WordSource = (*Deliverer)(nil)

// Wording returns the platform words of Inner (bot.WordSource), so that
// putting the entry page in front of an adapter keeps its channel's
// wording; an Inner without its own words gets bot.DefaultWording.
func (d *Deliverer) Wording() bot.Wording {
	if ws, ok := d.Inner.(bot.WordSource); ok {
		return ws.Wording()
	}
	return bot.DefaultWording
}
