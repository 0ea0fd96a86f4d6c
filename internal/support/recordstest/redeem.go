// Package recordstest holds conformance checks every support.Records
// implementation (support.Store on bbolt, etcdstore.Support) must pass.
package recordstest

import (
	"context"
	"errors"
	"testing"
	"time"

	"guidedfix/internal/support"
)

// errRefused is what the accept function of the checks returns.
var errRefused = errors.New("recordstest: refused")

// Redeem checks r's hand-off redemption rules (support.CheckRedeem): an
// accept function that refuses leaves the token unused; the first
// conversation's redemption binds the token, that conversation may reopen
// it and gets the same hand-off, another conversation is refused; a
// completed fix's token is refused; so is one past its expiry. advance
// moves r's clock forward by d.
func Redeem(t *testing.T, r support.Records, advance func(d time.Duration)) {
	t.Helper()
	ctx := context.Background()
	h, token, err := r.CreateHandoff(ctx, support.Handoff{AccountID: "acc-r", Email: "r@example.com", Flow: "beta", CreatedBy: "slack:U9"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var seen support.Handoff
	if _, err := r.Redeem(ctx, token, "telegram:1", func(h support.Handoff) error { seen = h; return errRefused }); !errors.Is(err, errRefused) {
		t.Fatalf("Redeem with a refusing accept = %v, want its error", err)
	}
	if seen.ID != h.ID || seen.Flow != "beta" {
		t.Fatalf("accept saw %+v, want hand-off %s of flow beta", seen, h.ID)
	}
	if got, err := r.Handoff(ctx, h.ID); err != nil || !got.UsedAt.IsZero() || got.Conversation != "" {
		t.Fatalf("after a refused redemption: %+v, %v; want the token unused", got, err)
	}
	first, err := r.Redeem(ctx, token, "telegram:2", nil)
	if err != nil || first.ID != h.ID || first.Conversation != "telegram:2" || first.UsedAt.IsZero() {
		t.Fatalf("first redemption = %+v, %v", first, err)
	}
	advance(time.Minute)
	again, err := r.Redeem(ctx, token, "telegram:2", nil)
	if err != nil || again.ID != h.ID || !again.UsedAt.Equal(first.UsedAt) || again.Conversation != "telegram:2" {
		t.Fatalf("reopened by the same conversation = %+v, %v; want the same hand-off, used at %v", again, err, first.UsedAt)
	}
	if _, err := r.Redeem(ctx, token, "telegram:3", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("another conversation = %v, want ErrInvalidToken", err)
	}
	// "done" is the terminal state every shipped flow completes in.
	if _, err := r.Update(ctx, h.ID, func(h *support.Handoff) error { h.Outcome = support.OutcomeValue("done"); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := r.Redeem(ctx, token, "telegram:2", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("after completion = %v, want ErrInvalidToken", err)
	}
	_, late, err := r.CreateHandoff(ctx, support.Handoff{AccountID: "acc-s", Flow: "alpha"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	if _, err := r.Redeem(ctx, late, "telegram:4", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("expired token = %v, want ErrInvalidToken", err)
	}
}

// CheckToken checks r's read-only token check (support.Records'
// CheckToken) against Redeem's rules: it answers as Redeem would, with
// the same hand-off, and writes nothing — an unused token stays unused
// and unbound, a used one keeps its conversation and time; an unknown,
// completed or expired token and one another conversation used give
// support.ErrInvalidToken, and a refusing accept its own error. advance
// moves r's clock forward by d.
func CheckToken(t *testing.T, r support.Records, advance func(d time.Duration)) {
	t.Helper()
	ctx := context.Background()
	h, token, err := r.CreateHandoff(ctx, support.Handoff{AccountID: "acc-c", Email: "c@example.com", Flow: "beta", CreatedBy: "slack:U9"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	unused := func(when string) {
		t.Helper()
		if got, err := r.Handoff(ctx, h.ID); err != nil || !got.UsedAt.IsZero() || got.Conversation != "" {
			t.Fatalf("%s: %+v, %v; want the token unused", when, got, err)
		}
		if _, err := r.ByConversation(ctx, "telegram:21"); !errors.Is(err, support.ErrNotFound) {
			t.Fatalf("%s: ByConversation = %v, want ErrNotFound (nothing bound)", when, err)
		}
	}
	for range 2 {
		got, err := r.CheckToken(ctx, token, "telegram:21", nil)
		if err != nil || got.ID != h.ID || got.AccountID != "acc-c" || got.Flow != "beta" {
			t.Fatalf("CheckToken of an unused token = %+v, %v; want hand-off %s", got, err, h.ID)
		}
		unused("after CheckToken")
	}
	var seen support.Handoff
	if _, err := r.CheckToken(ctx, token, "telegram:21", func(h support.Handoff) error { seen = h; return errRefused }); !errors.Is(err, errRefused) {
		t.Fatalf("CheckToken with a refusing accept = %v, want its error", err)
	}
	if seen.ID != h.ID {
		t.Fatalf("accept saw %+v, want hand-off %s", seen, h.ID)
	}
	unused("after a refused CheckToken")
	if _, err := r.CheckToken(ctx, "no-such-token", "telegram:21", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("CheckToken of an unknown token = %v, want ErrInvalidToken", err)
	}
	first, err := r.Redeem(ctx, token, "telegram:22", nil)
	if err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	if got, err := r.CheckToken(ctx, token, "telegram:22", nil); err != nil || got.ID != h.ID || !got.UsedAt.Equal(first.UsedAt) {
		t.Fatalf("CheckToken by the conversation that used it = %+v, %v; want hand-off %s (it may reopen)", got, err, h.ID)
	}
	if _, err := r.CheckToken(ctx, token, "telegram:23", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("CheckToken by another conversation = %v, want ErrInvalidToken", err)
	}
	if got, err := r.Handoff(ctx, h.ID); err != nil || !got.UsedAt.Equal(first.UsedAt) || got.Conversation != "telegram:22" {
		t.Fatalf("after the checks: %+v, %v; want used by telegram:22 at %v", got, err, first.UsedAt)
	}
	if _, err := r.Update(ctx, h.ID, func(h *support.Handoff) error { h.Outcome = support.OutcomeValue("done"); return nil }); err != nil {
		t.Fatal(err)
	}
	if _, err := r.CheckToken(ctx, token, "telegram:22", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("CheckToken after completion = %v, want ErrInvalidToken", err)
	}
	late, lateToken, err := r.CreateHandoff(ctx, support.Handoff{AccountID: "acc-d", Flow: "alpha"}, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Redeem(ctx, lateToken, "telegram:24", nil); err != nil {
		t.Fatal(err)
	}
	advance(time.Minute)
	if _, err := r.CheckToken(ctx, lateToken, "telegram:24", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("CheckToken of an expired token = %v, want ErrInvalidToken", err)
	}
	if got, err := r.Handoff(ctx, late.ID); err != nil || got.Conversation != "telegram:24" {
		t.Fatalf("expired hand-off %+v, %v", got, err)
	}
}
