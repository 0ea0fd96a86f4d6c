package slack_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
)

// TestEndToEnd runs the whole change, from the slash command typed in a
// public channel to TOTP active, over each transport: the QR code is read
// from the uploaded PNG and the codes are computed from it.
func TestEndToEnd(t *testing.T) {
	for _, mode := range []string{slack.ModeHTTP, slack.ModeSocket} {
		t.Run(mode, func(t *testing.T) { runEndToEnd(t, newHarness(t, setup{mode: mode})) })
	}
}

func runEndToEnd(t *testing.T, h *harness) {
	pw := h.env.AddAccount(t, "alice@example.com", portal.MethodSMS)

	// The slash command in a public channel moves to the DM and says so
	// ephemerally; nothing is posted in the channel.
	ack := h.tr.command(h.fake.Command(alice, public, "/guidedfix", ""))
	var note struct {
		ResponseType string `json:"response_type"`
		Text         string `json:"text"`
	}
	if err := json.Unmarshal(ack, &note); err != nil || note.ResponseType != "ephemeral" || note.Text != h.text("slack.moved_to_dm", nil) {
		t.Fatalf("command answer %s", ack)
	}
	dm := h.dm()
	if got := h.fake.Channels(); !slices.Equal(got, []string{dm}) {
		t.Fatalf("messages in channels %q, want only the DM %s", got, dm)
	}
	// The profile e-mail (users.info) proposes the account.
	if !slices.ContainsFunc(h.texts(dm), func(s string) bool { return strings.Contains(s, "alice@example.com") }) {
		t.Fatalf("the profile e-mail is not proposed: %q", h.texts(dm))
	}
	h.wantLast("totp.ask_password", nil)
	h.wantLabels("Enter password", h.text("totp.button.other_email", nil), h.text("totp.button.cancel", nil))

	// The password goes into a modal; the modal then asks the SMS code.
	v := h.enter()
	if f := field(t, v.PrivateMetadata); f != bot.SecretPassword {
		t.Fatalf("modal collects %q", f)
	}
	a := h.submit(v.ID, pw)
	if a.Action != "update" || a.View == nil || field(t, a.View.PrivateMetadata) != bot.SecretSMSCode {
		t.Fatalf("answer to the password: %+v", a)
	}
	h.wantLabels("Enter code", h.text("totp.button.resend", nil), h.text("totp.button.cancel", nil))
	code := h.env.LastSMSCode(t)

	// A wrong code is shown on the modal's input; nothing is posted.
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	posted := len(h.fake.Calls("chat.postMessage"))
	a = h.submit(v.ID, wrong)
	if want := h.text("totp.bad_sms_code", map[string]any{"Count": 2}); a.Action != "errors" || a.Errors["secret"] != want {
		t.Fatalf("answer to a wrong code: %+v, want errors %q", a, want)
	}
	if n := len(h.fake.Calls("chat.postMessage")); n != posted {
		t.Fatalf("%d messages posted for a wrong code", n-posted)
	}
	if a = h.submit(v.ID, code); a.Action != "" {
		t.Fatalf("answer to the right code: %+v", a)
	}
	if v, _ := h.fake.View(v.ID); !v.Closed {
		t.Fatal("the modal stays open")
	}
	h.wantLabels(h.text("totp.button.disable", nil), h.text("totp.button.cancel", nil))

	h.press("disable")
	h.press("setup")
	h.press("app")
	files := h.fake.Files()
	if len(files) != 1 || !slices.Equal(files[0].Channels, []string{dm}) || files[0].Name != "qr.png" {
		t.Fatalf("files %+v, want one QR code shared to the DM only", files)
	}
	key := h.env.KeyFromQR(t, files[0].Data)
	if key.AccountName() != "alice@example.com" {
		t.Fatalf("QR code for %q", key.AccountName())
	}

	// A wrong authenticator code is shown on the modal's input, like a
	// wrong SMS code; nothing is posted.
	v = h.enter()
	if f := field(t, v.PrivateMetadata); f != bot.SecretTOTPCode {
		t.Fatalf("modal collects %q", f)
	}
	badTOTP, goodTOTP := h.env.TOTPCode(t, key, 40), h.env.TOTPCode(t, key, 0) // 20 minutes off: no clock drift
	posted = len(h.fake.Calls("chat.postMessage"))
	a = h.submit(v.ID, badTOTP)
	if want := h.text("totp.bad_totp_code", map[string]any{"Count": 4}); a.Action != "errors" || a.Errors["secret"] != want {
		t.Fatalf("answer to a wrong TOTP code: %+v, want errors %q", a, want)
	}
	if n := len(h.fake.Calls("chat.postMessage")); n != posted {
		t.Fatalf("%d messages posted for a wrong TOTP code", n-posted)
	}
	if a = h.submit(v.ID, goodTOTP); a.Action != "" {
		t.Fatalf("answer to the right TOTP code: %+v", a)
	}
	h.wantLabels(h.text("totp.button.okay", nil))
	h.press("okay")

	if s := h.session(); s.State != totpswitch.StateDone || !s.Done {
		t.Fatalf("final state %q", s.State)
	}
	if m := method(t, h, "alice@example.com"); m != portal.MethodTOTP {
		t.Fatalf("final method %q", m)
	}
	for _, f := range h.fake.Files() {
		if !f.Deleted {
			t.Errorf("file %s was not deleted", f.ID)
		}
	}
	for _, m := range h.fake.History(dm) {
		if len(m.Files) > 0 {
			t.Errorf("message %s still shows files %q", m.TS, m.Files)
		}
	}
	h.checkNoSecrets(key.Secret(), pw, code, badTOTP, goodTOTP)
	if got := h.fake.Channels(); !slices.Equal(got, []string{dm}) {
		t.Fatalf("messages in channels %q, want only the DM", got)
	}
	if st := h.env.Core.Stats(); st.Disables != 1 || st.Activations != 1 {
		t.Fatalf("core stats %+v", st)
	}
}

func method(t *testing.T, h *harness, email string) portal.Method {
	t.Helper()
	acc, err := h.env.Core.LookupAccount(t.Context(), email)
	if err != nil {
		t.Fatal(err)
	}
	return acc.Method
}
