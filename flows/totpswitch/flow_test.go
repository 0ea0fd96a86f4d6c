package totpswitch_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// chat is the flow tests' handle on testkit.Chat (the one chat test
// driver), with the names these tests use.
type chat struct {
	*testkit.Chat
	t    *testing.T
	env  *testkit.Env
	rec  *testkit.Recorder // Chat.Rec
	conv bot.Conversation  // Chat.Conv
}

// newChat starts a conversation on its own channel (so that each chat has
// its own recorder); the first is "test", the next "test2", ...
func newChat(t *testing.T, env *testkit.Env) *chat {
	chats[env]++
	channel := "test"
	if n := chats[env]; n > 1 {
		channel += strconv.Itoa(n)
	}
	return wrap(t, env, env.NewChat(t, channel))
}

func wrap(t *testing.T, env *testkit.Env, c *testkit.Chat) *chat {
	return &chat{Chat: c, t: t, env: env, rec: c.Rec, conv: c.Conv}
}

var chats = map[*testkit.Env]int{}

func (c *chat) send(ev bot.Event) []bot.Reply {
	c.t.Helper()
	return c.Send(ev)
}

func (c *chat) start() []bot.Reply        { return c.Start() }
func (c *chat) text(s string) []bot.Reply { return c.Text(s) }
func (c *chat) cmd(name string) []bot.Reply {
	return c.Cmd(name)
}

// press presses the newest button whose action is action.
func (c *chat) press(action string) []bot.Reply {
	c.t.Helper()
	return c.Press(action)
}

func (c *chat) button(action string) string { return c.Button(action) }

func (c *chat) session() *bot.Session {
	c.t.Helper()
	return c.Session()
}

func (c *chat) wantState(s bot.State) {
	c.t.Helper()
	if got := c.session().State; got != s {
		c.t.Fatalf("state %q, want %q", got, s)
	}
}

func ids(rs []bot.Reply) []string { return testkit.IDs(rs) }

func wantIDs(t *testing.T, got []bot.Reply, want ...string) {
	t.Helper()
	testkit.WantIDs(t, got, want...)
}

func method(t *testing.T, env *testkit.Env, email string) portal.Method {
	t.Helper()
	a, err := env.Core.LookupAccount(context.Background(), email)
	if err != nil {
		t.Fatal(err)
	}
	return a.Method
}

// atConfirmDisable makes an SMS account email on a new env with opts and
// runs the identity step in a new chat; it returns the env, the chat and
// the account's password.
func atConfirmDisable(t *testing.T, opts testkit.Options, email string) (*testkit.Env, *chat, string) {
	t.Helper()
	env := testkit.New(t, opts)
	pw := env.AddAccount(t, email, portal.MethodSMS)
	c := newChat(t, env)
	toConfirmDisable(t, c, email, pw)
	return env, c, pw
}

// toConfirmDisable runs the identity step for an SMS account; step 2's
// text depends on the order (enroll-then-switch says SMS stays on).
func toConfirmDisable(t *testing.T, c *chat, email, pw string) {
	t.Helper()
	wantIDs(t, c.start(), "totp.welcome", "totp.ask_email")
	wantIDs(t, c.text(email), "totp.ask_password")
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.sms_sent")
	step2 := "totp.confirm_disable"
	if c.env.Options().Order == totpswitch.OrderEnrollThenSwitch {
		step2 = "totp.confirm_swap"
	}
	wantIDs(t, c.text(c.env.LastSMSCode(t)), "delete:engine.delete_user_secret", step2)
}

func TestHappyPath(t *testing.T) {
	env := testkit.New(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll})
	pw := env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	c := newChat(t, env)
	toConfirmDisable(t, c, "Alice@Example.com", pw)
	wantIDs(t, c.press("disable"), "totp.disabled", "totp.offer_setup")
	if m := method(t, env, "alice@example.com"); m != portal.MethodNone {
		t.Fatalf("after Disable 2FA the method is %q", m)
	}
	wantIDs(t, c.press("setup"), "totp.choose_method")
	r := c.press("app")
	wantIDs(t, r, "totp.qr_caption", "totp.manual_key", "totp.ask_totp")
	if !r[0].Protected || !r[0].Sensitive || r[0].Ref != "qr" || !r[1].Protected || r[1].Ref != "key" {
		t.Fatalf("QR/key replies not protected: %+v %+v", r[0].LogValue(), r[1].LogValue())
	}
	if r[2].Secret != bot.SecretTOTPCode {
		t.Fatalf("code prompt is not a secret prompt")
	}
	key := env.KeyFromQR(t, r[0].Image)
	if key.Issuer() != "IP ServerOne" || key.AccountName() != "alice@example.com" || key.Period() != 30 || key.Digits() != 6 {
		t.Fatalf("otpauth key %s/%s period %d digits %d", key.Issuer(), key.AccountName(), key.Period(), key.Digits())
	}
	if !strings.Contains(r[1].Text, key.Secret()[:4]) {
		t.Fatalf("manual key message lacks the secret")
	}
	wantIDs(t, c.text(env.TOTPCode(t, key, 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated")
	wantIDs(t, c.press("okay"), "totp.done")
	s := c.session()
	if _, qr := s.Messages["qr"]; s.State != totpswitch.StateDone || !s.Done || qr || s.Messages["key"] != "" {
		t.Fatalf("final session: state %q done %v messages %v", s.State, s.Done, s.Messages)
	}
	if m := method(t, env, "alice@example.com"); m != portal.MethodTOTP {
		t.Fatalf("final method %q", m)
	}
	st := env.Core.Stats()
	if st.Disables != 1 || st.Activations != 1 || st.AlertsSent != 1 || st.ConfirmationsSent != 1 || st.SMSSent != 1 {
		t.Fatalf("stats %+v", st)
	}
	mails := env.Mails(t)
	if len(mails) != 2 {
		t.Fatalf("%d e-mails, want 2", len(mails))
	}
	var subjects []string
	for _, m := range mails {
		if m.To != "alice@example.com" {
			t.Fatalf("mail to %q", m.To)
		}
		subjects = append(subjects, m.Subject)
	}
	if !slices.ContainsFunc(subjects, func(s string) bool { return strings.Contains(strings.ToLower(s), "disabled") }) ||
		!slices.ContainsFunc(subjects, func(s string) bool {
			return strings.Contains(s, "TOTP") || strings.Contains(strings.ToLower(s), "authenticator")
		}) {
		t.Fatalf("subjects %q", subjects)
	}
	// The button of a finished flow is stale.
	wantIDs(t, c.send(bot.Event{Kind: bot.KindButton, Data: c.button("disable")}), "engine.stale_button")
}

func TestNotActiveOffersSetupDirectly(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "bob@example.com", portal.MethodNone)
	c := newChat(t, env)
	c.start()
	c.text("bob@example.com")
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.not_active", "totp.offer_setup")
	c.press("setup")
	r := c.press("app")
	wantIDs(t, r, "totp.qr_caption", "totp.manual_key", "totp.ask_totp")
	key := env.KeyFromQR(t, r[0].Image)
	wantIDs(t, c.text(env.TOTPCode(t, key, 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated")
	if st := env.Core.Stats(); st.SMSSent != 0 || st.Disables != 0 || st.Activations != 1 {
		t.Fatalf("stats %+v", st)
	}
}

func TestAlreadyTOTPChangesNothing(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "carol@example.com", portal.MethodNone)
	c := newChat(t, env)
	c.start()
	c.text("carol@example.com")
	c.text(pw)
	c.press("setup")
	key := env.KeyFromQR(t, c.press("app")[0].Image)
	c.text(env.TOTPCode(t, key, 0))
	c.press("okay")
	before := env.Core.Stats()
	c.start()
	c.text("carol@example.com")
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.already_totp")
	if !c.session().Done || c.session().State != totpswitch.StateAlreadyTOTP {
		t.Fatalf("state %q", c.session().State)
	}
	if after := env.Core.Stats(); after != before {
		t.Fatalf("stats changed: %+v → %+v", before, after)
	}
}

func TestUnknownEmailAnswersLikeWrongPassword(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "dave@example.com", portal.MethodSMS)
	unknown := newChat(t, env)
	unknown.start()
	wantIDs(t, unknown.text("nobody@example.com"), "totp.ask_password")
	u := unknown.text("whatever-password")
	known := newChat(t, env)
	known.start()
	known.text("dave@example.com")
	k := known.text(pw + "x")
	wantIDs(t, u, "delete:engine.delete_user_secret", "totp.bad_password")
	wantIDs(t, k, "delete:engine.delete_user_secret", "totp.bad_password")
	if u[1].Text != k[1].Text {
		t.Fatalf("unknown e-mail answered %q, wrong password %q", u[1].Text, k[1].Text)
	}
	if !strings.Contains(u[1].Text, "4 tries left") {
		t.Fatalf("no tries left count: %q", u[1].Text)
	}
}

func TestTooManyPasswordsThenLocked(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "erin@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	c.text("erin@example.com")
	for i := 0; i < 4; i++ {
		wantIDs(t, c.text("wrong-pw-"+strconv.Itoa(i)), "delete:engine.delete_user_secret", "totp.bad_password")
	}
	// The fifth wrong password locks the account in the core.
	wantIDs(t, c.text("wrong-pw-5"), "delete:engine.delete_user_secret", "totp.locked")
	c.wantState(totpswitch.StateLocked)
	// A new conversation of the same user does not reset the source's
	// counter: the right password is refused with the time to retry.
	again := c.sameUser("101")
	again.start()
	again.text("erin@example.com")
	r := again.text(pw)
	wantIDs(t, r, "delete:engine.delete_user_secret", "totp.locked")
	if !strings.Contains(r[1].Text, "10:15 UTC") {
		t.Fatalf("locked message lacks the retry time: %q", r[1].Text)
	}
	if env.Core.Stats().SMSSent != 0 {
		t.Fatal("an SMS was sent to a throttled source")
	}
	// Another user (another source) is not locked out by them (issue 11
	// item 3): the owner's right password works.
	other := newChat(t, env)
	other.start()
	other.text("erin@example.com")
	wantIDs(t, other.text(pw), "delete:engine.delete_user_secret", "totp.sms_sent")
}

// sameUser returns a new conversation (id) of the same user on the same
// channel, sharing c's recorder.
func (c *chat) sameUser(id string) *chat {
	_, n := c.rec.Since(0)
	k := *c.Chat
	k.Conv, k.Seen, k.Upd, k.Last, k.All = bot.Conversation{Channel: c.conv.Channel, ID: id}, n, c.Upd+1000, nil, nil
	return wrap(c.t, c.env, &k)
}

func TestUnknownEmailStopsAfterMaxTries(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	c := newChat(t, env)
	c.start()
	c.text("ghost@example.com")
	for i := 0; i < 4; i++ {
		wantIDs(t, c.text("guess-pw-"+strconv.Itoa(i)), "delete:engine.delete_user_secret", "totp.bad_password")
	}
	// The fifth answer gets the same lock message as a real account.
	r := c.text("guess-pw-5")
	wantIDs(t, r, "delete:engine.delete_user_secret", "totp.locked")
	if !strings.Contains(r[1].Text, "in about 15 minutes") {
		t.Fatalf("lock message %q", r[1].Text)
	}
	c.wantState(totpswitch.StateLocked)
}

// TestUnknownEmailLockedAcrossConversations: an unknown e-mail's lock, like
// a real account's, holds in a new conversation, with the same answer and
// retry time, so the lock does not tell real addresses apart.
func TestUnknownEmailLockedAcrossConversations(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	env.AddAccount(t, "real@example.com", portal.MethodSMS)
	answers := map[string][]string{}
	for _, email := range []string{"real@example.com", "ghost2@example.com"} {
		first := newChat(t, env)
		first.start()
		first.text(email)
		for i := 0; i < 5; i++ {
			first.text("guess-pw-" + strconv.Itoa(i))
		}
		first.wantState(totpswitch.StateLocked)
		again := first.sameUser("101")
		again.start()
		again.text(email)
		r := again.text("guess-again")
		wantIDs(t, r, "delete:engine.delete_user_secret", "totp.locked")
		again.wantState(totpswitch.StateLocked)
		answers[email] = append(answers[email], r[1].Text)
	}
	if answers["real@example.com"][0] != answers["ghost2@example.com"][0] {
		t.Fatalf("lock answers differ: real %q, unknown %q", answers["real@example.com"][0], answers["ghost2@example.com"][0])
	}
	// The conversations keep only an opaque id of the unknown address
	// (which may be a password typed into the wrong prompt).
	for _, f := range []string{"sessions.db", "portal.db"} {
		raw, err := os.ReadFile(filepath.Join(env.Dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(raw, []byte("ghost2@example.com")) {
			t.Fatalf("%s holds the unknown address in clear", f)
		}
	}
}

func TestBlankOrHugePasswordCostsNoTry(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "ben@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	c.text("ben@example.com")
	wantIDs(t, c.text("   "), "delete:engine.delete_user_secret", "totp.hint_password")
	wantIDs(t, c.text(strings.Repeat("x", 5000)), "delete:engine.delete_user_secret", "totp.hint_password")
	wantIDs(t, c.text("3"), "delete:engine.delete_user_secret", "totp.hint_password") // a button number out of range
	r := c.text("wrong-password")
	if !strings.Contains(r[1].Text, "4 tries left") {
		t.Fatalf("after three non-passwords and one wrong one: %q", r[1].Text)
	}
	// A mistyped e-mail can be corrected from the password prompt.
	wantIDs(t, c.press("other_email"), "totp.ask_email")
	c.text("ben@example.com")
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.sms_sent")
}

func TestCancelAfterActivationSaysDone(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "cy@example.com", portal.MethodNone)
	c := newChat(t, env)
	c.start()
	c.text("cy@example.com")
	c.text(pw)
	c.press("setup")
	key := env.KeyFromQR(t, c.press("app")[0].Image)
	c.text(env.TOTPCode(t, key, 0))
	wantIDs(t, c.cmd("cancel"), "totp.done")
	c.wantState(totpswitch.StateDone)
	if g := string(c.session().Data); strings.Contains(g, `"grant"`) {
		t.Fatalf("a finished session keeps its grant: %s", g)
	}
}

func TestWrongSMSCodesAndFormat(t *testing.T) {
	env := testkit.New(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll})
	pw := env.AddAccount(t, "fay@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	c.text("fay@example.com")
	c.text(pw)
	code := env.LastSMSCode(t)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	wantIDs(t, c.text("12345"), "delete:engine.delete_user_secret", "totp.code_format")
	r := c.text(wrong)
	wantIDs(t, r, "delete:engine.delete_user_secret", "totp.bad_sms_code")
	if !strings.Contains(r[1].Text, "2 tries left") {
		t.Fatalf("%q", r[1].Text)
	}
	// Full-width digits with a space are the same code.
	wantIDs(t, c.text(toFullWidth(code[:3])+" "+code[3:]), "delete:engine.delete_user_secret", "totp.confirm_disable")
}

func toFullWidth(s string) string {
	var b strings.Builder
	for _, r := range s {
		b.WriteRune(r - '0' + '０')
	}
	return b.String()
}

func TestReauthWhenGrantExpired(t *testing.T) {
	env, c, pw := atConfirmDisable(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll}, "gus@example.com")
	c.press("disable")
	c.press("setup")
	env.Clock.Advance(11 * time.Minute) // the elevated grant lasts 10 minutes
	wantIDs(t, c.press("app"), "totp.reauth")
	c.wantState(totpswitch.StateAwaitingReauth)
	r := c.text(pw)
	wantIDs(t, r, "delete:engine.delete_user_secret", "totp.qr_caption", "totp.manual_key", "totp.ask_totp")
	key := env.KeyFromQR(t, r[1].Image)
	wantIDs(t, c.text(env.TOTPCode(t, key, 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated")
}

func TestGrantStillFreshSkipsReauth(t *testing.T) {
	env, c, _ := atConfirmDisable(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll}, "hal@example.com")
	c.press("disable")
	c.press("setup")
	env.Clock.Advance(9 * time.Minute)
	wantIDs(t, c.press("app"), "totp.qr_caption", "totp.manual_key", "totp.ask_totp")
}

// TestWrongTOTPCodesThenLocked: the 5th wrong code voids the QR code and
// throttles the source (codes count per account and source, issue 11
// item 4), so no new QR code is offered, which could not be used before
// the throttle ends (issue 14 F3): the QR code is deleted and the flow
// ends locked, saying until when; the account is unchanged.
func TestWrongTOTPCodesThenLocked(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "ivy@example.com", portal.MethodNone)
	c := newChat(t, env)
	c.start()
	c.text("ivy@example.com")
	c.text(pw)
	c.press("setup")
	first := env.KeyFromQR(t, c.press("app")[0].Image)
	wrong := wrongCode(env.TOTPCode(t, first, 0))
	for left := 4; left >= 1; left-- {
		r := c.text(wrong)
		wantIDs(t, r, "delete:engine.delete_user_secret", "totp.bad_totp_code")
		if !strings.Contains(r[1].Text, strconv.Itoa(left)+" tr") {
			t.Fatalf("attempts: %q", r[1].Text)
		}
		if labels := buttonLabels(r[1]); !slices.Equal(labels, []string{"Verify", "Show the QR code again", "Cancel", "Talk to a person"}) && !slices.Equal(labels, []string{"Verify", "Show the QR code again", "Cancel"}) {
			t.Fatalf("buttons after a wrong code %q, want Verify, Show the QR code again and Cancel", labels)
		}
	}
	until := env.Clock.Now().Add(15 * time.Minute).UTC().Format("15:04 UTC")
	r := c.text(wrong)
	wantIDs(t, r, "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.locked")
	if !strings.Contains(r[3].Text, until) {
		t.Fatalf("locked reply %q, want the throttle's end %s", r[3].Text, until)
	}
	c.wantState(totpswitch.StateLocked)
	if a, _ := env.Core.LookupAccount(context.Background(), "ivy@example.com"); a.Method != portal.MethodNone {
		t.Fatalf("method %s after the lock, want none (unchanged)", a.Method)
	}
	if st := env.Core.Stats(); st.Activations != 0 {
		t.Fatalf("stats %+v, want no activation", st)
	}
}

func wrongCode(code string) string {
	d := (int(code[5]-'0') + 5) % 10
	return code[:5] + strconv.Itoa(d)
}

func TestStaleAndDoubleTapDisable(t *testing.T) {
	env, c, _ := atConfirmDisable(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll}, "jon@example.com")
	data := c.button("disable")
	wantIDs(t, c.send(bot.Event{Kind: bot.KindButton, Data: data}), "totp.disabled", "totp.offer_setup")
	wantIDs(t, c.send(bot.Event{Kind: bot.KindButton, Data: data}), "engine.stale_button")
	if st := env.Core.Stats(); st.Disables != 1 || st.AlertsSent != 1 {
		t.Fatalf("stats %+v", st)
	}
	c.wantState(totpswitch.StateOfferSetup)
}

func TestCancelAfterDisableRestoresSMS(t *testing.T) {
	env, c, _ := atConfirmDisable(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll}, "kim@example.com")
	c.press("disable")
	c.press("setup")
	c.press("app")
	wantIDs(t, c.cmd("cancel"), "delete:qr", "delete:key", "totp.restored", "totp.cancelled")
	c.wantState(totpswitch.StateCancelled)
	if !c.session().Done {
		t.Fatal("session not done")
	}
	if m := method(t, env, "kim@example.com"); m != portal.MethodSMS {
		t.Fatalf("method after cancel %q, want sms", m)
	}
	if st := env.Core.Stats(); st.Restores != 1 || st.RestoreMailsSent != 1 {
		t.Fatalf("stats %+v", st)
	}
	if tag := c.session().Tags["restored"]; tag != "sms" {
		t.Fatalf("restored tag %q: support would not hear of it", tag)
	}
}

func TestIdleExpiryDeletesQR(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "lee@example.com", portal.MethodNone)
	c := newChat(t, env)
	c.start()
	c.text("lee@example.com")
	c.text(pw)
	c.press("setup")
	c.press("app")
	enrollment := c.session().Data
	env.Clock.Advance(15*time.Minute + time.Second)
	n, err := env.Engine.Sweep(context.Background(), 10)
	if err != nil || n != 1 {
		t.Fatalf("sweep: %d %v", n, err)
	}
	r, _ := c.rec.Since(c.Seen)
	wantIDs(t, r, "delete:qr", "delete:key", "totp.expired")
	c.wantState(totpswitch.StateExpired)
	if !regexp.MustCompile(`"enrollment_id":"[^"]+"`).Match(enrollment) {
		t.Fatalf("no enrollment id in %s", enrollment)
	}
}

func TestUnsupportedAndHelpChangeNothing(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "mo@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	c.text("mo@example.com")
	c.text(pw)
	before := c.session()
	wantIDs(t, c.send(bot.Event{Kind: bot.KindUnsupported}), "totp.type_text")
	wantIDs(t, c.cmd("help"), "totp.help")
	after := c.session()
	if after.State != before.State || after.Step != before.Step || after.Expect != bot.SecretSMSCode {
		t.Fatalf("state changed: %q/%d → %q/%d expect %q", before.State, before.Step, after.State, after.Step, after.Expect)
	}
	if !strings.Contains(c.Last[0].Text, "step 1 of 5") {
		t.Fatalf("help: %q", c.Last[0].Text)
	}
	if labels := buttonLabels(c.Last[0]); !slices.Equal(labels, []string{"Send a new code", "Cancel"}) {
		t.Fatalf("help buttons %q", labels)
	}
}

// TestHelpOffersTheStepsButtons: /help answers with the step's buttons,
// and after the app is verified it does not offer to cancel.
func TestHelpOffersTheStepsButtons(t *testing.T) {
	env, c, _ := atConfirmDisable(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll}, "hel@example.com")
	r := c.cmd("help")
	wantIDs(t, r, "totp.help")
	if labels := buttonLabels(r[0]); !slices.Equal(labels, []string{"Disable 2FA", "Cancel"}) {
		t.Fatalf("help buttons at step 2 %q", labels)
	}
	wantIDs(t, c.press("disable"), "totp.disabled", "totp.offer_setup")
	r = c.cmd("help")
	wantIDs(t, r, "totp.help_sms_off") // /cancel now turns SMS back on
	if !strings.Contains(r[0].Text, "SMS codes are then turned back on") {
		t.Fatalf("help with SMS off %q", r[0].Text)
	}
	c.press("setup")
	key := env.KeyFromQR(t, c.press("app")[0].Image)
	c.text(env.TOTPCode(t, key, 0))
	r = c.cmd("help")
	wantIDs(t, r, "totp.help_activated")
	if labels := buttonLabels(r[0]); !slices.Equal(labels, []string{"Okay"}) || strings.Contains(r[0].Text, "/cancel") {
		t.Fatalf("help after activation %q buttons %q", r[0].Text, labels)
	}
	wantIDs(t, c.press("okay"), "totp.done")
}

func TestRestartInvalidatesOldQR(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "ned@example.com", portal.MethodNone)
	c := newChat(t, env)
	c.start()
	c.text("ned@example.com")
	c.text(pw)
	c.press("setup")
	old := env.KeyFromQR(t, c.press("app")[0].Image)
	oldVerify := c.button("verify")
	wantIDs(t, c.start(), "engine.start_again")
	wantIDs(t, c.press("_start_over"), "delete:qr", "delete:key", "totp.restarting_qr", "totp.welcome", "totp.ask_email")
	wantIDs(t, c.send(bot.Event{Kind: bot.KindButton, Data: oldVerify}), "engine.stale_button")
	c.text("ned@example.com")
	c.text(pw)
	c.press("setup")
	r := c.press("app")
	key := env.KeyFromQR(t, r[0].Image)
	if key.Secret() == old.Secret() {
		t.Fatal("restart kept the old secret")
	}
	wantIDs(t, c.text(env.TOTPCode(t, old, 0)), "delete:engine.delete_user_secret", "totp.bad_totp_code")
}

// TestStableValues pins stored state names: changing one breaks sessions
// already on disk.
func TestStableValues(t *testing.T) {
	got := map[bot.State]string{
		totpswitch.StateAwaitingEmail: "awaiting_email", totpswitch.StateAwaitingPassword: "awaiting_password",
		totpswitch.StateSendingSMS: "sending_sms", totpswitch.StateAwaitingSMSCode: "awaiting_sms_code",
		totpswitch.StateConfirmDisable: "confirm_disable", totpswitch.StateDisabling: "disabling",
		totpswitch.StateOfferSetup: "offer_setup", totpswitch.StateChooseMethod: "choose_method",
		totpswitch.StateAwaitingReauth: "awaiting_reauth", totpswitch.StateEnrolling: "enrolling",
		totpswitch.StateAwaitingTOTPCode: "awaiting_totp_code", totpswitch.StateVerifying: "verifying",
		totpswitch.StateActivated: "activated", totpswitch.StateDone: "done", totpswitch.StateCancelled: "cancelled",
		totpswitch.StateExpired: "expired", totpswitch.StateBlocked: "blocked", totpswitch.StateAlreadyTOTP: "already_totp", totpswitch.StateLocked: "locked",
		totpswitch.StateFailed: "failed", totpswitch.StateRestoring: "restoring",
		totpswitch.StateRecoveryCodes: "showing_recovery_codes",
	}
	for s, want := range got {
		if string(s) != want {
			t.Errorf("state %q, want %q", s, want)
		}
	}
	if len(got) != len(totpswitch.Transitions()) {
		t.Errorf("%d pinned states, table has %d", len(got), len(totpswitch.Transitions()))
	}
}

func TestUnknownCommandDoesNotRestart(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "val@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	c.text("val@example.com")
	c.text(pw)
	before := c.session()
	wantIDs(t, c.cmd("frobnicate"), "totp.help")
	after := c.session()
	if after.ID != before.ID || after.State != totpswitch.StateAwaitingSMSCode || after.Step != before.Step {
		t.Fatalf("unknown command changed the session: %s/%q/%d → %s/%q/%d", before.ID, before.State, before.Step, after.ID, after.State, after.Step)
	}
	// /2fa is a start command: after "Start over" it restarts.
	// No QR code was shown yet, so there is none to invalidate.
	wantIDs(t, c.cmd("2fa"), "engine.start_again")
	wantIDs(t, c.press("_start_over"), "totp.welcome", "totp.ask_email")
}

// TestSMSLimitIsNotCalledALock: after 5 codes sent within 15 minutes the
// customer is told that no more codes can be sent yet, not that the
// account is locked after failed attempts.
func TestSMSLimitIsNotCalledALock(t *testing.T) {
	env := testkit.New(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll})
	pw := env.AddAccount(t, "sam@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	c.text("sam@example.com")
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.sms_sent")
	for i := 0; i < 4; i++ {
		env.Clock.Advance(50 * time.Second)
		wantIDs(t, c.press("resend"), "totp.sms_sent")
	}
	env.Clock.Advance(50 * time.Second)
	r := c.press("resend")
	wantIDs(t, r, "totp.sms_limit_keep")
	if !strings.Contains(r[0].Text, "Too many sign-in codes") || strings.Contains(r[0].Text, "failed attempts") {
		t.Fatalf("reply %q", r[0].Text)
	}
	// The buttons stay where the code prompt had them: a sixth press of
	// "Send a new code" is refused the same way and sends nothing.
	if bs := r[0].Buttons; len(bs) != 2 || !strings.HasPrefix(bs[0].Data, "resend|") || !strings.HasPrefix(bs[1].Data, "cancel|") {
		t.Fatalf("buttons at the SMS limit %+v, want resend first, then cancel", bs)
	}
	wantIDs(t, c.press("resend"), "totp.sms_limit_keep")
	// The fifth code, already sent, still finishes the step.
	c.wantState(totpswitch.StateAwaitingSMSCode)
	if st := env.Core.Stats(); st.SMSSent != 5 {
		t.Fatalf("stats %+v, want 5 SMS", st)
	}
	wantIDs(t, c.text(env.LastSMSCode(t)), "delete:engine.delete_user_secret", "totp.confirm_disable")

	// A new conversation within the 15 minutes cannot get a first code.
	d := newChat(t, env)
	d.start()
	d.text("sam@example.com")
	r = d.text(pw)
	wantIDs(t, r, "delete:engine.delete_user_secret", "totp.sms_limit")
	d.wantState(totpswitch.StateLocked)
}

// TestCancelWordingSaysWhatChanged: cancelled before "Disable 2FA" the
// account is unchanged, and the reply says so; a wrong password at the
// password-again step names the password alone (the account is known).
func TestCancelWordingSaysWhatChanged(t *testing.T) {
	env, c, pw := atConfirmDisable(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll}, "una@example.com")
	r := c.cmd("cancel")
	wantIDs(t, r, "totp.cancelled_unchanged")
	if r[0].Text != "Cancelled. Nothing was changed on your account." {
		t.Fatalf("cancel reply %q", r[0].Text)
	}

	d := newChat(t, env)
	toConfirmDisable(t, d, "una@example.com", pw)
	d.press("disable")
	d.press("setup")
	env.Clock.Advance(11 * time.Minute)
	wantIDs(t, d.press("app"), "totp.reauth")
	r = d.text("not-the-password")
	wantIDs(t, r, "delete:engine.delete_user_secret", "totp.bad_reauth_password")
	if !strings.HasPrefix(r[1].Text, "That password is not right.") {
		t.Fatalf("reauth wrong password reply %q", r[1].Text)
	}
}

// TestSMSLimitAfterTheLastCodeDied: with the cap reached and the last code
// used up by wrong tries, "Send a new code" says when to come back instead
// of pointing at a code that no longer works.
func TestSMSLimitAfterTheLastCodeDied(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "sid@example.com", portal.MethodSMS)
	c := newChat(t, env)
	c.start()
	c.text("sid@example.com")
	c.text(pw)
	for range 4 {
		env.Clock.Advance(50 * time.Second)
		c.press("resend")
	}
	wrong := wrongCode(env.LastSMSCode(t))
	c.text(wrong)
	c.text(wrong)
	wantIDs(t, c.text(wrong), "delete:engine.delete_user_secret", "totp.sms_expired")
	wantIDs(t, c.press("resend"), "totp.sms_limit")
	c.wantState(totpswitch.StateLocked)
}

// TestRestartAfterActivationSaysDone: /start after the app was verified
// (the "Okay" never came) does not tell the user to start over.
func TestRestartAfterActivationSaysDone(t *testing.T) {
	env, c, _ := atConfirmDisable(t, testkit.Options{Order: totpswitch.OrderDisableThenEnroll}, "ada@example.com")
	c.press("disable")
	c.press("setup")
	key := env.KeyFromQR(t, c.press("app")[0].Image)
	wantIDs(t, c.text(env.TOTPCode(t, key, 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated")
	wantIDs(t, c.start(), "engine.start_again")
	r := c.press("_start_over")
	if len(r) == 0 || r[0].ID != "totp.done" || count(r, "totp.restarting") != 0 || count(r, "totp.restarting_qr") != 0 {
		t.Fatalf("/start after activation: %v", ids(r))
	}
}

// TestCappedPasswordSendsToSupport (issue 11 item 2): after 100 wrong
// passwords in a row the right one is refused until an operator unlocks
// the account, and the chat says to contact support (no retry time).
func TestCappedPasswordSendsToSupport(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "cap@example.com", portal.MethodSMS)
	acc, _ := env.Core.LookupAccount(context.Background(), "cap@example.com")
	for i := 0; i < 100; i++ {
		ctx := portal.WithSource(context.Background(), "test:attacker"+strconv.Itoa(i%3))
		_, err := env.Core.VerifyPassword(ctx, acc.ID, "wrong-password")
		var le *portal.LockedError
		if errors.As(err, &le) && !le.Operator {
			env.Clock.Set(le.RetryAfter)
		}
	}
	c := newChat(t, env)
	c.start()
	c.text("cap@example.com")
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.locked_support")
	c.wantState(totpswitch.StateLocked)
	if _, err := env.Core.Unlock(context.Background(), "cap@example.com", "test"); err != nil {
		t.Fatal(err)
	}
	again := newChat(t, env)
	again.start()
	again.text("cap@example.com")
	wantIDs(t, again.text(pw), "delete:engine.delete_user_secret", "totp.sms_sent")
}

// TestPinnedEmailOffersNoOther: a start event whose e-mail is pinned
// (bot.Event.EmailPinned, the demo's --email) uses that account and offers
// no "Use another e-mail", also after a wrong password; a vouched but
// unpinned e-mail (Slack's profile) still offers it.
func TestPinnedEmailOffersNoOther(t *testing.T) {
	env := testkit.New(t, testkit.Options{})
	pw := env.AddAccount(t, "pia@example.com", portal.MethodSMS)
	c := newChat(t, env)
	wantIDs(t, c.send(bot.Event{Kind: bot.KindStart, Email: "pia@example.com", EmailPinned: true}),
		"totp.welcome", "totp.proposed_email", "totp.ask_password")
	if d := c.button("other_email"); d != "" {
		t.Fatalf("a pinned account offers another e-mail (%q)", d)
	}
	c.text("wrong-password")
	if d := c.button("other_email"); d != "" {
		t.Fatalf("after a wrong password a pinned account offers another e-mail (%q)", d)
	}
	wantIDs(t, c.text(pw), "delete:engine.delete_user_secret", "totp.sms_sent")

	u := newChat(t, env)
	u.send(bot.Event{Kind: bot.KindStart, Email: "pia@example.com"})
	if u.button("other_email") == "" {
		t.Fatal("an unpinned vouched e-mail offers no other e-mail")
	}
}
