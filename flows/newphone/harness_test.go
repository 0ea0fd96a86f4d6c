package newphone_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/portal/portaltest"
	"guidedfix/internal/qr/qrdecode"
	"guidedfix/internal/store"
	"guidedfix/internal/testkit"
)

// start is the instant every test begins at: 10 s into a time step.
var start = time.Date(2026, 11, 29, 10, 0, 10, 0, time.UTC)

const phone = "+60123456789"

// env is one back end on real files: the embedded core (bbolt), the
// session store (bbolt) and an engine running the newphone flow, started
// by /newphone. Every state change is checked against the flow's
// transition table (strictly, and recorded for the edge walk), and no
// account that had a second factor may lose it.
type env struct {
	t       *testing.T
	dir     string
	clock   *portaltest.Clock
	sms     *portaltest.SMSRecorder
	mail    *mail.Outbox
	core    *embedded.Core
	store   *store.Bolt
	engine  *bot.Engine
	rec     *testkit.Recorder
	log     *testkit.SafeBuffer
	mu      sync.Mutex
	secrets []string
	// observeMethods makes the observer require method totp of every
	// account after every turn (default true).
	observeMethods bool
}

type envOptions struct {
	support  bot.Support
	handoffs newphone.Handoffs
	// wrap, if set, wraps the core the flow calls.
	wrap func(newphone.Core) newphone.Core
	// hook, if set, is the engine's hook (crash points).
	hook func(bot.Hook, *bot.Session)
}

func newEnv(t *testing.T, o envOptions) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), clock: portaltest.NewClock(start), sms: &portaltest.SMSRecorder{},
		rec: &testkit.Recorder{}, log: &testkit.SafeBuffer{}, observeMethods: true}
	var err error
	if e.mail, err = mail.NewOutbox(filepath.Join(e.dir, "outbox")); err != nil {
		t.Fatal(err)
	}
	logger := testLogger(e.log)
	e.core, err = embedded.Open(embedded.Options{Path: filepath.Join(e.dir, "portal.db"), KeyFile: filepath.Join(e.dir, "portal.key"),
		Mail: e.mail, SMS: e.sms, Now: e.clock.Now, Logger: logger,
		Argon2: embedded.Argon2Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}})
	if err != nil {
		t.Fatal(err)
	}
	if e.store, err = store.Open(store.Options{Path: filepath.Join(e.dir, "sessions.db"), Now: e.clock.Now}); err != nil {
		t.Fatal(err)
	}
	var core newphone.Core = e.core
	if o.wrap != nil {
		core = o.wrap(core)
	}
	flow := newphone.New(newphone.Options{Core: core, Handoffs: o.handoffs})
	e.engine, err = bot.New(bot.Options{Store: e.store, Flows: []bot.Flow{flow}, StartCommands: newphone.Commands,
		Now: e.clock.Now, Logger: logger, Support: o.support, Observer: e.observe, States: testkit.StateCheck(t), Hook: o.hook})
	if err != nil {
		t.Fatal(err)
	}
	e.engine.Register("test", e.rec)
	t.Cleanup(func() {
		e.store.Close()
		e.core.Close()
		e.checkNoSecrets()
	})
	return e
}

// observe enforces the "never without a factor" rule after every saved
// turn (the engine checks every state change against the table itself,
// testkit.StateCheck).
func (e *env) observe(ctx context.Context, tr bot.Transition) {
	e.mu.Lock()
	watch := e.observeMethods
	e.mu.Unlock()
	if !watch {
		return
	}
	accts, err := e.core.ListAccounts(ctx)
	if err != nil {
		e.t.Errorf("list accounts: %v", err)
	}
	for _, a := range accts {
		if a.Method != portal.MethodTOTP {
			e.t.Errorf("after %s -> %s account %s uses %q, want totp throughout", tr.From, tr.To, a.Email, a.Method)
		}
	}
}

func (e *env) secret(s ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, s...)
}

// checkNoSecrets fails when a password, code or secret is in the session
// store's file or the log.
func (e *env) checkNoSecrets() {
	raw, err := os.ReadFile(filepath.Join(e.dir, "sessions.db"))
	if err != nil {
		e.t.Errorf("read sessions.db: %v", err)
	}
	logText := e.log.String()
	for _, s := range e.secrets {
		if len(s) < 4 {
			continue
		}
		if bytes.Contains(raw, []byte(s)) {
			e.t.Errorf("sessions.db holds a secret (%d bytes)", len(s))
		}
		if strings.Contains(logText, s) {
			e.t.Errorf("the log holds a secret (%d bytes)", len(s))
		}
	}
}

// account is a portal account that uses TOTP.
type account struct {
	email, password, secret string
	codes                   []string
}

// totpAccount creates an SMS account and moves it to TOTP through the
// core (as totpswitch would), with n recovery codes; the clock then moves
// one time step on.
func (e *env) totpAccount(email string, n int) account {
	e.t.Helper()
	ctx := context.Background()
	pw := "pw-" + strings.ReplaceAll(email, "@", "-at-") + "-Secret!"
	a, err := e.core.AddAccount(ctx, embedded.NewAccount{Email: email, Name: "Test", Phone: phone, Method: portal.MethodSMS, Password: pw})
	if err != nil {
		e.t.Fatal(err)
	}
	g, err := e.core.VerifyPassword(ctx, a.ID, pw)
	if err != nil {
		e.t.Fatal(err)
	}
	ch, err := e.core.SendSMSChallenge(ctx, g.Token, "setup-sms-"+email)
	if err != nil {
		e.t.Fatal(err)
	}
	code, _ := e.sms.LastCode(phone)
	if _, err := e.core.VerifySMSChallenge(ctx, g.Token, ch.ID, code); err != nil {
		e.t.Fatal(err)
	}
	en, err := e.core.BeginTOTPEnrollment(ctx, g.Token, "setup-begin-"+email)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, e.codeOf(en.Secret, 0), "setup-confirm-"+email); err != nil {
		e.t.Fatal(err)
	}
	acc := account{email: email, password: pw, secret: en.Secret}
	if n > 0 {
		if acc.codes, err = e.core.IssueRecoveryCodes(ctx, en.ID, n); err != nil {
			e.t.Fatal(err)
		}
	}
	e.secret(append([]string{pw, en.Secret, code}, acc.codes...)...)
	e.clock.Advance(30 * time.Second)
	return acc
}

// codeOf is the RFC 6238 code of secret at the clock, steps time steps on.
func (e *env) codeOf(secret string, steps int) string {
	c, err := totp.GenerateCodeCustom(secret, e.clock.Now().Add(time.Duration(steps)*30*time.Second),
		totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		e.t.Fatal(err)
	}
	e.secret(c)
	return c
}

// keyFromQR decodes a QR PNG with an independent decoder.
func (e *env) keyFromQR(png []byte) *otp.Key {
	e.t.Helper()
	uri, err := qrdecode.Decode(png)
	if err != nil {
		e.t.Fatalf("decode QR: %v", err)
	}
	k, err := otp.NewKeyFromURL(uri)
	if err != nil {
		e.t.Fatal(err)
	}
	e.secret(k.Secret())
	return k
}

func (e *env) accountID(email string) string {
	e.t.Helper()
	a, err := e.core.LookupAccount(context.Background(), email)
	if err != nil {
		e.t.Fatal(err)
	}
	return a.ID
}

// proves reports whether code of the account's current app is accepted
// by the core now (a login-style check).
func (e *env) proves(email, code string) error {
	return e.core.VerifyTOTP(context.Background(), e.accountID(email), code)
}

func (e *env) audit(email string) []string {
	e.t.Helper()
	entries, err := e.core.AuditLog(context.Background(), e.accountID(email), 100)
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, a := range entries {
		out = append(out, a.Action)
	}
	return out
}

func (e *env) mails(to string) []mail.Message {
	e.t.Helper()
	paths, err := e.mail.List()
	if err != nil {
		e.t.Fatal(err)
	}
	var out []mail.Message
	for _, p := range paths {
		m, err := mail.ReadEML(p)
		if err != nil {
			e.t.Fatal(err)
		}
		if m.To == to {
			out = append(out, m)
		}
	}
	return out
}

// chat drives one conversation: testkit.Chat (the one chat test driver)
// on the env's engine and recorder, with the names these tests use.
type chat struct {
	*testkit.Chat
	e *env
}

// redeliver sends the last update again with the same id, as a platform
// does when it got no answer.
func (c *chat) redeliver(ev bot.Event) []bot.Reply {
	c.e.t.Helper()
	return c.Redeliver(ev)
}

func (e *env) chat() *chat { return e.chatIn(bot.Conversation{Channel: "test", ID: "100"}, 0, 0) }

// chatIn returns a chat in conv whose update ids start after upd (they
// are per channel) and whose first turn returns the recorder's replies
// after the first seen.
func (e *env) chatIn(conv bot.Conversation, upd, seen int) *chat {
	return &chat{Chat: &testkit.Chat{T: e.t, Engine: func() *bot.Engine { return e.engine }, Rec: e.rec, Conv: conv, UserID: "u100", Upd: upd, Seen: seen}, e: e}
}

func (c *chat) send(ev bot.Event) []bot.Reply {
	c.e.t.Helper()
	return c.Send(ev)
}

func (c *chat) cmd(name string) []bot.Reply { return c.Cmd(name) }
func (c *chat) text(s string) []bot.Reply   { return c.Text(s) }

func (c *chat) press(action string) []bot.Reply {
	c.e.t.Helper()
	return c.Press(action)
}

func (c *chat) session() *bot.Session {
	c.e.t.Helper()
	return c.Session()
}

func (c *chat) wantState(s bot.State, done bool) {
	c.e.t.Helper()
	if got := c.session(); got.State != s || got.Done != done {
		c.e.t.Fatalf("state %q done %v, want %q done %v", got.State, got.Done, s, done)
	}
}

func ids(rs []bot.Reply) []string { return testkit.IDs(rs) }

func wantIDs(t *testing.T, got []bot.Reply, want ...string) {
	t.Helper()
	testkit.WantIDs(t, got, want...)
}

// toChooseProof runs step 1 for acc.
func (c *chat) toChooseProof(acc account) {
	t := c.e.t
	t.Helper()
	wantIDs(t, c.cmd("newphone"), "newphone.welcome", "newphone.ask_email")
	wantIDs(t, c.text(acc.email), "newphone.ask_password")
	wantIDs(t, c.text(acc.password), "delete:engine.delete_user_secret", "newphone.choose_proof")
	c.wantState(newphone.StateChooseProof, false)
}

// toNewCode walks from choose_proof through the current app's code to the
// new code step and returns the key of the QR code sent there.
func (c *chat) toNewCode(acc account) *otp.Key {
	c.e.t.Helper()
	c.press("have_old")
	r := c.text(c.e.codeOf(acc.secret, 0))
	return c.e.keyFromQR(r[1].Image)
}

// embeddedAccount is an SMS account for email with password pw.
func embeddedAccount(email, pw string) embedded.NewAccount {
	return embedded.NewAccount{Email: email, Name: "Test", Phone: phone, Method: portal.MethodSMS, Password: pw}
}
