package support_test

import (
	"bytes"
	"context"
	"errors"
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
	h, token, err := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc1", Email: "ana@example.com", Flow: "totpswitch", CreatedBy: "slack:U1", Ticket: "T-42"})
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`).MatchString(token) {
		t.Fatalf("token %q is not 43 base64url characters", token)
	}
	if !h.ExpiresAt.Equal(portaltest.Start.Add(24 * time.Hour)) {
		t.Fatalf("expires %v", h.ExpiresAt)
	}
	got, err := s.Redeem(ctx, token, "telegram:42")
	if err != nil || got.ID != h.ID || got.AccountID != "acc1" || got.Conversation != "telegram:42" {
		t.Fatalf("redeem: %+v %v", got, err)
	}
	if _, err := s.Redeem(ctx, token, "telegram:43"); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("second use: %v", err)
	}
	if _, err := s.Redeem(ctx, "unknown-token", "telegram:43"); !errors.Is(err, support.ErrInvalidToken) {
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

func TestHandoffTokenExpiresAfter24h(t *testing.T) {
	s, clk, _ := open(t)
	ctx := context.Background()
	_, token, err := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc1"})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(24 * time.Hour)
	if _, err := s.Redeem(ctx, token, "telegram:1"); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("after 24 h: %v", err)
	}
}

func TestConcurrentRedeemOneWins(t *testing.T) {
	s, _, _ := open(t)
	ctx := context.Background()
	_, token, err := s.CreateHandoff(ctx, support.Handoff{AccountID: "acc1"})
	if err != nil {
		t.Fatal(err)
	}
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Redeem(ctx, token, "telegram:x"); err == nil {
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
