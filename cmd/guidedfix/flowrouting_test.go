package main

import (
	"context"
	"io"
	"slices"
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/testkit"
)

// TestEngineRoutesBothFlows runs the engine of `guidedfix serve` (real
// core, stores and desk): each start event begins the flow its command,
// start payload or hand-off record names, with exact flow names and
// states; a hand-off link spends its token only in the flow its record
// names.
func TestEngineRoutesBothFlows(t *testing.T) {
	t.Setenv("GUIDEDFIX_TELEGRAM__BOT_USERNAME", "portal_bot")
	ctx := context.Background()
	dir := t.TempDir()
	addTOTPAccountAt(t, dir, "rio@example.com") // the new-phone flow's hand-offs need an app account
	a, err := openApp(ctx, &globalFlags{dataDir: dir}, openOptions{engine: true, logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if got := strings.Join(a.engine.Commands(), " "); got != "start 2fa newphone cancel help language" {
		t.Fatalf("commands %q", got)
	}
	if len(a.desk.Flows) != 2 || a.desk.Flows[0].Name != totpswitch.Name || a.desk.Flows[1].Name != newphone.Name {
		t.Fatalf("desk flows %+v", a.desk.Flows)
	}
	if _, err := a.core.AddAccount(ctx, embedded.NewAccount{Email: "ria@example.com", Phone: "+60123456789",
		Method: portal.MethodSMS, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	rec := &testkit.Recorder{}
	a.engine.Register("test", rec)
	token := func(flow string) string {
		email := "ria@example.com"
		if flow == newphone.Name {
			email = "rio@example.com"
		}
		link, _, err := a.desk.HandOffFlow(ctx, flow, email, "", "cli", "sam")
		if err != nil {
			t.Fatal(err)
		}
		return link[strings.Index(link, "start=")+len("start="):]
	}
	tsTok, npTok, crossTok := token(totpswitch.Name), token(newphone.Name), token(totpswitch.Name)
	if !strings.HasPrefix(npTok, newphone.PayloadPrefix) || strings.HasPrefix(tsTok, newphone.PayloadPrefix) {
		t.Fatalf("payloads %q, %q", tsTok, npTok)
	}
	n := 0
	for i, tc := range []struct {
		ev        bot.Event
		flow      string
		state     bot.State
		pressHand bool      // then press the hand-off's Start button
		after     bot.State // the state after the press
		handoff   bool      // the session then carries a hand-off tag
		invalid   string    // the start is answered as an invalid link (this id), no Start button
	}{
		{ev: bot.Event{Kind: bot.KindCommand, Command: "start"}, flow: totpswitch.Name, state: totpswitch.StateAwaitingEmail},
		{ev: bot.Event{Kind: bot.KindCommand, Command: "2fa"}, flow: totpswitch.Name, state: totpswitch.StateAwaitingEmail},
		{ev: bot.Event{Kind: bot.KindCommand, Command: "newphone"}, flow: newphone.Name, state: newphone.StateAwaitingEmail},
		{ev: bot.Event{Kind: bot.KindStart}, flow: totpswitch.Name, state: totpswitch.StateAwaitingEmail},
		{ev: bot.Event{Kind: bot.KindStart, Data: "newphone"}, flow: newphone.Name, state: newphone.StateAwaitingEmail},
		{ev: bot.Event{Kind: bot.KindStart, Data: tsTok}, flow: totpswitch.Name, state: totpswitch.StateAwaitingEmail,
			pressHand: true, after: totpswitch.StateAwaitingPassword, handoff: true},
		{ev: bot.Event{Kind: bot.KindStart, Data: npTok}, flow: newphone.Name, state: newphone.StateAwaitingEmail,
			pressHand: true, after: newphone.StateAwaitingPassword, handoff: true},
		// A default flow's hand-off token behind the new-phone prefix
		// starts the new-phone flow, whose token check refuses it (the
		// record names totpswitch): an invalid link, no Start button
		// (issue 14 F9).
		{ev: bot.Event{Kind: bot.KindStart, Data: newphone.PayloadPrefix + crossTok}, flow: newphone.Name, state: newphone.StateAwaitingEmail,
			invalid: "newphone.link_invalid"},
	} {
		conv := bot.Conversation{Channel: "test", ID: "c" + string(rune('a'+i))}
		ev := tc.ev
		ev.Conversation, ev.UserID, ev.Locale = conv, conv.ID, "en"
		if err := a.engine.Handle(ctx, ev); err != nil {
			t.Fatal(err)
		}
		s, err := a.engine.Session(ctx, conv)
		if err != nil || s.Flow != tc.flow || s.State != tc.state {
			t.Fatalf("%d: %+v started %s/%s (%v), want %s/%s", i, tc.ev, s.Flow, s.State, err, tc.flow, tc.state)
		}
		var replies []bot.Reply
		replies, n = rec.Since(n)
		if tc.invalid != "" {
			got := testkit.IDs(replies)
			if !slices.Contains(got, tc.invalid) || slices.Contains(got, "newphone.handoff_confirm") {
				t.Fatalf("%d: replies %v, want %s and no confirmation", i, got, tc.invalid)
			}
		}
		if !tc.pressHand {
			continue
		}
		data := ""
		for _, r := range replies {
			for _, b := range r.Buttons {
				if strings.HasPrefix(b.Data, "handoff_start") {
					data = b.Data
				}
			}
		}
		if data == "" {
			t.Fatalf("%d: no hand-off Start button", i)
		}
		if err := a.engine.Handle(ctx, bot.Event{Conversation: conv, UserID: conv.ID, Locale: "en", Kind: bot.KindButton, Data: data}); err != nil {
			t.Fatal(err)
		}
		_, n = rec.Since(n)
		s, err = a.engine.Session(ctx, conv)
		if err != nil || s.Flow != tc.flow || s.State != tc.after || (s.Tags["handoff"] != "") != tc.handoff {
			t.Fatalf("%d: after Start %s/%s tags %v (%v), want %s/%s hand-off %v", i, s.Flow, s.State, s.Tags, err, tc.flow, tc.after, tc.handoff)
		}
	}
}
