package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/qr/qrdecode"
	"guidedfix/internal/simcustomer"
)

// slackUser drives the fake Slack as one person in their DM with the app,
// through Socket Mode (the real slack-go client on the app's side).
type slackUser struct {
	t    *testing.T
	fake *fakeslack.Server
	id   string
	dm   string
}

// waitFor polls cond for up to 20 s, failing the test with what.
func (u *slackUser) waitFor(what string, cond func() bool) {
	u.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			var texts []string
			for _, m := range u.fake.History(u.dm) {
				texts = append(texts, m.Text)
			}
			u.t.Fatalf("waited for %s; DM history %q", what, texts)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// push sends one Socket Mode envelope and returns the app's ack payload.
func (u *slackUser) push(typ string, payload []byte) json.RawMessage {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id, err := u.fake.Push(ctx, typ, payload)
	if err != nil {
		u.t.Fatal(err)
	}
	ack, err := u.fake.WaitAck(ctx, id)
	if err != nil {
		u.t.Fatalf("no ack for %s: %v", typ, err)
	}
	return ack
}

// newest returns the newest button in the DM that match accepts, waiting
// for it to appear.
func (u *slackUser) newest(what string, match func(fakeslack.Button) bool) fakeslack.Button {
	u.t.Helper()
	var b fakeslack.Button
	u.waitFor(what+" button", func() bool {
		for _, c := range u.fake.Buttons(u.dm) {
			if match(c) {
				b = c
				return true
			}
		}
		return false
	})
	return b
}

// press presses the flow's button of action (its value is "action|…").
func (u *slackUser) press(action string) {
	u.t.Helper()
	b := u.newest(action, func(b fakeslack.Button) bool { return strings.HasPrefix(b.Value, action+"|") })
	u.push("interactive", u.fake.Click(u.id, b))
}

// enter presses the Enter password/code button of the DM's newest message
// (an older one belongs to a step that has passed) and returns the id of
// the modal it opened, which must collect want.
func (u *slackUser) enter(want bot.SecretField) string {
	u.t.Helper()
	before, _ := u.fake.LastView()
	b := u.newest("Enter", func(b fakeslack.Button) bool {
		ms := u.fake.History(u.dm)
		return b.ActionID == "guidedfix_secret" && len(ms) > 0 && b.MessageTS == ms[len(ms)-1].TS
	})
	u.push("interactive", u.fake.Click(u.id, b))
	var v fakeslack.View
	u.waitFor("the modal", func() bool {
		var ok bool
		v, ok = u.fake.LastView()
		return ok && v.ID != before.ID && !v.Closed
	})
	if f := field(u.t, v.PrivateMetadata); f != want {
		u.t.Fatalf("modal collects %q, want %q", f, want)
	}
	return v.ID
}

// submit types value into modal id, submits it and returns the answer's
// response_action and the secret field of the view it updates to.
func (u *slackUser) submit(id, value string) (action string, next bot.SecretField) {
	u.t.Helper()
	p, err := u.fake.Submit(id, value)
	if err != nil {
		u.t.Fatal(err)
	}
	ack := u.push("interactive", p)
	var a struct {
		Action string `json:"response_action"`
		View   *struct {
			PrivateMetadata string `json:"private_metadata"`
		} `json:"view"`
	}
	if len(ack) > 0 && string(ack) != "null" {
		if err := json.Unmarshal(ack, &a); err != nil {
			u.t.Fatalf("answer %s: %v", ack, err)
		}
	}
	if a.View != nil {
		next = field(u.t, a.View.PrivateMetadata)
	}
	return a.Action, next
}

// field returns the secret field a modal collects, from its
// private_metadata.
func field(t *testing.T, metadata string) bot.SecretField {
	t.Helper()
	var m struct {
		F bot.SecretField `json:"f"`
	}
	if err := json.Unmarshal([]byte(metadata), &m); err != nil {
		t.Fatalf("private_metadata %q: %v", metadata, err)
	}
	return m.F
}

// TestSlackFlowRemotePortal runs the whole change in Slack (the fake
// Slack in Socket Mode, the real slack-go client in `guidedfix serve
// --portal-url`) against `guidedfix portal serve` in another process
// started by the test: the profile e-mail proposes the account, the
// password and the SMS code go into the modal, the knowledge-base order
// disables SMS, the QR code is read from the uploaded PNG and the app's
// code is submitted. The portal's own database and outbox then show
// exactly one disable, one activation, no restore, one "2FA disabled"
// alert and one confirmation e-mail, the factor is totp, and guidedfix
// kept no portal.db, no secret in its sessions.db and none in its log.
func TestSlackFlowRemotePortal(t *testing.T) {
	portalDir, dir := t.TempDir(), t.TempDir()
	accs := addAccounts(t, portalDir, "slackflow", 1)
	p := startPortal(t, portalDir, "GUIDEDFIX_PORTAL__SERVE__TOKENS="+remoteToken)
	fake := fakeslack.New(fakeslack.Options{BotToken: "xoxb-test", AppToken: "xapp-test"})
	t.Cleanup(fake.Close)
	fake.AddUser(fakeslack.User{ID: "U1", Email: accs[0].email, Locale: "en-US"})
	t.Setenv("TELEGRAM_BOT_TOKEN", "")
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-test")
	t.Setenv("SLACK_APP_TOKEN", "xapp-test")
	t.Setenv("GUIDEDFIX_SLACK__API_URL", fake.APIURL)
	t.Setenv("GUIDEDFIX_PORTAL__TOKEN", remoteToken)
	t.Setenv("GUIDEDFIX_FLOW__ORDER", totpswitch.OrderDisableThenEnroll)
	logPath := filepath.Join(t.TempDir(), "serve.log")
	logf, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, &globalFlags{dataDir: dir}, serveFlags{portalURL: p.url}, serveOptions{logOut: logf})
	}()

	u := &slackUser{t: t, fake: fake, id: "U1", dm: fake.IM("U1")}
	body, _ := fake.MessageEvent("U1", u.dm, "2fa")
	u.push("events_api", body)

	// Step 1: the password in the modal, which then asks the SMS code
	// the remote portal wrote to its file phone.
	id := u.enter(bot.SecretPassword)
	if action, next := u.submit(id, accs[0].password); action != "update" || next != bot.SecretSMSCode {
		t.Fatalf("answer to the password: %q, next field %q", action, next)
	}
	inbox := &simcustomer.SMSInbox{Dir: filepath.Join(portalDir, "outbox", "sms")}
	var code string
	u.waitFor("the SMS code in the portal's outbox", func() bool {
		var ok bool
		code, ok = inbox.Latest(accs[0].phone)
		return ok
	})
	if action, _ := u.submit(id, code); action != "" {
		t.Fatalf("answer to the SMS code: %q", action)
	}

	// Steps 2-4: disable, set up, authenticator app: the QR code arrives.
	u.press("disable")
	u.press("setup")
	u.press("app")
	var files []fakeslack.File
	u.waitFor("the QR code upload", func() bool { files = fake.Files(); return len(files) == 1 && len(files[0].Data) > 0 })
	uri, err := qrdecode.Decode(files[0].Data)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	key, err := otp.NewKeyFromURL(uri)
	if err != nil || key.AccountName() != accs[0].email {
		t.Fatalf("QR key %v for %q", err, key.AccountName())
	}
	good, err := totp.GenerateCode(key.Secret(), time.Now())
	if err != nil {
		t.Fatal(err)
	}
	// Step 5: the app's code in the modal; then Okay ends the change.
	id = u.enter(bot.SecretTOTPCode)
	if action, _ := u.submit(id, good); action != "" {
		t.Fatalf("answer to the TOTP code: %q", action)
	}
	u.press("okay")
	cat := bot.NewCatalog()
	fsys, paths := (&totpswitch.Flow{}).Messages()
	if err := cat.Load(fsys, paths...); err != nil {
		t.Fatal(err)
	}
	doneText := cat.Text("en-US", "totp.done", nil)
	u.waitFor("the done message", func() bool {
		for _, m := range fake.History(u.dm) {
			if m.Text == doneText {
				return true
			}
		}
		return false
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	p.stop(t)

	e := accountEffects(t, portalDir, accs[0].email)
	if e.method != portal.MethodTOTP || e.disables != 1 || e.activations != 1 || e.restores != 0 || e.alerts != 1 || e.confirmations != 1 || e.restoredMails != 0 {
		t.Fatalf("effects %+v: want totp, 1 disable, 1 activation, no restore, 1 alert, 1 confirmation", e)
	}
	for _, f := range fake.Files() {
		if !f.Deleted {
			t.Errorf("QR file %s was not deleted", f.ID)
		}
	}
	for _, f := range []string{"portal.db", "portal.key"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("guidedfix's data directory has %s (%v)", f, err)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(dir, "sessions.db"))
	logs, _ := os.ReadFile(logPath)
	for _, s := range []string{accs[0].password, code, key.Secret(), good, remoteToken} {
		if strings.Contains(string(raw), s) || strings.Contains(string(logs), s) {
			t.Errorf("a secret (%d bytes) in guidedfix's sessions.db or log", len(s))
		}
	}
}
