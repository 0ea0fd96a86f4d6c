package newphone_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/internal/support"
)

// redeemer adapts the support store (a real bbolt file) to the flow's
// Handoffs, as cmd/guidedfix wires it.
type redeemer struct{ s *support.Store }

func (r redeemer) Redeem(ctx context.Context, token, conv string) (string, string, error) {
	h, err := r.s.Redeem(ctx, token, conv, r.accept)
	return h.AccountID, h.ID, err
}

func (r redeemer) Redeemable(ctx context.Context, token, conv string) (bool, error) {
	_, err := r.s.CheckToken(ctx, token, conv, r.accept)
	if errors.Is(err, support.ErrInvalidToken) {
		return false, nil
	}
	return err == nil, err
}

// accept refuses a hand-off of another flow, as cmd/guidedfix does.
func (r redeemer) accept(h support.Handoff) error {
	if h.Flow != newphone.Name {
		return support.ErrInvalidToken
	}
	return nil
}

// TestHandoffLink: a support agent's hand-off link identifies the account;
// the token is spent only by the customer's Start press, the customer
// still proves the password and the current factor, and the session is
// tagged with the hand-off for the support desk's watch thread.
func TestHandoffLink(t *testing.T) {
	st, err := support.Open(filepath.Join(t.TempDir(), "support.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e := newEnv(t, envOptions{handoffs: redeemer{st}})
	acc := e.totpAccount("jo@example.com", 0)
	h, token, err := st.CreateHandoff(context.Background(), support.Handoff{AccountID: e.accountID(acc.email), Email: acc.email,
		Flow: newphone.Name, CreatedBy: "slack:U1AGENT"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	e.secret(token)
	c := e.chat()
	wantIDs(t, c.send(bot.Event{Kind: bot.KindStart, Data: token}), "newphone.welcome", "newphone.handoff_confirm")
	r := c.press("handoff_start")
	wantIDs(t, r, "newphone.handoff_welcome", "newphone.ask_password")
	if len(r[1].Buttons) != 1 {
		t.Fatalf("a hand-off's password prompt offers %d buttons, want Cancel only (the account is fixed)", len(r[1].Buttons))
	}
	wantIDs(t, c.text(acc.password), "delete:engine.delete_user_secret", "newphone.choose_proof")
	if s := c.session(); s.Tags["handoff"] != h.ID || s.Tags["account"] != e.accountID(acc.email) {
		t.Fatalf("tags %v, want the hand-off %s", s.Tags, h.ID)
	}
	c.press("have_old")
	r = c.text(e.codeOf(acc.secret, 0))
	key := e.keyFromQR(r[1].Image)
	wantIDs(t, c.text(e.codeOf(key.Secret(), 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "newphone.done")
	// The link works once: another conversation is told at once that it
	// is not valid (issue 14 F9) and gets the normal start.
	c2 := e.chatIn(bot.Conversation{Channel: "test", ID: "200"}, 1000, len(e.rec.Replies)) // update ids are per channel
	wantIDs(t, c2.send(bot.Event{Kind: bot.KindStart, Data: token}), "newphone.welcome", "newphone.link_invalid", "newphone.ask_email")
	if c2.Button("handoff_start") != "" {
		t.Fatal("a used link still offers Start in another conversation")
	}
}
