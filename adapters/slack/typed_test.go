package slack_test

import (
	"encoding/json"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// TestDMTypedSecretNotUsed: a password or code typed as a DM message
// (which the bot cannot delete) is never used: the state, the step and
// the core's failure counter stay as they were, nothing is deleted, and
// the answer (engine.typed_password / engine.typed_secret) offers the
// form button of the open prompt again. The modal still works afterwards.
func TestDMTypedSecretNotUsed(t *testing.T) {
	h := newHarness(t, setup{mode: slack.ModeHTTP, env: testkit.Options{Order: totpswitch.OrderDisableThenEnroll}})
	const bob = "U2BOB"
	pw := h.env.AddAccount(t, "bob@example.com", portal.MethodSMS)
	h.fake.AddUser(fakeslack.User{ID: bob}) // no profile e-mail
	dm := h.fake.IM(bob)
	c := bot.Conversation{Channel: slack.Channel, ID: dm}
	send := func(text string) {
		t.Helper()
		body, _ := h.fake.MessageEvent(bob, dm, text)
		h.tr.event(body)
	}
	send("2fa")
	send("<mailto:bob@example.com|bob@example.com>")
	account, err := h.env.Core.LookupAccount(t.Context(), "bob@example.com")
	if err != nil {
		t.Fatal(err)
	}

	// typed sends text as a DM message at the open prompt and checks that
	// nothing changed and the answer is id with the form for field.
	typed := func(text, id string, field bot.SecretField) {
		t.Helper()
		before, err := h.env.Engine.Session(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		send(text)
		after, err := h.env.Engine.Session(t.Context(), c)
		if err != nil {
			t.Fatal(err)
		}
		if after.State != before.State || after.Step != before.Step || after.Expect != field || after.Version != before.Version {
			t.Fatalf("session after a typed secret: state %q step %d expect %q version %d, want %q %d %q %d",
				after.State, after.Step, after.Expect, after.Version, before.State, before.Step, field, before.Version)
		}
		r, err := h.env.Core.Restrictions(t.Context(), account.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.Failures != 0 || !r.LockedUntil.IsZero() {
			t.Fatalf("core restrictions after a typed secret: %+v", r)
		}
		if n := len(h.fake.Calls("chat.delete")); n != 0 {
			t.Fatalf("%d chat.delete calls", n)
		}
		ms := h.fake.History(dm)
		last := ms[len(ms)-1]
		if want := h.text(id, nil); last.Text != want {
			t.Fatalf("answer %q, want %s", last.Text, id)
		}
		var forms []fakeslack.Button
		for _, b := range h.fake.Buttons(dm) {
			if b.MessageTS == last.TS && b.ActionID == "guidedfix_secret" {
				forms = append(forms, b)
			}
		}
		if len(forms) != 1 {
			t.Fatalf("answer has %d form buttons, want 1", len(forms))
		}
		var ref struct {
			F bot.SecretField `json:"f"`
			N string          `json:"n"`
		}
		if err := json.Unmarshal([]byte(forms[0].Value), &ref); err != nil || ref.F != field || ref.N != h.env.Engine.Nonce(after) {
			t.Fatalf("form button value %q, want field %q nonce %q", forms[0].Value, field, h.env.Engine.Nonce(after))
		}
	}

	typed("not-the-password", bot.MsgTypedPassword, bot.SecretPassword)
	typed(pw, bot.MsgTypedPassword, bot.SecretPassword)
	if s, _ := h.env.Engine.Session(t.Context(), c); s.State != totpswitch.StateAwaitingPassword {
		t.Fatalf("state %q", s.State)
	}

	// The form offered again works.
	b := h.fake.Buttons(dm)[0] // the newest message's first button: the answer's form
	h.tr.interact(h.fake.Click(bob, b))
	v, ok := h.fake.LastView()
	if !ok || v.Closed {
		t.Fatal("no modal opened")
	}
	if a := h.submit(v.ID, pw); a.Action != "update" || field(t, a.View.PrivateMetadata) != bot.SecretSMSCode {
		t.Fatalf("answer to the password in the modal: %+v", a)
	}
	code := h.env.LastSMSCode(t)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	typed(wrong, bot.MsgTypedSecret, bot.SecretSMSCode)
	typed(code, bot.MsgTypedSecret, bot.SecretSMSCode)
	typed("maybe-my-password", bot.MsgTypedPassword, bot.SecretSMSCode)
	if s, _ := h.env.Engine.Session(t.Context(), c); s.State != totpswitch.StateAwaitingSMSCode {
		t.Fatalf("state %q", s.State)
	}
	// The code typed in the DM was not used, so it still works in the modal.
	if a := h.submit(v.ID, code); a.Action != "" {
		t.Fatalf("answer to the code in the modal: %+v", a)
	}
	if s, _ := h.env.Engine.Session(t.Context(), c); s.State == totpswitch.StateAwaitingSMSCode {
		t.Fatalf("state %q after the right code", s.State)
	}
	h.env.AddSecret(pw, code, "not-the-password", "maybe-my-password")
}
