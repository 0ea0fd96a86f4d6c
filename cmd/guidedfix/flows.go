package main

import (
	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/mailtext"
	"guidedfix/internal/portal"
	"guidedfix/internal/support"
)

// handoffMails are the e-mail kinds (internal/mailtext) of each flow's
// hand-off link; the default flow's is mailtext.Handoff.
var handoffMails = map[string]string{newphone.Name: mailtext.HandoffNewPhone}

// allFlows returns every guided fix this binary has, the default first,
// built on core for their descriptors and messages only (an
// administration command hands off any of them; `serve` registers the
// ones the portal supports, see openApp).
func allFlows(core portal.Core) []bot.Flow {
	return []bot.Flow{totpswitch.New(totpswitch.Options{Core: core}), newphone.New(newphone.Options{Core: core})}
}

// describeDesk gives d the descriptors of flows (bot.Describe) and a
// catalog of their messages, for hand-offs and watch threads. It returns
// an error when a flow's message files do not load.
func describeDesk(d *support.Desk, flows []bot.Flow) error {
	cat := bot.NewCatalog()
	d.Flows = d.Flows[:0]
	for _, f := range flows {
		d.Flows = append(d.Flows, bot.Describe(f))
		if ms, ok := f.(bot.MessageSource); ok {
			fsys, paths := ms.Messages()
			if err := cat.Load(fsys, paths...); err != nil {
				return err
			}
		}
	}
	d.Texts = cat
	return nil
}
