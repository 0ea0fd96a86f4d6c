package totpswitch_test

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/support"
	"guidedfix/internal/testkit"
)

// storeHandoffs is totpswitch.Handoffs on a real support store (bbolt),
// for hand-offs of this flow (or of none), as cmd/guidedfix wires it.
type storeHandoffs struct{ s *support.Store }

func (h storeHandoffs) accept(ho support.Handoff) error {
	if ho.Flow != "" && ho.Flow != totpswitch.Name {
		return support.ErrInvalidToken
	}
	return nil
}

func (h storeHandoffs) Redeem(ctx context.Context, token, conv string) (string, string, error) {
	ho, err := h.s.Redeem(ctx, token, conv, h.accept)
	return ho.AccountID, ho.ID, err
}

func (h storeHandoffs) Redeemable(ctx context.Context, token, conv string) (bool, error) {
	_, err := h.s.CheckToken(ctx, token, conv, h.accept)
	if errors.Is(err, support.ErrInvalidToken) {
		return false, nil
	}
	return err == nil, err
}

// TestStartLinkCheckedBeforeConfirm (issue 14 F9): /start garbage, an
// unknown, expired, used-elsewhere, completed or other-flow token all
// get one answer (link_invalid, then the normal start) and change
// nothing; a valid token keeps the confirmation unspent, and the
// conversation that used it may reopen it.
func TestStartLinkCheckedBeforeConfirm(t *testing.T) {
	ctx := context.Background()
	var env *testkit.Env
	st, err := support.Open(filepath.Join(t.TempDir(), "support.db"), func() time.Time { return env.Clock.Now() })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	env = testkit.New(t, testkit.Options{Handoffs: storeHandoffs{st}})
	pw := env.AddAccount(t, "tan@example.com", portal.MethodSMS)
	acc, err := env.Core.LookupAccount(ctx, "tan@example.com")
	if err != nil {
		t.Fatal(err)
	}
	create := func(flow string, ttl time.Duration) (support.Handoff, string) {
		t.Helper()
		h, token, err := st.CreateHandoff(ctx, support.Handoff{AccountID: acc.ID, Email: acc.Email, Flow: flow, CreatedBy: "slack:U1AGENT"}, ttl)
		if err != nil {
			t.Fatal(err)
		}
		env.AddSecret(token)
		return h, token
	}
	_, expired := create(totpswitch.Name, time.Minute)
	env.Clock.Advance(2 * time.Minute)
	usedH, used := create("", 0)
	if _, err := st.Redeem(ctx, used, "test:999", nil); err != nil {
		t.Fatal(err)
	}
	_, otherFlow := create("newphone", 0)
	doneH, done := create(totpswitch.Name, 0)
	if _, err := st.Update(ctx, doneH.ID, func(h *support.Handoff) error { h.Outcome = support.OutcomeValue("done"); return nil }); err != nil {
		t.Fatal(err)
	}
	usedBefore, _ := st.Handoff(ctx, usedH.ID)

	var first []bot.Reply
	for i, payload := range []string{"garbage", "xyz", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", expired, used, otherFlow, done} {
		c := newChat(t, env)
		r := c.send(bot.Event{Kind: bot.KindStart, Data: payload})
		wantIDs(t, r, "totp.welcome", "totp.link_invalid", "totp.ask_email")
		if first == nil {
			first = r
		} else if r[1].Text != first[1].Text {
			t.Fatalf("case %d answered %q, case 0 %q: want one answer for every invalid link", i, r[1].Text, first[1].Text)
		}
		if c.button("handoff_start") != "" {
			t.Fatalf("case %d offers the hand-off's Start", i)
		}
		s := c.session()
		var d struct {
			HandoffToken string `json:"handoff_token"`
		}
		if err := json.Unmarshal(s.Data, &d); err != nil {
			t.Fatal(err)
		}
		if s.State != totpswitch.StateAwaitingEmail || d.HandoffToken != "" || s.Tags["handoff"] != "" {
			t.Fatalf("case %d: state %q token kept %v tags %v", i, s.State, d.HandoffToken != "", s.Tags)
		}
	}
	if h, err := st.Handoff(ctx, usedH.ID); err != nil || !h.UsedAt.Equal(usedBefore.UsedAt) || h.Conversation != "test:999" {
		t.Fatalf("the used hand-off changed: %+v, %v", h, err)
	}

	fresh, token := create(totpswitch.Name, 0)
	c := newChat(t, env)
	wantIDs(t, c.send(bot.Event{Kind: bot.KindStart, Data: token}), "totp.welcome", "totp.handoff_confirm")
	if h, err := st.Handoff(ctx, fresh.ID); err != nil || !h.UsedAt.IsZero() {
		t.Fatalf("the confirmation spent the token: %+v, %v", h, err)
	}
	wantIDs(t, c.press("handoff_start"), "totp.handoff_welcome", "totp.ask_password")
	c.cmd("cancel")
	if s := c.session(); !s.Done {
		t.Fatalf("state %q after cancel, want done", s.State)
	}
	wantIDs(t, c.send(bot.Event{Kind: bot.KindStart, Data: token}), "totp.welcome", "totp.handoff_confirm")
	wantIDs(t, c.press("handoff_start"), "totp.handoff_welcome", "totp.ask_password")
	if s := c.session(); s.Tags["handoff"] != fresh.ID {
		t.Fatalf("reopened: tags %v", s.Tags)
	}
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.sms_sent")
}
