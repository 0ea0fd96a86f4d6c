package telegram

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"

	"guidedfix/adapters/telegram/fakebotapi"
)

// TestBlockedAtQRStepRestoresSMSAtOnce: in the disable-then-enroll order,
// the customer blocks the bot (my_chat_member: member → kicked) while the
// QR code is shown. The conversation ends as blocked in that update's
// turn: SMS 2FA is active again, the pending enrollment is void, one
// "SMS restored" e-mail is sent, and no Bot API call is made for the
// blocked chat. A sweep after the QR code's expiry changes nothing more.
// After an unblock (kicked → member), /start begins a new conversation.
func TestBlockedAtQRStepRestoresSMSAtOnce(t *testing.T) {
	env := testkit.New(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll})
	fake := fakebotapi.New(fakebotapi.Options{Token: testToken, BotUsername: botName})
	t.Cleanup(fake.Close)
	h := start(t, env, fake, false)
	ctx := context.Background()
	toSMSCode(t, h)
	h.text(env.LastSMSCode(t))
	h.press("disable")
	h.press("setup")
	h.press("app")
	h.wantState(totpswitch.StateAwaitingTOTPCode)
	var d struct {
		EnrollmentID string `json:"enrollment_id"`
	}
	if err := json.Unmarshal(h.session().Data, &d); err != nil || d.EnrollmentID == "" {
		t.Fatalf("no pending enrollment in the session: %v", err)
	}
	acc, _ := env.Core.LookupAccount(ctx, "alice@example.com")
	if acc.Method != portal.MethodNone {
		t.Fatalf("method %q at the QR step, want none", acc.Method)
	}
	h.calls()

	h.deliver(fake.Blocked(h.user))
	s := h.session()
	if !s.Done || s.State != totpswitch.StateBlocked {
		t.Fatalf("session done=%v state %q, want done in %q", s.Done, s.State, totpswitch.StateBlocked)
	}
	if acc, _ = env.Core.LookupAccount(ctx, "alice@example.com"); acc.Method != portal.MethodSMS {
		t.Fatalf("method %q after the block, want sms", acc.Method)
	}
	if st, err := env.Core.EnrollmentState(ctx, d.EnrollmentID); err != nil || st != portal.EnrollmentVoid {
		t.Fatalf("enrollment %v (%v), want void", st, err)
	}
	if st := env.Core.Stats(); st.Restores != 1 || st.RestoreMailsSent != 1 {
		t.Fatalf("stats %+v, want 1 restore and 1 restore e-mail", st)
	}
	if cs := h.calls(); len(cs) != 0 {
		t.Fatalf("Bot API calls for a blocked chat: %v", cs)
	}

	// The QR code's expiry passes and the sweeper runs: nothing more.
	env.Clock.Advance(30 * time.Minute)
	if _, err := env.Engine.Sweep(ctx, 100); err != nil {
		t.Fatal(err)
	}
	if st := env.Core.Stats(); st.Restores != 1 || st.RestoreMailsSent != 1 {
		t.Fatalf("after a sweep: stats %+v, want 1 restore and 1 restore e-mail", st)
	}

	// Unblocked: nothing happens until /start, which starts afresh.
	h.deliver(fake.Unblocked(h.user))
	if cs := h.calls(); len(cs) != 0 {
		t.Fatalf("Bot API calls for an unblock: %v", cs)
	}
	old := s.ID
	h.text("/start")
	cs := h.want("sendMessage")
	wantText(t, cs[0], h.welcome())
	if s := h.session(); s.ID == old || s.Done || s.State != totpswitch.StateAwaitingEmail {
		t.Fatalf("after /start: session %s state %q done %v", s.ID, s.State, s.Done)
	}
}

// TestBlockedWithoutSessionChangesNothing: a block with no conversation
// under way makes no call and creates no session.
func TestBlockedWithoutSessionChangesNothing(t *testing.T) {
	h := newScriptHarness(t, false)
	h.deliver(h.fake.Blocked(h.user))
	if cs := h.calls(); len(cs) != 0 {
		t.Fatalf("calls %v", cs)
	}
	h.noSession(h.conv())
}
