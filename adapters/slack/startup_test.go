package slack_test

import (
	"context"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/internal/testkit"
)

// TestStartupRetriesUntilSlackAnswers: auth.test that fails with 5xx at
// startup is tried again after a pause; an answer from Slack that refuses
// the token stops Run at once.
func TestStartupRetriesUntilSlackAnswers(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	fake := fakeslack.New(fakeslack.Options{BotToken: botToken, AppToken: appToken})
	t.Cleanup(fake.Close)
	fake.Fail("auth.test", fakeslack.Failure{Status: 503, Error: "service_unavailable"})
	fake.Fail("auth.test", fakeslack.Failure{Status: 500, Error: "internal_error"})
	a, err := slack.New(slack.Options{BotToken: botToken, AppToken: appToken, SigningSecret: signing, APIURL: fake.APIURL,
		Mode: slack.ModeHTTP, Listen: "127.0.0.1:0", Engine: env.Engine, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var slept []time.Duration
	slack.SetSleep(a, func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		defer mu.Unlock()
		slept = append(slept, d)
		return ctx.Err()
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for len(fake.Calls("auth.test")) < 3 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	got := slices.Clone(slept)
	mu.Unlock()
	if n := len(fake.Calls("auth.test")); n != 3 || !slices.Equal(got, []time.Duration{time.Second, 2 * time.Second}) {
		t.Fatalf("%d auth.test calls, slept %v; want 3 calls after pauses of 1s and 2s", n, got)
	}

	fake.Fail("auth.test", fakeslack.SlackError("invalid_auth"))
	b, err := slack.New(slack.Options{BotToken: botToken, AppToken: appToken, SigningSecret: signing, APIURL: fake.APIURL,
		Mode: slack.ModeHTTP, Listen: "127.0.0.1:0", Engine: env.Engine, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx2, cancel2 := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel2()
	if err := b.Run(ctx2); err == nil || !strings.Contains(err.Error(), "invalid_auth") {
		t.Fatalf("Run with a refused token: %v, want invalid_auth", err)
	}
}
