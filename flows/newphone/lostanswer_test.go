package newphone_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
	"guidedfix/internal/portal"
)

// lossyCore commits the first call of op in the real core and then loses
// its answer, as a crash or a timeout between the call and the next save
// would.
type lossyCore struct {
	newphone.Core
	op   string
	lost bool
}

func (c *lossyCore) lose(op string, err error) error {
	if err == nil && op == c.op && !c.lost {
		c.lost = true
		return context.DeadlineExceeded
	}
	return err
}

func (c *lossyCore) ElevateWithRecoveryCode(ctx context.Context, grant, code, key string) (portal.RecoveryElevation, error) {
	el, err := c.Core.ElevateWithRecoveryCode(ctx, grant, code, key)
	if err = c.lose("recovery", err); err != nil {
		return portal.RecoveryElevation{}, err
	}
	return el, nil
}

func (c *lossyCore) ConfirmTOTPReplacement(ctx context.Context, id, code, key string) error {
	return c.lose("confirm", c.Core.ConfirmTOTPReplacement(ctx, id, code, key))
}

// TestRecoveryAnswerLost: the core spent the recovery code but its answer
// (the new codes) was lost. The platform redelivers the update; the turn
// resumes under the same key and shows a fresh set that replaced the
// unseen one: one code spent, one e-mail, and the codes shown work.
func TestRecoveryAnswerLost(t *testing.T) {
	lossy := &lossyCore{op: "recovery"}
	e := newEnv(t, envOptions{wrap: func(c newphone.Core) newphone.Core { lossy.Core = c; return lossy }})
	acc := e.totpAccount("kim@example.com", 2)
	c := e.chat()
	c.Lossy = true
	c.toChooseProof(acc)
	c.press("lost_old")
	typed := bot.Event{Kind: bot.KindText, Text: acc.codes[0], MessageID: "m-code"}
	c.send(typed)
	if !lossy.lost {
		t.Fatal("the answer was not lost")
	}
	c.wantState(newphone.StateVerifyingRecovery, false)
	mails := len(e.mails(acc.email))
	r := c.redeliver(typed)
	var shown []bot.Reply
	for _, rep := range r {
		if rep.ID == "newphone.recovery_codes" {
			shown = append(shown, rep)
		}
	}
	if len(shown) != 1 {
		t.Fatalf("replies %v, want the new recovery codes once", ids(r))
	}
	codes := recoveryCodes(shown[0].Text)
	e.secret(codes...)
	c.wantState(newphone.StateShowingRecoveryCodes, false)
	if n := len(e.mails(acc.email)); n != mails {
		t.Fatalf("%d e-mails after the resume, want %d (no second notice)", n, mails)
	}
	used := 0
	for _, a := range e.audit(acc.email) {
		if a == "recovery_code_used" {
			used++
		}
	}
	if used != 1 {
		t.Fatalf("%d recovery codes spent, want 1", used)
	}
	g, err := e.core.VerifyPassword(context.Background(), e.accountID(acc.email), acc.password)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.core.ElevateWithRecoveryCode(context.Background(), g.Token, codes[9], "check"); err != nil {
		t.Fatalf("a shown code does not work: %v", err)
	}
}

// TestReplaceAnswerLost: the core replaced the secret but the answer was
// lost; the redelivered update finishes the flow under the same key
// without a second e-mail.
func TestReplaceAnswerLost(t *testing.T) {
	lossy := &lossyCore{op: "confirm"}
	e := newEnv(t, envOptions{wrap: func(c newphone.Core) newphone.Core { lossy.Core = c; return lossy }})
	acc := e.totpAccount("lee@example.com", 0)
	c := e.chat()
	c.Lossy = true
	c.toChooseProof(acc)
	c.press("have_old")
	r := c.text(e.codeOf(acc.secret, 0))
	key := e.keyFromQR(r[1].Image)
	typed := bot.Event{Kind: bot.KindText, Text: e.codeOf(key.Secret(), 0), MessageID: "m-new"}
	c.send(typed)
	c.wantState(newphone.StateReplacing, false)
	mails := len(e.mails(acc.email))
	r = c.redeliver(typed)
	if got := strings.Join(ids(r), ","); !strings.Contains(got, "newphone.done") {
		t.Fatalf("replies %s, want done", got)
	}
	c.wantState(newphone.StateDone, true)
	if n := len(e.mails(acc.email)); n != mails {
		t.Fatalf("%d e-mails, want %d", n, mails)
	}
	var bad *portal.BadCodeError
	e.clock.Advance(30e9)
	if err := e.proves(acc.email, e.codeOf(acc.secret, 0)); !errors.As(err, &bad) {
		t.Fatalf("old app: %v", err)
	}
}
