package main

import (
	"context"
	"testing"

	"guidedfix/bot"
)

type namedFlow string

func (n namedFlow) Name() string                                  { return string(n) }
func (n namedFlow) Start(ctx context.Context, t *bot.Turn) error  { return nil }
func (n namedFlow) Handle(ctx context.Context, t *bot.Turn) error { return nil }
func (n namedFlow) Expire(ctx context.Context, t *bot.Turn) error { return nil }

// TestFlowRouterPick: /newphone and the start payload "newphone" start
// the new-phone flow, everything else (a hand-off token too) the default;
// without the portal's replacement operations everything starts the
// default.
func TestFlowRouterPick(t *testing.T) {
	r := flowRouter{def: namedFlow("totpswitch"), newPhone: namedFlow("newphone")}
	for _, tc := range []struct {
		ev   bot.Event
		want string
	}{
		{bot.Event{Kind: bot.KindCommand, Command: "newphone"}, "newphone"},
		{bot.Event{Kind: bot.KindStart, Data: "newphone"}, "newphone"},
		{bot.Event{Kind: bot.KindStart}, "totpswitch"},
		{bot.Event{Kind: bot.KindCommand, Command: "2fa"}, "totpswitch"},
		{bot.Event{Kind: bot.KindStart, Data: "hAnd0ffT0ken"}, "totpswitch"},
		{bot.Event{Kind: bot.KindStart, Data: "np_hAnd0ffT0ken"}, "newphone"},
	} {
		if got := r.pick(tc.ev).Name(); got != tc.want {
			t.Errorf("%+v starts %q, want %q", tc.ev, got, tc.want)
		}
	}
	r.newPhone = nil
	if got := r.pick(bot.Event{Kind: bot.KindCommand, Command: "newphone"}).Name(); got != "totpswitch" {
		t.Errorf("without replaceTOTP /newphone starts %q", got)
	}
}
