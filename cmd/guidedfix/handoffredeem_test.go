package main

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"guidedfix/internal/support"
)

// TestHandoffOfAnotherFlowStaysUnused: a newphone hand-off's token
// redeemed by the default flow (its link opened without the flow's
// payload prefix) is refused and stays unused, so the link staff sent
// still starts newphone in that conversation.
func TestHandoffOfAnotherFlowStaysUnused(t *testing.T) {
	s, err := support.Open(filepath.Join(t.TempDir(), "support.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	h, token, err := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc-1", Flow: "newphone"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	def := handoffs{s: s, flow: "totpswitch", def: true}
	if _, _, err := def.Redeem(ctx, token, "telegram:1"); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("default flow redeeming a newphone hand-off = %v, want ErrInvalidToken", err)
	}
	if got, err := s.Handoff(ctx, h.ID); err != nil || !got.UsedAt.IsZero() {
		t.Fatalf("after the refusal: %+v, %v; want the token unused", got, err)
	}
	acc, id, err := handoffs{s: s, flow: "newphone"}.Redeem(ctx, token, "telegram:1")
	if err != nil || acc != "acc-1" || id != h.ID {
		t.Fatalf("newphone redeeming its hand-off = %q, %q, %v", acc, id, err)
	}
	// A record without a flow is the default flow's.
	_, old, err := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc-2"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := (handoffs{s: s, flow: "newphone"}).Redeem(ctx, old, "telegram:2"); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("newphone redeeming a flow-less hand-off = %v, want ErrInvalidToken", err)
	}
	if acc, _, err := def.Redeem(ctx, old, "telegram:2"); err != nil || acc != "acc-2" {
		t.Fatalf("default flow redeeming a flow-less hand-off = %q, %v", acc, err)
	}
}

// TestHandoffRedeemableSpendsNothing (issue 14 F9): the check a start
// makes before the hand-off's confirmation is true only for a token
// Redeem would accept in that conversation (its flow's, unused or
// reopened by the conversation that used it), false with no error for an
// unknown token, one of another flow and one another conversation used,
// and it never spends or binds the token.
func TestHandoffRedeemableSpendsNothing(t *testing.T) {
	s, err := support.Open(filepath.Join(t.TempDir(), "support.db"), time.Now)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ctx := context.Background()
	h, token, err := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc-1", Flow: "newphone"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	np := handoffs{s: s, flow: "newphone"}
	def := handoffs{s: s, flow: "totpswitch", def: true}
	check := func(h handoffs, token, conv string, want bool) {
		t.Helper()
		if ok, err := h.Redeemable(ctx, token, conv); err != nil || ok != want {
			t.Fatalf("%s Redeemable(%s) = %v, %v; want %v", h.flow, conv, ok, err, want)
		}
	}
	check(np, token, "telegram:1", true)
	check(def, token, "telegram:1", false) // another flow's hand-off
	check(np, "unknown", "telegram:1", false)
	if got, err := s.Handoff(ctx, h.ID); err != nil || !got.UsedAt.IsZero() || got.Conversation != "" {
		t.Fatalf("after the checks: %+v, %v; want the token unused", got, err)
	}
	if _, _, err := np.Redeem(ctx, token, "telegram:1"); err != nil {
		t.Fatal(err)
	}
	check(np, token, "telegram:1", true) // reopen
	check(np, token, "telegram:2", false)
}
