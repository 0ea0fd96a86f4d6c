package newphone_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/internal/support"
)

// TestStartLinkCheckedBeforeConfirm (issue 14 F9): a start payload that
// is no redeemable hand-off token — no token at all, an unknown one, an
// expired one, one another conversation used, one of another flow, one
// whose change completed — gets one and the same answer (link_invalid,
// then the normal start), offers no Start button, keeps no token in the
// session and changes no hand-off record; a valid token keeps today's
// confirmation and is not spent by it.
func TestStartLinkCheckedBeforeConfirm(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	var e *env
	st, err := support.Open(filepath.Join(dir, "support.db"), func() time.Time { return e.clock.Now() })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e = newEnv(t, envOptions{handoffs: redeemer{st}})
	acc := e.totpAccount("sara@example.com", 0)
	create := func(flow string, ttl time.Duration) (support.Handoff, string) {
		t.Helper()
		h, token, err := st.CreateHandoff(ctx, support.Handoff{AccountID: e.accountID(acc.email), Email: acc.email, Flow: flow, CreatedBy: "slack:U1AGENT"}, ttl)
		if err != nil {
			t.Fatal(err)
		}
		e.secret(token)
		return h, token
	}
	_, expired := create(newphone.Name, time.Minute)
	e.clock.Advance(2 * time.Minute)
	usedH, used := create(newphone.Name, 0)
	if _, err := st.Redeem(ctx, used, "test:999", nil); err != nil {
		t.Fatal(err)
	}
	_, otherFlow := create("totpswitch", 0)
	doneH, done := create(newphone.Name, 0)
	if _, err := st.Update(ctx, doneH.ID, func(h *support.Handoff) error { h.Outcome = support.OutcomeValue("done"); return nil }); err != nil {
		t.Fatal(err)
	}
	records := func() map[string]support.Handoff {
		t.Helper()
		out := map[string]support.Handoff{}
		for _, id := range []string{usedH.ID, doneH.ID} {
			h, err := st.Handoff(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			out[id] = h
		}
		return out
	}
	before := records()

	var first []bot.Reply
	for i, payload := range []string{"garbage", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", expired, used, otherFlow, done} {
		c := e.chatIn(bot.Conversation{Channel: "test", ID: fmt.Sprint(300 + i)}, 1000*(i+1), len(e.rec.Replies))
		r := c.send(bot.Event{Kind: bot.KindStart, Data: payload})
		wantIDs(t, r, "newphone.welcome", "newphone.link_invalid", "newphone.ask_email")
		if first == nil {
			first = r
		} else if r[1].Text != first[1].Text || !slices.Equal(ids(r), ids(first)) {
			t.Fatalf("case %d answered %v %q, case 0 %v %q: want one answer for every invalid link", i, ids(r), r[1].Text, ids(first), first[1].Text)
		}
		if c.Button("handoff_start") != "" {
			t.Fatalf("case %d offers the hand-off's Start", i)
		}
		s := c.session()
		var d struct {
			HandoffToken string `json:"handoff_token"`
		}
		if err := json.Unmarshal(s.Data, &d); err != nil {
			t.Fatal(err)
		}
		if s.State != newphone.StateAwaitingEmail || s.Done || d.HandoffToken != "" || s.Tags["handoff"] != "" || s.Tags["account"] != "" {
			t.Fatalf("case %d: state %q done %v token kept %v tags %v", i, s.State, s.Done, d.HandoffToken != "", s.Tags)
		}
		// The normal start goes on: the e-mail is asked and works.
		wantIDs(t, c.text(acc.email), "newphone.ask_password")
	}
	if after := records(); !equalRecords(before, after) {
		t.Fatalf("hand-off records changed: %+v → %+v", before, after)
	}

	// A valid token keeps the confirmation and is not spent by it.
	fresh, token := create(newphone.Name, 0)
	c := e.chatIn(bot.Conversation{Channel: "test", ID: "400"}, 9000, len(e.rec.Replies))
	wantIDs(t, c.send(bot.Event{Kind: bot.KindStart, Data: token}), "newphone.welcome", "newphone.handoff_confirm")
	if h, err := st.Handoff(ctx, fresh.ID); err != nil || !h.UsedAt.IsZero() || h.Conversation != "" {
		t.Fatalf("the confirmation spent the token: %+v, %v", h, err)
	}
	wantIDs(t, c.press("handoff_start"), "newphone.handoff_welcome", "newphone.ask_password")
	if s := c.session(); s.Tags["handoff"] != fresh.ID {
		t.Fatalf("tags %v, want hand-off %s", s.Tags, fresh.ID)
	}
	// The conversation that used it may reopen it after a cancel: the
	// confirmation as today, then the hand-off again.
	c.cmd("cancel")
	c.wantState(newphone.StateCancelled, true)
	wantIDs(t, c.send(bot.Event{Kind: bot.KindStart, Data: token}), "newphone.welcome", "newphone.handoff_confirm")
	wantIDs(t, c.press("handoff_start"), "newphone.handoff_welcome", "newphone.ask_password")
	if s := c.session(); s.Tags["handoff"] != fresh.ID {
		t.Fatalf("reopened: tags %v, want hand-off %s", s.Tags, fresh.ID)
	}
}

// equalRecords compares hand-off records by what a redemption writes.
func equalRecords(a, b map[string]support.Handoff) bool {
	if len(a) != len(b) {
		return false
	}
	for id, h := range a {
		g := b[id]
		if !g.UsedAt.Equal(h.UsedAt) || g.Conversation != h.Conversation || g.Outcome != h.Outcome {
			return false
		}
	}
	return true
}

// TestStartLinkWithoutHandoffs: with hand-offs off (no Handoffs), a start
// payload is an invalid link as well, followed by the normal start.
func TestStartLinkWithoutHandoffs(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.chat()
	wantIDs(t, c.send(bot.Event{Kind: bot.KindStart, Data: "xyz"}), "newphone.welcome", "newphone.link_invalid", "newphone.ask_email")
	c.wantState(newphone.StateAwaitingEmail, false)
}
