package support_test

import (
	"context"
	"errors"
	"regexp"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/support"
)

// twoFlowDesk is newDesk with both flows' descriptors and catalogs, the
// new-phone flow second; add makes an SMS account, addTOTP an
// authenticator-app one.
func twoFlowDesk(t *testing.T) (*support.Desk, func(string), *channelRecorder) {
	d, add, _, ch := twoFlowDeskTOTP(t)
	return d, add, ch
}

func twoFlowDeskTOTP(t *testing.T) (*support.Desk, func(string), func(string), *channelRecorder) {
	d, env, ch := newDesk(t)
	eng, err := bot.New(bot.Options{Store: env.Store, Flows: []bot.Flow{
		totpswitch.New(totpswitch.Options{Core: env.Core}), newphone.New(newphone.Options{Core: env.Core})}})
	if err != nil {
		t.Fatal(err)
	}
	d.Flows, d.Texts = eng.Flows(), eng.Catalog()
	return d, func(email string) { env.AddAccount(t, email, portal.MethodSMS) }, func(email string) { env.AddTOTPAccount(t, email) }, ch
}

// TestHandOffFlowByDescriptor: a hand-off of the second flow names it in
// its record and carries its payload prefix in the link; the default
// carries none; an unknown flow is refused without a record or a mail.
func TestHandOffFlowByDescriptor(t *testing.T) {
	d, add, addTOTP, ch := twoFlowDeskTOTP(t)
	addTOTP("nia@example.com")
	add("sms-nia@example.com")
	link, h, err := d.HandOffFlow(context.Background(), "newphone", "nia@example.com", "T-9", "slack", "U1")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`^https://t\.me/portal_bot\?start=np_[A-Za-z0-9_-]{43}$`).MatchString(link) || h.Flow != "newphone" {
		t.Fatalf("link %q flow %q", link, h.Flow)
	}
	if len(ch.threads) != 1 || !regexp.MustCompile(`\(Move the authenticator app to a new phone\)`).MatchString(ch.threads[0]) {
		t.Fatalf("threads %q", ch.threads)
	}
	link, h, err = d.HandOffFlow(context.Background(), "", "sms-nia@example.com", "", "slack", "U1")
	if err != nil || !regexp.MustCompile(`\?start=[A-Za-z0-9_-]{43}$`).MatchString(link) || h.Flow != "totpswitch" {
		t.Fatalf("default: link %q flow %q err %v", link, h.Flow, err)
	}
	if _, _, err := d.HandOffFlow(context.Background(), "nosuch", "nia@example.com", "", "slack", "U1"); !errors.Is(err, support.ErrUnknownFlow) {
		t.Fatalf("unknown flow: %v", err)
	}
	for in, want := range map[string]string{"": "totpswitch", "newphone": "newphone", "/NewPhone": "newphone", "2fa": "totpswitch", "totpswitch": "totpswitch"} {
		if got, ok := d.FlowFor(in); !ok || got != want {
			t.Errorf("FlowFor(%q) = %q, %v; want %q", in, got, ok, want)
		}
	}
	if _, ok := d.FlowFor("T-123"); ok {
		t.Error("FlowFor(T-123) picked a flow")
	}
}

// TestWatchThreadNamesStatesByDescriptor: the watch thread and the audit
// log name a new-phone session's states by its descriptor, in the
// desk's locale; the outcome of a terminal failure names the state too
// (stored untranslated, with the state's own name).
func TestWatchThreadNamesStatesByDescriptor(t *testing.T) {
	d, _, addTOTP, ch := twoFlowDeskTOTP(t)
	addTOTP("ola@example.com")
	_, h, err := d.HandOffFlow(context.Background(), "newphone", "ola@example.com", "", "slack", "U1")
	if err != nil {
		t.Fatal(err)
	}
	tags := map[string]string{"account": h.AccountID, "handoff": h.ID}
	conv := bot.Conversation{Channel: "telegram", ID: "7"}
	tr := bot.Transition{Conversation: conv, UserID: "7", Flow: "newphone", From: "awaiting_password", To: "choose_proof", Tags: tags}
	d.Observe(context.Background(), tr)
	d.Locale = "ms"
	tr.From, tr.To = "choose_proof", "awaiting_recovery_code"
	d.Observe(context.Background(), tr)
	tr.From, tr.To, tr.Done = "awaiting_recovery_code", "not_totp", true
	d.Observe(context.Background(), tr)
	posts := ch.posts[h.WatchThread]
	want := []string{"00:00:00 UTC — Choose how to prove the current factor", "00:00:00 UTC — Sahkan kod pemulihan",
		deskText(t, "ms", "support.desk.watch_finished", map[string]any{"Time": "00:00:00 UTC", "Step": "Tidak menggunakan aplikasi pengesah",
			"Outcome": deskText(t, "ms", "support.desk.outcome.failed", map[string]any{"Step": "Tidak menggunakan aplikasi pengesah"})})}
	if len(posts) != len(want) {
		t.Fatalf("posts %q", posts)
	}
	for i := range want {
		if posts[i] != want[i] {
			t.Errorf("post %d = %q, want %q", i, posts[i], want[i])
		}
	}
	if got, _ := d.Store.Handoff(context.Background(), h.ID); got.Outcome != "failed:not_totp" {
		t.Errorf("outcome %q", got.Outcome)
	}
	// The same state name of the other flow has its own descriptor entry.
	d.Locale = ""
	if a, b := d.StepName("totpswitch", "enrolling"), d.StepName("newphone", "enrolling"); a != "Creating QR code" || b != "Creating the new QR code" {
		t.Errorf("enrolling: %q and %q", a, b)
	}
	if got := d.StepName("newphone", "no_such_state"); got != "no_such_state" {
		t.Errorf("unnamed state: %q", got)
	}
}

// TestEscalationNamesFlowAndStep: an escalation of a new-phone session
// names the guided fix by its title and the step by its descriptor.
func TestEscalationNamesFlowAndStep(t *testing.T) {
	d, _, ch := twoFlowDesk(t)
	s := bot.Session{ID: "s1", Conversation: bot.Conversation{Channel: "telegram", ID: "8"}, UserID: "8", Flow: "newphone",
		State: "awaiting_recovery_code"}
	if err := d.Escalate(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	if len(ch.threads) != 1 || !regexp.MustCompile(`\nStep: Verify a recovery code\n`).MatchString(ch.threads[0]) ||
		!regexp.MustCompile(`\nGuided fix: Move the authenticator app to a new phone$`).MatchString(ch.threads[0]) {
		t.Fatalf("escalation %q", ch.threads)
	}
}
