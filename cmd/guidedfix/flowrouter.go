package main

import (
	"context"
	"strings"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
)

// flowRouter is the engine's default flow until flows carry a descriptor
// the engine routes by: it never keeps a session of its own, but starts
// the flow a start event asks for — newphone for the command /newphone
// (Slack "newphone"), the start payload "newphone" (the Telegram deep
// link t.me/<bot>?start=newphone) or a new-phone hand-off's payload
// "np_<token>" (handOffNewPhone), the SMS → authenticator flow for
// everything else — and hands the session to it (Session.Flow).
type flowRouter struct {
	def      bot.Flow
	newPhone bot.Flow
}

// routerName is the router's engine name; no session keeps it.
const routerName = "start-router"

// Name returns routerName.
func (r flowRouter) Name() string { return routerName }

// pick returns the flow ev starts; newPhone nil (a portal without
// Capabilities.ReplaceTOTP) starts the default for everything.
func (r flowRouter) pick(ev bot.Event) bot.Flow {
	switch {
	case r.newPhone == nil:
	case ev.Kind == bot.KindCommand && ev.Command == newphone.Name,
		ev.Kind == bot.KindStart && ev.Data == newphone.Name,
		ev.Kind == bot.KindStart && strings.HasPrefix(ev.Data, newPhonePayload):
		return r.newPhone
	}
	return r.def
}

// Start hands the new session to the flow its start event asks for; a
// start payload that only names the flow is not passed on (it is no
// hand-off token).
func (r flowRouter) Start(ctx context.Context, t *bot.Turn) error {
	f := r.pick(t.Event)
	t.Session.Flow = f.Name()
	if f.Name() == newphone.Name {
		// The payload "newphone" only names the flow; "np_<token>" is a
		// hand-off of it, whose token the flow redeems.
		if t.Event.Data == newphone.Name {
			t.Event.Data = ""
		}
		t.Event.Data = strings.TrimPrefix(t.Event.Data, newPhonePayload)
	}
	return f.Start(ctx, t)
}

// Handle and Expire belong to the flow a session runs; a session is never
// left with the router's name, so these only pass through to the default.
func (r flowRouter) Handle(ctx context.Context, t *bot.Turn) error { return r.def.Handle(ctx, t) }

// Expire passes through to the default flow (see Handle).
func (r flowRouter) Expire(ctx context.Context, t *bot.Turn) error { return r.def.Expire(ctx, t) }
