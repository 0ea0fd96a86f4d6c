// Package testkit wires the real parts of guidedfix for tests: the
// embedded portal core and the bbolt session store on real files in a
// temporary directory, the engine with the totpswitch flow (every state
// change checked strictly against its transition table and recorded for
// the edge walk, see StateCheck and RunWithFlowChecks), a settable
// clock, the SMS gateway boundary recorded in memory, e-mails in a real
// .eml outbox, and a log buffer to scan for secrets. Only tests import it.
package testkit

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/portal/portaltest"
	"guidedfix/internal/qr"
	"guidedfix/internal/qr/qrdecode"
	"guidedfix/internal/store"
)

// Start is the clock's initial time in every Env: 2026-11-29 10:00:00 UTC.
var Start = time.Date(2026, 11, 29, 10, 0, 0, 0, time.UTC)

// Env is one complete guidedfix back end on real files.
type Env struct {
	// Dir is the data directory (a t.TempDir()).
	Dir string
	// Clock drives the core, the store and the engine.
	Clock *portaltest.Clock
	// SMS records the SMS the core sends (the gateway boundary).
	SMS *portaltest.SMSRecorder
	// Mail is the real .eml outbox under Dir/outbox/mail.
	Mail *mail.Outbox
	// Core is the embedded portal core (Dir/portal.db).
	Core *embedded.Core
	// Store is the session store (Dir/sessions.db).
	Store *store.Bolt
	// Engine runs the totpswitch flow.
	Engine *bot.Engine
	// Log receives every log line of the core and the engine.
	Log *SafeBuffer

	secrets []string
	mu      sync.Mutex
	// hadFactor marks the accounts factorWatch saw with a second factor.
	hadFactor map[string]bool
	opts      Options
	log       *slog.Logger
}

// Options adjust New.
type Options struct {
	// IdleTimeout of the engine; default 15 minutes.
	IdleTimeout time.Duration
	// Hook is passed to the engine (crash-point tests).
	Hook func(bot.Hook, *bot.Session)
	// Order is the flow order (totpswitch.OrderEnrollThenSwitch, the
	// flow's default, when empty).
	Order string
	// RecoveryCodes is the flow's number of recovery codes (0: none).
	RecoveryCodes int
	// Support, Observer and Handoffs are passed to the engine and the flow.
	Support  bot.Support
	Observer func(context.Context, bot.Transition)
	Handoffs totpswitch.Handoffs
	// WrapCore, if set, wraps the core the flow calls (e.g. to make a
	// call slow); Env.Core stays the embedded core.
	WrapCore func(portal.Core) portal.Core
	// Flows, if set, are the flows the engine runs instead of totpswitch
	// (the first is the default flow), e.g. scriptflow for the adapter
	// contract test; Order, RecoveryCodes, Handoffs and WrapCore are then
	// unused and no factor watch runs.
	Flows []bot.Flow
}

// New returns an Env whose files are checked on cleanup: the session
// store and the log must not contain any secret registered with
// AddSecret (passwords, codes, TOTP secrets).
func New(t testing.TB, opts Options) *Env {
	t.Helper()
	dir := t.TempDir()
	e := &Env{
		Dir:   dir,
		Clock: portaltest.NewClock(Start),
		SMS:   &portaltest.SMSRecorder{},
		Log:   &SafeBuffer{},
	}
	e.opts = opts
	e.log = slog.New(slog.NewTextHandler(e.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	var err error
	e.Mail, err = mail.NewOutbox(filepath.Join(dir, "outbox", "mail"))
	if err != nil {
		t.Fatal(err)
	}
	e.open(t)
	t.Cleanup(func() {
		e.Store.Close()
		e.Core.Close()
		e.CheckNoSecrets(t)
	})
	return e
}

// open opens the core, the store and the engine on e.Dir.
func (e *Env) open(t testing.TB) {
	t.Helper()
	dir, log, opts := e.Dir, e.log, e.opts
	var err error
	e.Core, err = embedded.Open(embedded.Options{
		Path:    filepath.Join(dir, "portal.db"),
		KeyFile: filepath.Join(dir, "portal.key"),
		Mail:    e.Mail,
		SMS:     e.SMS,
		Now:     e.Clock.Now,
		Argon2:  embedded.Argon2Params{Memory: 1024, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16},
		Logger:  log,
	})
	if err != nil {
		t.Fatal(err)
	}
	inboxKey, err := e.Core.DeriveKey(store.InboxKeyPurpose)
	if err != nil {
		t.Fatal(err)
	}
	e.Store, err = store.Open(store.Options{Path: filepath.Join(dir, "sessions.db"), Now: e.Clock.Now, InboxKey: inboxKey})
	if err != nil {
		t.Fatal(err)
	}
	var core portal.Core = e.Core
	if opts.WrapCore != nil {
		core = opts.WrapCore(core)
	}
	flows := opts.Flows
	observer := opts.Observer
	if len(flows) == 0 {
		flows = []bot.Flow{totpswitch.New(totpswitch.Options{Core: core, Order: opts.Order, RecoveryCodes: opts.RecoveryCodes, Handoffs: opts.Handoffs})}
		if opts.Order != totpswitch.OrderDisableThenEnroll {
			observer = e.factorWatch(t, opts.Observer)
		}
	}
	e.Engine, err = bot.New(bot.Options{Store: e.Store, Flows: flows, Now: e.Clock.Now,
		Logger: log, IdleTimeout: opts.IdleTimeout, Hook: opts.Hook, Support: opts.Support, Observer: observer,
		States: StateCheck(t)})
	if err != nil {
		t.Fatal(err)
	}
}

// factorWatch returns an engine observer that, after every saved turn,
// checks that no account that had a second factor is without one (the
// default enroll-then-switch order never leaves an account password-only,
// issue 11 item 1), then calls next (if any).
func (e *Env) factorWatch(t testing.TB, next func(context.Context, bot.Transition)) func(context.Context, bot.Transition) {
	return func(ctx context.Context, tr bot.Transition) {
		accts, err := e.Core.ListAccounts(ctx)
		if err != nil {
			t.Errorf("factor watch: %v", err)
		}
		e.mu.Lock()
		if e.hadFactor == nil {
			e.hadFactor = map[string]bool{}
		}
		for _, a := range accts {
			if a.Method != portal.MethodNone {
				e.hadFactor[a.ID] = true
			} else if e.hadFactor[a.ID] {
				t.Errorf("after turn %s -> %s account %s has no second factor", tr.From, tr.To, a.ID)
			}
		}
		e.mu.Unlock()
		if next != nil {
			next(ctx, tr)
		}
	}
}

// Restart simulates a process restart: it closes the store and the core
// and opens them again on the same files with a new engine. Deliverers
// must be registered again on the new Engine.
func (e *Env) Restart(t testing.TB) {
	t.Helper()
	if err := e.Store.Close(); err != nil {
		t.Fatal(err)
	}
	if err := e.Core.Close(); err != nil {
		t.Fatal(err)
	}
	e.open(t)
}

// AddSecret registers values that must never appear in the session store
// or the log (checked on cleanup and by CheckNoSecrets).
func (e *Env) AddSecret(s ...string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.secrets = append(e.secrets, s...)
}

// CheckNoSecrets fails t if a registered secret occurs in the raw bytes of
// sessions.db or in the log.
func (e *Env) CheckNoSecrets(t testing.TB) {
	t.Helper()
	e.mu.Lock()
	secrets := append([]string(nil), e.secrets...)
	e.mu.Unlock()
	raw, err := os.ReadFile(filepath.Join(e.Dir, "sessions.db"))
	if err != nil {
		t.Errorf("read sessions.db: %v", err)
	}
	logText := e.Log.String()
	// Durations measured on the real clock ("took=1.234567ms") are full of
	// digits: a 6-digit code would match one now and then by chance, so
	// codes are looked for in the log without them.
	noDurations := loggedDuration.ReplaceAllString(logText, "")
	for _, s := range secrets {
		if len(s) < 4 {
			continue
		}
		if bytes.Contains(raw, []byte(s)) {
			t.Errorf("sessions.db contains a secret (%d bytes long)", len(s))
		}
		text := logText
		if strings.Trim(s, "0123456789") == "" {
			text = noDurations
		}
		if strings.Contains(text, s) {
			t.Errorf("the log contains a secret (%d bytes long)", len(s))
		}
	}
}

// loggedDuration matches a time.Duration as slog's text handler prints it
// (time.Duration.String: "1.234567ms", "2m3.5s", "812ns").
var loggedDuration = regexp.MustCompile(`\b(?:\d+(?:\.\d+)?(?:h|m|s|ms|µs|us|ns))+\b`)

// AddAccount creates an account with a fresh password and returns the
// password (registered as a secret).
func (e *Env) AddAccount(t testing.TB, email string, method portal.Method) string {
	t.Helper()
	pw := "pw-" + strings.ReplaceAll(email, "@", "-at-") + "-Secret!"
	if _, err := e.Core.AddAccount(context.Background(), embedded.NewAccount{
		Email: email, Name: "Test " + email, Phone: "+60123456789", Method: method, Password: pw,
	}); err != nil {
		t.Fatal(err)
	}
	e.AddSecret(pw)
	return pw
}

// LastSMSCode returns the code of the last SMS sent to +60123456789
// (registered as a secret); it fails t when none was sent.
func (e *Env) LastSMSCode(t testing.TB) string {
	t.Helper()
	code, n := e.SMS.LastCode("+60123456789")
	if n == 0 {
		t.Fatal("no SMS was sent")
	}
	e.AddSecret(code)
	return code
}

// Mails returns the e-mails in the outbox, in file-name order.
func (e *Env) Mails(t testing.TB) []mail.Message {
	t.Helper()
	paths, err := e.Mail.List()
	if err != nil {
		t.Fatal(err)
	}
	var out []mail.Message
	for _, p := range paths {
		m, err := mail.ReadEML(p)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// KeyFromQR decodes a QR PNG with an independent decoder (gozxing) and
// parses the otpauth URI; the secret is registered as a secret.
func (e *Env) KeyFromQR(t testing.TB, png []byte) *otp.Key {
	t.Helper()
	uri, err := qrdecode.Decode(png)
	if err != nil {
		t.Fatalf("decode QR: %v", err)
	}
	k, err := otp.NewKeyFromURL(uri)
	if err != nil {
		t.Fatalf("parse otpauth URI: %v", err)
	}
	e.AddSecret(k.Secret())
	return k
}

// TOTPCode computes the code of key at the clock's time, offset by steps
// time steps (RFC 6238, 30 s); it is registered as a secret.
func (e *Env) TOTPCode(t testing.TB, key *otp.Key, steps int) string {
	t.Helper()
	at := e.Clock.Now().Add(time.Duration(steps) * 30 * time.Second)
	code, err := totp.GenerateCodeCustom(key.Secret(), at, totp.ValidateOpts{Period: 30, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
	if err != nil {
		t.Fatal(err)
	}
	e.AddSecret(code)
	return code
}

// SafeBuffer is a bytes.Buffer safe for concurrent writers.
type SafeBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *SafeBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SafeBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Recorder is a bot.Deliverer that records every reply, for flow tests
// that need no platform.
type Recorder struct {
	mu      sync.Mutex
	Replies []bot.Reply
	n       int
	blocked bool
}

// SetBlocked makes Deliver fail with bot.ErrBlocked (the user blocked the
// bot) until called with false.
func (r *Recorder) SetBlocked(b bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.blocked = b
}

// Deliver records r and returns "m<n>"; while blocked it records nothing
// and returns bot.ErrBlocked.
func (r *Recorder) Deliver(ctx context.Context, to bot.Conversation, rep bot.Reply) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.blocked {
		return "", bot.ErrBlocked
	}
	r.Replies = append(r.Replies, rep)
	r.n++
	return fmt.Sprintf("m%d", r.n), nil
}

// Since returns the replies after the first n, and the new count.
func (r *Recorder) Since(n int) ([]bot.Reply, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]bot.Reply(nil), r.Replies[n:]...)
	return out, len(r.Replies)
}

// Options returns the options e was made with.
func (e *Env) Options() Options { return e.opts }

// Mask returns s with every registered secret masked (MaskSecrets), for
// transcripts.
func (e *Env) Mask(s string) string {
	e.mu.Lock()
	secrets := append([]string(nil), e.secrets...)
	e.mu.Unlock()
	return MaskSecrets(s, secrets)
}

// MaskSecrets returns s with each of secrets that has at least 4 bytes,
// also written in groups of 4 separated by spaces as a manual key is,
// replaced by Masked.
func MaskSecrets(s string, secrets []string) string {
	for _, sec := range secrets {
		if len(sec) < 4 {
			continue
		}
		s = strings.ReplaceAll(s, sec, Masked)
		s = strings.ReplaceAll(s, qr.ManualKey(sec), Masked)
	}
	return s
}

// CheckNoSecretsIn fails t if a registered secret (at least 4 bytes)
// occurs in text, which what names (a transcript, a page).
func (e *Env) CheckNoSecretsIn(t testing.TB, what, text string) {
	t.Helper()
	e.mu.Lock()
	secrets := append([]string(nil), e.secrets...)
	e.mu.Unlock()
	for _, s := range secrets {
		if len(s) >= 4 && strings.Contains(text, s) {
			t.Errorf("%s contains a secret (%d bytes long)", what, len(s))
		}
	}
}
