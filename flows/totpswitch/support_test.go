package totpswitch_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// deskRecorder is a bot.Support that records escalations and relayed
// texts, and the transitions the engine observed.
type deskRecorder struct {
	mu          sync.Mutex
	escalations []bot.Session
	relayed     []string
	transitions []bot.Transition
}

func (d *deskRecorder) Escalate(ctx context.Context, s bot.Session) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.escalations = append(d.escalations, s)
	return nil
}

func (d *deskRecorder) Relay(ctx context.Context, s bot.Session, text string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.relayed = append(d.relayed, text)
	return nil
}

func (d *deskRecorder) observe(ctx context.Context, tr bot.Transition) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.transitions = append(d.transitions, tr)
}

// fixedHandoffs redeems one token once.
type fixedHandoffs struct {
	token, accountID string
	used             bool
}

func (h *fixedHandoffs) Redeem(ctx context.Context, token, conv string) (string, string, error) {
	if token != h.token || h.used {
		return "", "", errors.New("invalid")
	}
	h.used = true
	return h.accountID, "ho_1", nil
}

// Redeemable reports the one token as redeemable while unused; these
// tests press Start in another conversation to see a used link refused.
func (h *fixedHandoffs) Redeemable(ctx context.Context, token, conv string) (bool, error) {
	return token == h.token, nil
}

func TestHandoffLinkIdentifiesAccountOnce(t *testing.T) {
	ho := &fixedHandoffs{token: "tok_ABC-123"}
	env := testkit.New(t, testkit.Options{Handoffs: ho})
	pw := env.AddAccount(t, "wes@example.com", portal.MethodSMS)
	acc, _ := env.Core.LookupAccount(context.Background(), "wes@example.com")
	ho.accountID = acc.ID
	c := newChat(t, env)
	// Opening the link spends nothing; the Start press does (issue 11
	// item 9).
	wantIDs(t, c.send(bot.Event{Kind: bot.KindStart, Data: "tok_ABC-123"}), "totp.welcome", "totp.handoff_confirm")
	if ho.used {
		t.Fatal("the /start that opened the chat spent the link")
	}
	r := c.press("handoff_start")
	wantIDs(t, r, "totp.handoff_welcome", "totp.ask_password")
	r = append([]bot.Reply{{}}, r...) // keep the indexes below
	if !strings.Contains(r[1].Text, "w•••@example.com") {
		t.Fatalf("hand-off welcome %q", r[1].Text)
	}
	if tags := c.session().Tags; tags["account"] != acc.ID || tags["handoff"] != "ho_1" {
		t.Fatalf("tags %v", tags)
	}
	// The customer still proves password and SMS code.
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.sms_sent")
	// The same link again (another conversation) gets one clear answer.
	other := newChat(t, env)
	wantIDs(t, other.send(bot.Event{Kind: bot.KindStart, Data: "tok_ABC-123"}), "totp.welcome", "totp.handoff_confirm")
	wantIDs(t, other.press("handoff_start"), "totp.handoff_invalid", "totp.ask_email")
}

func TestEscalateTakeOverRelayHandBack(t *testing.T) {
	desk := &deskRecorder{}
	env := testkit.New(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll, Support: desk, Observer: desk.observe})
	pw := env.AddAccount(t, "xia@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	c.text("xia@example.com")
	r := c.text(pw)
	last := r[len(r)-1]
	if labels := buttonLabels(last); !slices.Equal(labels, []string{"Send a new code", "Cancel", "Talk to a person"}) {
		t.Fatalf("buttons %q", labels)
	}
	wantIDs(t, c.press("_human"), bot.MsgEscalated)
	if len(desk.escalations) != 1 || desk.escalations[0].State != totpswitch.StateAwaitingSMSCode || desk.escalations[0].Tags["verified"] != "password" {
		t.Fatalf("escalations %+v", desk.escalations)
	}
	// The agent takes over: the pending SMS-code prompt is set aside.
	ctx := context.Background()
	if err := env.Engine.TakeOver(ctx, c.conv, "Nadia"); err != nil {
		t.Fatal(err)
	}
	r, c.Seen = c.rec.Since(c.Seen)
	wantIDs(t, r, bot.MsgTakenOver)
	smsCode := env.LastSMSCode(t)
	wantIDs(t, c.text("my code does not arrive"))
	if err := env.Engine.AgentSay(ctx, c.conv, "Try the resend button after this."); err != nil {
		t.Fatal(err)
	}
	r, c.Seen = c.rec.Since(c.Seen)
	wantIDs(t, r, bot.MsgAgentMessage)
	if r[0].Text != "Nadia (support): Try the resend button after this." {
		t.Fatalf("agent message %q", r[0].Text)
	}
	if err := env.Engine.HandBack(ctx, c.conv); err != nil {
		t.Fatal(err)
	}
	r, c.Seen = c.rec.Since(c.Seen)
	c.All = append(c.All, r...)
	wantIDs(t, r, bot.MsgHandedBack, "totp.hint_code")
	if s := c.session(); s.State != totpswitch.StateAwaitingSMSCode || s.Expect != bot.SecretSMSCode || s.Agent != "" {
		t.Fatalf("after hand-back: %q expect %q agent %q", s.State, s.Expect, s.Agent)
	}
	// Back in the flow: the code is a secret again, never relayed.
	wantIDs(t, c.text(smsCode), "delete:engine.delete_user_secret", "totp.confirm_disable")
	if !slices.Equal(desk.relayed, []string{"my code does not arrive"}) {
		t.Fatalf("relayed %q", desk.relayed)
	}
	if err := env.Engine.AgentSay(ctx, c.conv, "hi"); !errors.Is(err, bot.ErrNotTakenOver) {
		t.Fatalf("AgentSay after hand-back: %v", err)
	}
	var to []string
	for _, tr := range desk.transitions {
		to = append(to, string(tr.To))
		if tr.Tags["account"] == "" && tr.To != totpswitch.StateAwaitingEmail {
			t.Fatalf("transition %+v without account tag", tr)
		}
	}
	want := []string{"awaiting_email", "awaiting_password", "awaiting_sms_code", "confirm_disable"}
	if !slices.Equal(to, want) {
		t.Fatalf("observed %q, want %q", to, want)
	}
}

func TestTakeOverWhileSecretPendingRelaysNoSecret(t *testing.T) {
	desk := &deskRecorder{}
	env := testkit.New(t, testkit.Options{Support: desk})
	pw := env.AddAccount(t, "yan@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	c.text("yan@example.com") // the password is expected now
	if err := env.Engine.TakeOver(context.Background(), c.conv, "Nadia"); err != nil {
		t.Fatal(err)
	}
	_, c.Seen = c.rec.Since(c.Seen)
	// Buttons of the flow are on hold while the agent is there.
	wantIDs(t, c.press("cancel"), bot.MsgWithAgent)
	if len(desk.relayed) != 0 {
		t.Fatalf("relayed %q", desk.relayed)
	}
	// The customer answers the prompt that was set aside: the password
	// (and a code) is deleted from the chat and never reaches the agent.
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", bot.MsgSecretWithheld)
	wantIDs(t, c.text("１２３ ４５６"), "delete:engine.delete_user_secret", bot.MsgSecretWithheld)
	wantIDs(t, c.text("P@ssw0rd.2024"), "delete:engine.delete_user_secret", bot.MsgSecretWithheld) // looks like an address
	wantIDs(t, c.text("I lost my phone, can you help?"))
	want := []string{bot.WithheldNote, bot.WithheldNote, bot.WithheldNote, "I lost my phone, can you help?"}
	if !slices.Equal(desk.relayed, want) {
		t.Fatalf("relayed %q, want %q", desk.relayed, want)
	}
	if s := c.session(); s.State != totpswitch.StateAwaitingPassword || s.Agent != "Nadia" {
		t.Fatalf("session %q agent %q: a withheld message changed the flow", s.State, s.Agent)
	}
	if err := env.Engine.TakeOver(context.Background(), bot.Conversation{Channel: "test", ID: "nobody"}, "Nadia"); !errors.Is(err, bot.ErrNotActive) {
		t.Fatalf("take over of nothing: %v", err)
	}
}

func buttonLabels(r bot.Reply) []string {
	var out []string
	for _, b := range r.Buttons {
		out = append(out, b.Label)
	}
	return out
}

func TestHandoffLinkClickedAgainKeepsProgress(t *testing.T) {
	ho := &fixedHandoffs{token: "tok_again"}
	env := testkit.New(t, testkit.Options{Handoffs: ho})
	pw := env.AddAccount(t, "hal2@example.com", portal.MethodSMS)
	acc, _ := env.Core.LookupAccount(context.Background(), "hal2@example.com")
	ho.accountID = acc.ID
	c := newChat(t, env)
	c.send(bot.Event{Kind: bot.KindStart, Data: "tok_again"})
	c.press("handoff_start")
	c.text(pw)
	c.text(env.LastSMSCode(t))
	c.press("disable")
	wantIDs(t, c.send(bot.Event{Kind: bot.KindStart, Data: "tok_again"}), "totp.continue", "totp.offer_setup")
	c.wantState(totpswitch.StateOfferSetup)
	if st := env.Core.Stats(); st.Restores != 0 {
		t.Fatalf("a second click restored SMS: %+v", st)
	}
}

// TestForgedButtonRefused (issue 11 item 6): a client may send any
// callback data; an action the current prompt did not offer is refused
// like a stale button and changes nothing, even with the current step's
// nonce. In a hand-off the password prompt offers no "Use another
// e-mail", which would escape the hand-off's account binding.
func TestForgedButtonRefused(t *testing.T) {
	for _, tc := range []struct {
		name, action string
		handoff      bool
	}{
		{"other_email in a hand-off", "other_email", true},
		{"disable at the password step", "disable", false},
		{"unknown action", "drop_tables", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ho := &fixedHandoffs{token: "tok_forged-1"}
			env := testkit.New(t, testkit.Options{Handoffs: ho})
			env.AddAccount(t, "fay@example.com", portal.MethodSMS)
			acc, _ := env.Core.LookupAccount(context.Background(), "fay@example.com")
			ho.accountID = acc.ID
			c := newChat(t, env)
			if tc.handoff {
				wantIDs(t, c.send(bot.Event{Kind: bot.KindStart, Data: "tok_forged-1"}), "totp.welcome", "totp.handoff_confirm")
				wantIDs(t, c.press("handoff_start"), "totp.handoff_welcome", "totp.ask_password")
			} else {
				c.start()
				c.text("fay@example.com")
			}
			before := *c.session()
			nonce := env.Engine.Nonce(&before)
			r := c.send(bot.Event{Kind: bot.KindButton, Data: tc.action + "|" + nonce})
			wantIDs(t, r, bot.MsgStaleButton)
			after := c.session()
			if after.State != before.State || after.Step != before.Step || after.Tags["account"] != acc.ID {
				t.Fatalf("state %s step %d account %q after the forged button, want %s %d %q",
					after.State, after.Step, after.Tags["account"], before.State, before.Step, acc.ID)
			}
			// The offered Cancel button still works.
			wantIDs(t, c.press("cancel"), "totp.cancelled_unchanged")
		})
	}
}
