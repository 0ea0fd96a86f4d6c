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
