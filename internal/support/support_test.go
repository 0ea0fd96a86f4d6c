package support_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"guidedfix/internal/portal/portaltest"
	"guidedfix/internal/support"
)

func open(t *testing.T) (*support.Store, *portaltest.Clock, string) {
	t.Helper()
	clk := portaltest.NewClock(portaltest.Start)
	path := filepath.Join(t.TempDir(), "support.db")
	s, err := support.Open(path, clk.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s, clk, path
}

func TestHandoffTokenSingleUseAndHashed(t *testing.T) {
	s, _, path := open(t)
	ctx := context.Background()
	h, token, err := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc1", Email: "ana@example.com", Flow: "totpswitch", CreatedBy: "slack:U1", Ticket: "T-42"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(token) {
		t.Fatalf("token %q is not 43 base64url characters", token)
	}
	if !h.ExpiresAt.Equal(portaltest.Start.Add(10 * time.Minute)) {
		t.Fatalf("expires %v", h.ExpiresAt)
	}
	got, err := s.Redeem(ctx, token, "telegram:42", nil)
	if err != nil || got.ID != h.ID || got.AccountID != "acc1" || got.Conversation != "telegram:42" {
		t.Fatalf("redeem: %+v %v", got, err)
	}
	if _, err := s.Redeem(ctx, token, "telegram:43", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := s.Redeem(ctx, "unknown-token", "telegram:43", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("unknown token: %v", err)
	}
	by, err := s.ByConversation(ctx, "telegram:42")
	if err != nil || by.ID != h.ID {
		t.Fatalf("by conversation: %+v %v", by, err)
	}
	s.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(token)) {
		t.Fatal("support.db holds the token in clear")
	}
}

// TestHandoffTokenExpiresAfter10Minutes is security checklist §5 #22
// ("10:01 → rejected"): with the default lifetime a token redeems at
// 10:00 minus a second and is refused at 10:01; a configured shorter
// lifetime (slack.handoff_ttl) is honoured the same way.
func TestHandoffTokenExpiresAfter10Minutes(t *testing.T) {
	s, clk, _ := open(t)
	ctx := context.Background()
	_, early, err := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, late, err := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	short, shortTok, err := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc2"}, 2*time.Minute)
	if err != nil || !short.ExpiresAt.Equal(portaltest.Start.Add(2*time.Minute)) {
		t.Fatalf("2 min hand-off: %+v %v", short, err)
	}
	clk.Advance(2*time.Minute + time.Second)
	if _, err := s.Redeem(ctx, shortTok, "telegram:3", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("2 min hand-off at 2:01: %v", err)
	}
	clk.Advance(10*time.Minute - time.Second - (2*time.Minute + time.Second))
	if _, err := s.Redeem(ctx, early, "telegram:1", nil); err != nil {
		t.Fatalf("at 9:59: %v", err)
	}
	clk.Advance(2 * time.Second)
	if _, err := s.Redeem(ctx, late, "telegram:2", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("at 10:01: %v", err)
	}
}

func TestConcurrentRedeemOneWins(t *testing.T) {
	s, _, _ := open(t)
	ctx := context.Background()
	_, token, err := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ { // 20 conversations
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Redeem(ctx, token, fmt.Sprint("telegram:", i), nil); err == nil {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d redemptions succeeded, want 1", wins.Load())
	}
}

func TestAuditNewestFirstByAccount(t *testing.T) {
	s, clk, _ := open(t)
	ctx := context.Background()
	for i, a := range []string{"step", "handoff_created", "step"} {
		acc := "acc1"
		if i == 1 {
			acc = "acc2"
		}
		clk.Advance(time.Second)
		if err := s.Append(ctx, support.Entry{Channel: "slack", UserID: "U1", AccountID: acc, Action: a, Outcome: string(rune('a' + i))}); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.Audit(ctx, "acc1", 20)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].Outcome != "c" || got[1].Outcome != "a" || !got[0].At.After(got[1].At) {
		t.Fatalf("audit %+v", got)
	}
	all, _ := s.Audit(ctx, "", 2)
	if len(all) != 2 || all[0].Outcome != "c" || all[1].Outcome != "b" {
		t.Fatalf("limit/all %+v", all)
	}
}

func TestEscalationClaimAndThread(t *testing.T) {
	s, _, path := open(t)
	ctx := context.Background()
	if _, err := s.ClaimEscalation(ctx, "telegram:1", "U1"); !errors.Is(err, support.ErrNotFound) {
		t.Fatalf("claim without an escalation: %v", err)
	}
	if err := s.SetEscalation(ctx, "telegram:1", "C1", "100.1"); err != nil {
		t.Fatal(err)
	}
	if conv, agent, err := s.EscalationByThread(ctx, "C1", "100.1"); err != nil || conv != "telegram:1" || agent != "" {
		t.Fatalf("by thread: %q %q %v", conv, agent, err)
	}
	// One agent at a time; the same agent may claim again.
	for _, c := range []struct{ agent, want string }{{"U1", "U1"}, {"U2", "U1"}, {"U1", "U1"}} {
		if got, err := s.ClaimEscalation(ctx, "telegram:1", c.agent); err != nil || got != c.want {
			t.Fatalf("claim by %s: %q %v, want %q", c.agent, got, err, c.want)
		}
	}
	if _, agent, _ := s.EscalationByThread(ctx, "C1", "100.1"); agent != "U1" {
		t.Fatalf("agent %q", agent)
	}
	if ch, th, err := s.Escalation(ctx, "telegram:1"); err != nil || ch != "C1" || th != "100.1" {
		t.Fatalf("escalation %q %q %v", ch, th, err)
	}
	if err := s.ReleaseEscalation(ctx, "telegram:1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.ClaimEscalation(ctx, "telegram:1", "U2"); got != "U2" {
		t.Fatalf("claim after release: %q", got)
	}
	// A new escalation replaces the thread, with no agent; the old
	// thread is no longer the conversation's.
	if err := s.SetEscalation(ctx, "telegram:1", "C1", "200.2"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.EscalationByThread(ctx, "C1", "100.1"); !errors.Is(err, support.ErrNotFound) {
		t.Fatalf("old thread: %v", err)
	}
	if _, _, err := s.EscalationByThread(ctx, "C1", "999.9"); !errors.Is(err, support.ErrNotFound) {
		t.Fatalf("unknown thread: %v", err)
	}
	if conv, agent, err := s.EscalationByThread(ctx, "C1", "200.2"); err != nil || conv != "telegram:1" || agent != "" {
		t.Fatalf("new thread: %q %q %v", conv, agent, err)
	}
	if err := s.ReleaseEscalation(ctx, "telegram:9"); !errors.Is(err, support.ErrNotFound) {
		t.Fatalf("release without an escalation: %v", err)
	}
	// Concurrent claims: one agent wins.
	if err := s.SetEscalation(ctx, "telegram:2", "C1", "300.3"); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	holders := make([]string, 8)
	for i := range holders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			holders[i], _ = s.ClaimEscalation(ctx, "telegram:2", "U"+string(rune('A'+i)))
		}()
	}
	wg.Wait()
	for _, h := range holders {
		if h != holders[0] {
			t.Fatalf("holders %q", holders)
		}
	}
	// The records survive a reopen.
	s.Close()
	s2, err := support.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	if conv, agent, err := s2.EscalationByThread(ctx, "C1", "300.3"); err != nil || conv != "telegram:2" || agent != holders[0] {
		t.Fatalf("after reopen: %q %q %v", conv, agent, err)
	}
}

// TestHandoffBoundToFirstConversation (issue 11 item 9): the first
// conversation that spends a hand-off token owns it; it may reopen it
// (after a cancel) until the change completed or the token expired;
// every other conversation gets ErrInvalidToken.
func TestHandoffBoundToFirstConversation(t *testing.T) {
	s, clock, _ := open(t)
	ctx := context.Background()
	h, token, err := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc1"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		name    string
		do      func()
		conv    string
		wantErr bool
	}{
		{"first Start binds", nil, "telegram:1", false},
		{"another user", nil, "telegram:2", true},
		{"the same user again", nil, "telegram:1", false},
		{"after a cancel", func() { s.Update(ctx, h.ID, func(h *support.Handoff) error { h.Outcome = "cancelled"; return nil }) }, "telegram:1", false},
		{"after completion", func() { s.Update(ctx, h.ID, func(h *support.Handoff) error { h.Outcome = "completed"; return nil }) }, "telegram:1", true},
	}
	for _, st := range steps {
		if st.do != nil {
			st.do()
		}
		got, err := s.Redeem(ctx, token, st.conv, nil)
		if st.wantErr != errors.Is(err, support.ErrInvalidToken) || (!st.wantErr && (err != nil || got.ID != h.ID || got.Conversation != "telegram:1")) {
			t.Fatalf("%s: %+v, %v", st.name, got, err)
		}
	}
	// Expiry ends the reopening too.
	h2, token2, _ := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc2"}, 0)
	if _, err := s.Redeem(ctx, token2, "telegram:3", nil); err != nil {
		t.Fatal(err)
	}
	clock.Set(h2.ExpiresAt)
	if _, err := s.Redeem(ctx, token2, "telegram:3", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("reopen at expiry: %v", err)
	}
}

// TestEscalationReassign: an explicit "take over from" moves the
// escalation only from the agent who holds it (issue 11 item 10).
func TestEscalationReassign(t *testing.T) {
	s, _, _ := open(t)
	ctx := context.Background()
	if _, err := s.ReassignEscalation(ctx, "telegram:1", "U1", "U2"); !errors.Is(err, support.ErrNotFound) {
		t.Fatalf("reassign without an escalation: %v", err)
	}
	if err := s.SetEscalation(ctx, "telegram:1", "C1", "100.1"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ from, to, want string }{
		{"U1", "U2", ""},   // nobody holds it: nothing moves
		{"", "U2", ""},     // "from nobody" is no take-over from
		{"claim", "", ""},  // (U1 claims below)
		{"U3", "U2", "U1"}, // U3 does not hold it: U1 keeps it
		{"U1", "U2", "U2"}, // the holder's escalation moves
		{"U1", "U3", "U2"}, // a stale "from U1" no longer moves it
		{"U2", "U1", "U1"}, // and back
	} {
		if c.from == "claim" {
			if h, err := s.ClaimEscalation(ctx, "telegram:1", "U1"); err != nil || h != "U1" {
				t.Fatalf("claim: %q %v", h, err)
			}
			continue
		}
		got, err := s.ReassignEscalation(ctx, "telegram:1", c.from, c.to)
		if err != nil || got != c.want {
			t.Fatalf("reassign %s->%s: %q %v, want %q", c.from, c.to, got, err, c.want)
		}
		if _, agent, _ := s.EscalationByThread(ctx, "C1", "100.1"); agent != c.want {
			t.Fatalf("after %s->%s the thread's agent is %q, want %q", c.from, c.to, agent, c.want)
		}
	}
}
