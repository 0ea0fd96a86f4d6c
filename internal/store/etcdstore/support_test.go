package etcdstore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"guidedfix/internal/portal/portaltest"
	"guidedfix/internal/store/etcdstore"
	"guidedfix/internal/support"
)

// TestSupportRecords checks support.Records on etcd with two replicas'
// stores on one prefix: a hand-off token redeemed on both at once works
// once and is stored only as a hash; an expired one never; two agents
// claiming one escalation from different replicas give one holder; an
// older thread is no longer the escalation; the audit log reads newest
// first and per account.
func TestSupportRecords(t *testing.T) {
	clock := portaltest.NewClock(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	prefix := fmt.Sprintf("/sup%d/", prefixes.Add(1))
	a := etcdstore.NewSupport(openStore(t, etcdstore.Options{Now: clock.Now, Prefix: prefix}))
	b := etcdstore.NewSupport(openStore(t, etcdstore.Options{Now: clock.Now, Prefix: prefix}))
	ctx := context.Background()

	h, token, err := a.CreateHandoff(ctx, support.Handoff{AccountID: "acc-1", Email: "a@example.com", Flow: "totpswitch", CreatedBy: "slack:U1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(token) != 43 || !strings.HasPrefix(h.ID, "ho_") || !h.ExpiresAt.Equal(clock.Now().Add(support.DefaultHandoffTTL)) {
		t.Fatalf("hand-off %+v token length %d", h, len(token))
	}
	var wg sync.WaitGroup
	results := make([]error, 2)
	for i, r := range []*etcdstore.Support{a, b} {
		wg.Go(func() { _, results[i] = r.Redeem(ctx, token, fmt.Sprintf("telegram:%d", i), nil) })
	}
	wg.Wait()
	won := 0
	for _, err := range results {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, support.ErrInvalidToken):
			t.Fatal(err)
		}
	}
	if won != 1 {
		t.Fatalf("%d redemptions succeeded, want 1 (%v)", won, results)
	}
	got, err := b.Handoff(ctx, h.ID)
	if err != nil || got.UsedAt.IsZero() || (got.Conversation != "telegram:0" && got.Conversation != "telegram:1") {
		t.Fatalf("redeemed hand-off %+v, %v", got, err)
	}
	if byConv, err := a.ByConversation(ctx, got.Conversation); err != nil || byConv.ID != h.ID {
		t.Fatalf("ByConversation = %+v, %v", byConv, err)
	}
	if _, err := a.ByConversation(ctx, "telegram:9"); !errors.Is(err, support.ErrNotFound) {
		t.Fatalf("ByConversation(unknown) = %v", err)
	}
	if up, err := b.Update(ctx, h.ID, func(h *support.Handoff) error { h.Outcome = "completed"; return nil }); err != nil || up.Outcome != "completed" {
		t.Fatalf("Update = %+v, %v", up, err)
	}
	if _, err := b.Update(ctx, h.ID, func(*support.Handoff) error { return errors.New("no") }); err == nil {
		t.Fatal("Update with a failing fn succeeded")
	}
	if got, _ := a.Handoff(ctx, h.ID); got.Outcome != "completed" {
		t.Fatalf("outcome %q after a failed Update", got.Outcome)
	}
	_, late, err := a.CreateHandoff(ctx, support.Handoff{AccountID: "acc-2"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	clock.Advance(support.DefaultHandoffTTL)
	if _, err := b.Redeem(ctx, late, "telegram:5", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("expired Redeem = %v, want ErrInvalidToken", err)
	}
	resp, err := sharedCluster.client(t).Get(ctx, prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if strings.Contains(string(kv.Key)+string(kv.Value), token) || strings.Contains(string(kv.Key)+string(kv.Value), late) {
			t.Fatalf("a hand-off token is stored in clear under %q", kv.Key)
		}
	}

	if err := a.SetEscalation(ctx, "telegram:0", "C1", "100.1"); err != nil {
		t.Fatal(err)
	}
	holders := make([]string, 2)
	for i, r := range []*etcdstore.Support{a, b} {
		wg.Go(func() {
			var err error
			if holders[i], err = r.ClaimEscalation(ctx, "telegram:0", fmt.Sprintf("U%d", i)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if holders[0] != holders[1] || (holders[0] != "U0" && holders[0] != "U1") {
		t.Fatalf("holders %q, want one agent for both", holders)
	}
	if conv, agent, err := b.EscalationByThread(ctx, "C1", "100.1"); err != nil || conv != "telegram:0" || agent != holders[0] {
		t.Fatalf("EscalationByThread = %q %q %v", conv, agent, err)
	}
	if err := b.ReleaseEscalation(ctx, "telegram:0"); err != nil {
		t.Fatal(err)
	}
	if err := a.SetEscalation(ctx, "telegram:0", "C1", "200.2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.EscalationByThread(ctx, "C1", "100.1"); !errors.Is(err, support.ErrNotFound) {
		t.Fatalf("older thread = %v, want ErrNotFound", err)
	}
	if ch, th, err := b.Escalation(ctx, "telegram:0"); err != nil || ch != "C1" || th != "200.2" {
		t.Fatalf("Escalation = %q %q %v", ch, th, err)
	}
	if _, err := a.ClaimEscalation(ctx, "telegram:7", "U1"); !errors.Is(err, support.ErrNotFound) {
		t.Fatalf("claim of no escalation = %v", err)
	}
	// "Take over from": only from the holder, seen by both replicas.
	if h, err := a.ClaimEscalation(ctx, "telegram:0", "U1"); err != nil || h != "U1" {
		t.Fatalf("claim of the new thread = %q %v", h, err)
	}
	if h, err := b.ReassignEscalation(ctx, "telegram:0", "U9", "U2"); err != nil || h != "U1" {
		t.Fatalf("reassign from a non-holder = %q %v, want U1", h, err)
	}
	if h, err := b.ReassignEscalation(ctx, "telegram:0", "U1", "U2"); err != nil || h != "U2" {
		t.Fatalf("reassign from the holder = %q %v, want U2", h, err)
	}
	if _, agent, err := a.EscalationByThread(ctx, "C1", "200.2"); err != nil || agent != "U2" {
		t.Fatalf("agent after the reassign = %q %v", agent, err)
	}
	if err := a.ReleaseEscalation(ctx, "telegram:0"); err != nil {
		t.Fatal(err)
	}
	if _, err := a.ReassignEscalation(ctx, "telegram:7", "U1", "U2"); !errors.Is(err, support.ErrNotFound) {
		t.Fatalf("reassign of no escalation = %v", err)
	}

	for i := range 5 {
		clock.Advance(time.Second)
		acc := "acc-1"
		if i%2 == 1 {
			acc = "acc-2"
		}
		r := a
		if i%2 == 0 {
			r = b
		}
		if err := r.Append(ctx, support.Entry{Channel: "telegram", UserID: "u", AccountID: acc, Action: fmt.Sprintf("step%d", i), Outcome: "ok"}); err != nil {
			t.Fatal(err)
		}
	}
	all, err := a.Audit(ctx, "", 10)
	if err != nil || len(all) != 5 || all[0].Action != "step4" || all[4].Action != "step0" {
		t.Fatalf("Audit(all) = %+v, %v", all, err)
	}
	one, err := b.Audit(ctx, "acc-1", 2)
	if err != nil || len(one) != 2 || one[0].Action != "step4" || one[1].Action != "step2" {
		t.Fatalf("Audit(acc-1, 2) = %+v, %v", one, err)
	}
}
