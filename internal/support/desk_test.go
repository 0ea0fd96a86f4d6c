package support_test

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/portal"
	"guidedfix/internal/support"
	"guidedfix/internal/testkit"
)

// channelRecorder is a Notifier recording threads and posts (the Slack
// side is tested against the fake Slack API in adapters/slack).
type channelRecorder struct {
	mu      sync.Mutex
	threads []string
	posts   map[string][]string
}

func (c *channelRecorder) OpenThread(ctx context.Context, text string) (string, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.threads = append(c.threads, text)
	return "CSUPPORT", "ts" + string(rune('0'+len(c.threads))), nil
}

func (c *channelRecorder) Post(ctx context.Context, channel, thread, text string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.posts == nil {
		c.posts = map[string][]string{}
	}
	c.posts[thread] = append(c.posts[thread], text)
	return nil
}

func (c *channelRecorder) Escalate(ctx context.Context, conv bot.Conversation, text string, record func(channel, thread string) error) error {
	ch, th, err := c.OpenThread(ctx, text)
	if err != nil {
		return err
	}
	return record(ch, th)
}

func newDesk(t *testing.T) (*support.Desk, *testkit.Env, *channelRecorder) {
	env := testkit.New(t, testkit.Options{})
	st, err := support.Open(t.TempDir()+"/support.db", env.Clock.Now)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ch := &channelRecorder{}
	return &support.Desk{Store: st, Core: env.Core, Mail: env.Mail, BotUsername: "portal_bot", Notifier: ch,
		Flows: env.Engine.Flows(), Texts: env.Engine.Catalog()}, env, ch
}

func TestHandOffMailsDeepLink(t *testing.T) {
	d, env, ch := newDesk(t)
	env.AddAccount(t, "zoe@example.com", portal.MethodSMS)
	link, h, err := d.HandOff(context.Background(), "Zoe@Example.com", "T-7", "slack", "U1")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`^https://t\.me/portal_bot\?start=([A-Za-z0-9_-]{43})$`).FindStringSubmatch(link)
	if m == nil {
		t.Fatalf("link %q", link)
	}
	mails := env.Mails(t)
	if len(mails) != 1 || mails[0].To != "zoe@example.com" || !strings.Contains(mails[0].Text, link) {
		t.Fatalf("mails %+v", mails)
	}
	if h.WatchThread == "" || len(ch.threads) != 1 || !strings.Contains(ch.threads[0], "T-7") {
		t.Fatalf("watch thread %q, threads %q", h.WatchThread, ch.threads)
	}
	acc, _ := env.Core.LookupAccount(context.Background(), "zoe@example.com")
	log, _ := d.Store.Audit(context.Background(), acc.ID, 20)
	if len(log) != 1 || log[0].Action != "handoff_created" || !log[0].Staff || log[0].UserID != "U1" {
		t.Fatalf("audit %+v", log)
	}
	// The token is bound to the first conversation that spends it.
	if _, err := d.Store.Redeem(context.Background(), m[1], "telegram:1", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Store.Redeem(context.Background(), m[1], "telegram:2", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("reuse by another conversation: %v", err)
	}
}

// TestHandOffLinkLivesTheConfiguredTTL: the desk's HandoffTTL
// (slack.handoff_ttl) bounds the link it mails, and without one the link
// lives DefaultHandoffTTL (10 min, checklist §5 #22).
func TestHandOffLinkLivesTheConfiguredTTL(t *testing.T) {
	d, env, _ := newDesk(t)
	env.AddAccount(t, "kim@example.com", portal.MethodSMS)
	_, h, err := d.HandOff(context.Background(), "kim@example.com", "", "slack", "U1")
	if err != nil || !h.ExpiresAt.Equal(env.Clock.Now().Add(10*time.Minute)) {
		t.Fatalf("default: expires %v (now %v), %v", h.ExpiresAt, env.Clock.Now(), err)
	}
	d.HandoffTTL = 3 * time.Minute
	link, h, err := d.HandOff(context.Background(), "kim@example.com", "", "slack", "U1")
	if err != nil || !h.ExpiresAt.Equal(env.Clock.Now().Add(3*time.Minute)) {
		t.Fatalf("3 min: expires %v, %v", h.ExpiresAt, err)
	}
	env.Clock.Advance(3*time.Minute + time.Second)
	token := link[strings.Index(link, "start=")+len("start="):]
	if _, err := d.Store.Redeem(context.Background(), token, "telegram:9", nil); !errors.Is(err, support.ErrInvalidToken) {
		t.Fatalf("3 min link at 3:01: %v", err)
	}
}

func TestHandOffUnknownEmailToldPlainly(t *testing.T) {
	d, env, _ := newDesk(t)
	if _, _, err := d.HandOff(context.Background(), "ghost@example.com", "", "slack", "U1"); !errors.Is(err, support.ErrNoAccount) {
		t.Fatalf("err %v", err)
	}
	if n := len(env.Mails(t)); n != 0 {
		t.Fatalf("%d mails sent for an unknown account", n)
	}
}

func TestObservePostsStepsAndOutcome(t *testing.T) {
	d, env, ch := newDesk(t)
	env.AddAccount(t, "amy@example.com", portal.MethodSMS)
	_, h, err := d.HandOff(context.Background(), "amy@example.com", "", "slack", "U1")
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{"account": h.AccountID, "handoff": h.ID}
	conv := bot.Conversation{Channel: "telegram", ID: "9"}
	at := env.Clock.Now()
	d.Observe(context.Background(), bot.Transition{Conversation: conv, UserID: "9", From: "awaiting_password", To: "awaiting_sms_code", At: at, Tags: tags})
	d.Observe(context.Background(), bot.Transition{Conversation: conv, UserID: "9", From: "activated", To: "done", Done: true, At: at, Tags: tags})
	posts := ch.posts[h.WatchThread]
	hhmmss := at.Format("15:04:05")
	want := []string{hhmmss + " UTC — Verify SMS code", hhmmss + " UTC — Completed — finished: completed"}
	if len(posts) != 2 || posts[0] != want[0] || posts[1] != want[1] {
		t.Fatalf("posts %q, want %q", posts, want)
	}
	got, _ := d.Store.Handoff(context.Background(), h.ID)
	if got.Outcome != "completed" {
		t.Fatalf("outcome %q", got.Outcome)
	}
	log, _ := d.Store.Audit(context.Background(), h.AccountID, 20)
	if len(log) != 3 || log[0].Outcome != "Completed" || log[1].Outcome != "Verify SMS code" {
		t.Fatalf("audit %+v", log)
	}
}

func TestEscalateAndRelayUseOneThread(t *testing.T) {
	d, env, ch := newDesk(t)
	env.AddAccount(t, "bo@example.com", portal.MethodSMS)
	acc, _ := env.Core.LookupAccount(context.Background(), "bo@example.com")
	s := bot.Session{Conversation: bot.Conversation{Channel: "telegram", ID: "5"}, UserID: "5", State: "awaiting_sms_code",
		Tags: map[string]string{"account": acc.ID, "last_error": "wrong SMS code"}}
	if err := d.Escalate(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if len(ch.threads) != 1 || !strings.Contains(ch.threads[0], "Account: bo@example.com (not verified yet: the person has only named this account)\n") ||
		!strings.Contains(ch.threads[0], "Verify SMS code") || !strings.Contains(ch.threads[0], "wrong SMS code") {
		t.Fatalf("escalation %q", ch.threads)
	}
	// Once the flow tagged the proof, staff see it.
	s2 := s
	s2.Conversation.ID, s2.Tags = "55", map[string]string{"account": acc.ID, "verified": "password and SMS code"}
	if err := d.Escalate(context.Background(), s2); err != nil {
		t.Fatal(err)
	}
	if len(ch.threads) != 2 || !strings.Contains(ch.threads[1], "Account: bo@example.com (verified by password and SMS code)\n") {
		t.Fatalf("escalation after verification %q", ch.threads)
	}
	if err := d.Relay(context.Background(), s, "hello?"); err != nil {
		t.Fatal(err)
	}
	if p := ch.posts["ts1"]; len(p) != 1 || p[0] != "Customer: hello?" {
		t.Fatalf("relay posts %q", ch.posts)
	}
}

func TestRelayWithholdsCodes(t *testing.T) {
	d, _, ch := newDesk(t)
	s := bot.Session{Conversation: bot.Conversation{Channel: "telegram", ID: "6"}, UserID: "6", State: "awaiting_sms_code"}
	if err := d.Escalate(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	for _, text := range []string{"my code is 123456", "it's 123 456 ok", "१२३४५६ here", "12-34-56", "call +60123456789"} {
		if err := d.Relay(context.Background(), s, text); err != nil {
			t.Fatal(err)
		}
	}
	want := []string{"Customer: my code is [number withheld]", "Customer: it's [number withheld] ok",
		"Customer: [number withheld] here", "Customer: [number withheld]", "Customer: call +[number withheld]"}
	if got := ch.posts["ts1"]; strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("relayed %q\nwant %q", got, want)
	}
	for in, want := range map[string]string{"step 5 of 6": "step 5 of 6", "12345 is short": "12345 is short", "": ""} {
		if got := support.WithholdCodes(in); got != want {
			t.Errorf("WithholdCodes(%q) = %q", in, got)
		}
	}
}

// TestObserveBlocked: a watched hand-off whose customer blocked the bot
// shows "blocked" in its thread and as its outcome.
func TestObserveBlocked(t *testing.T) {
	d, env, ch := newDesk(t)
	env.AddAccount(t, "bea@example.com", portal.MethodSMS)
	_, h, err := d.HandOff(context.Background(), "bea@example.com", "", "slack", "U1")
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{"account": h.AccountID, "handoff": h.ID}
	at := env.Clock.Now()
	d.Observe(context.Background(), bot.Transition{Conversation: bot.Conversation{Channel: "telegram", ID: "9"}, UserID: "9",
		From: "awaiting_totp_code", To: "blocked", Done: true, At: at, Tags: tags})
	want := at.Format("15:04:05") + " UTC — Blocked by the customer — finished: blocked"
	if posts := ch.posts[h.WatchThread]; len(posts) != 1 || posts[0] != want {
		t.Fatalf("posts %q, want %q", posts, want)
	}
	if got, _ := d.Store.Handoff(context.Background(), h.ID); got.Outcome != "blocked" {
		t.Fatalf("outcome %q, want blocked", got.Outcome)
	}
}
