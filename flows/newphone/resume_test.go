package newphone_test

import (
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/internal/testkit"
)

// restartEngine replaces e's engine by a new one on the same core and
// session store, as a process restarted after a crash has (a new flow,
// whose in-memory state is new).
func (e *env) restartEngine() {
	e.t.Helper()
	flow := newphone.New(newphone.Options{Core: e.core})
	eng, err := bot.New(bot.Options{Store: e.store, Flows: []bot.Flow{flow}, StartCommands: newphone.Commands,
		Now: e.clock.Now, Logger: testLogger(e.log), Observer: e.observe, States: testkit.StateCheck(e.t)})
	if err != nil {
		e.t.Fatal(err)
	}
	eng.Register("test", e.rec)
	e.engine = eng
}

// wantQRShownAgain checks that r shows the new-code step again as "Show
// the QR code again" does: the earlier QR and key messages deleted, the
// QR code of the same secret and the manual key sent again protected and
// sensitive under their refs, then the code prompt with its three
// buttons; and that the session's state and id did not change while its
// QR message is the new one.
func (c *chat) wantQRShownAgain(r []bot.Reply, secret string, before *bot.Session) {
	t := c.e.t
	t.Helper()
	wantIDs(t, r, "delete:qr", "delete:key", "newphone.qr_caption", "newphone.manual_key", "newphone.ask_new_code")
	if r[0].MessageID != before.Messages["qr"] || r[1].MessageID != before.Messages["key"] {
		t.Fatalf("deleted %q and %q, want the QR %q and key %q shown before", r[0].MessageID, r[1].MessageID, before.Messages["qr"], before.Messages["key"])
	}
	if !r[2].Protected || !r[2].Sensitive || r[2].Ref != "qr" || !r[3].Protected || !r[3].Sensitive || r[3].Ref != "key" {
		t.Fatalf("QR / key sent again not protected and sensitive: %+v %+v", r[2].LogValue(), r[3].LogValue())
	}
	if k := c.e.keyFromQR(r[2].Image); k.Secret() != secret {
		t.Fatal("the QR code sent again has another secret")
	}
	if r[4].Secret != bot.SecretTOTPCode {
		t.Fatalf("the prompt after the QR code asks for %q, want the code", r[4].Secret)
	}
	if got := testkit.ButtonActions(r[4]); len(got) != 3 || got[0] != "verify" || got[1] != "show_qr" || got[2] != "cancel" {
		t.Fatalf("new-code prompt buttons %v, want verify, show_qr, cancel", got)
	}
	s := c.session()
	if s.ID != before.ID || s.State != newphone.StateAwaitingNewCode || s.Done || s.Messages["qr"] == "" || s.Messages["qr"] == before.Messages["qr"] {
		t.Fatalf("after the resume: session %s state %q done %v qr %q (before %s, qr %q)", s.ID, s.State, s.Done, s.Messages["qr"], before.ID, before.Messages["qr"])
	}
}

// wantDoneDeletesQR types the new app's code and checks that the change
// completes and deletes the QR and key messages shown last.
func (c *chat) wantDoneDeletesQR(secret string) {
	t := c.e.t
	t.Helper()
	last := c.session()
	c.e.clock.Advance(30 * time.Second)
	r := c.text(c.e.codeOf(secret, 0))
	wantIDs(t, r, "delete:engine.delete_user_secret", "delete:qr", "delete:key", "newphone.done")
	if r[1].MessageID != last.Messages["qr"] || r[2].MessageID != last.Messages["key"] {
		t.Fatalf("the end deleted %q and %q, want the QR %q and key %q sent last", r[1].MessageID, r[2].MessageID, last.Messages["qr"], last.Messages["key"])
	}
	c.wantState(newphone.StateDone, true)
}

// TestContinueAfterCrashShowsQRAgain (issue 14 F8): after a restart at
// the new-code step, /newphone asks first and "Continue where I left
// off" sends the QR code and manual key again (same secret, protected,
// sensitive), not only the code request; the entry already scanned then
// completes the move and the end deletes the QR code sent again.
func TestContinueAfterCrashShowsQRAgain(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := e.totpAccount("olga@example.com", 0)
	c := e.chat()
	c.toChooseProof(acc)
	key := c.toNewCode(acc)
	before := c.session()
	e.restartEngine()
	wantIDs(t, c.cmd("newphone"), "engine.start_again")
	c.wantQRShownAgain(c.press("_continue"), key.Secret(), before)
	c.wantDoneDeletesQR(key.Secret())
	if err := e.proves(acc.email, e.codeOf(key.Secret(), 1)); err != nil {
		t.Fatalf("the new app's code after the move: %v", err)
	}
}

// TestLanguageSwitchAtQRStepShowsQRAgain (issue 14 F8): /language ms at
// the new-code step shows that step again in Malay: the QR code and key
// are sent again with the same secret, the old ones deleted.
func TestLanguageSwitchAtQRStepShowsQRAgain(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := e.totpAccount("puan@example.com", 0)
	c := e.chat()
	c.toChooseProof(acc)
	key := c.toNewCode(acc)
	before := c.session()
	r := c.send(bot.Event{Kind: bot.KindCommand, Command: bot.CommandLanguage, Text: "ms"})
	if len(r) == 0 || r[0].ID != bot.MsgLanguageSet {
		t.Fatalf("replies %v, want %s first", ids(r), bot.MsgLanguageSet)
	}
	c.wantQRShownAgain(r[1:], key.Secret(), before)
	if s := c.session(); s.Locale != "ms" {
		t.Fatalf("locale %q, want ms", s.Locale)
	}
	c.wantDoneDeletesQR(key.Secret())
}

// TestResumeElsewhereShowsPrompt: a resume at a step without a QR code
// shows its prompt only and changes nothing.
func TestResumeElsewhereShowsPrompt(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := e.totpAccount("rina@example.com", 0)
	c := e.chat()
	c.toChooseProof(acc)
	before := c.session()
	wantIDs(t, c.send(bot.Event{Kind: bot.KindResume}), "newphone.choose_proof")
	if s := c.session(); s.ID != before.ID || s.State != newphone.StateChooseProof || s.Step != before.Step {
		t.Fatalf("state %q step %d, want %q step %d", s.State, s.Step, newphone.StateChooseProof, before.Step)
	}
}
