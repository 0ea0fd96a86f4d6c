package newphone_test

import (
	"strings"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/flows/newphone"
)

// TestShowQRAgainKeepsSecret: "Show the QR code again" at the new-code
// step deletes the QR and key messages and sends them again with the
// same secret, so an entry already added keeps working; the state does
// not change and that entry's code then completes the move.
func TestShowQRAgainKeepsSecret(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := e.totpAccount("gina@example.com", 0)
	c := e.chat()
	c.toChooseProof(acc)
	key := c.toNewCode(acc)
	r := c.press("show_qr")
	wantIDs(t, r, "delete:qr", "delete:key", "newphone.qr_caption", "newphone.manual_key", "newphone.ask_new_code")
	if !r[2].Protected || !r[2].Sensitive || r[2].Ref != "qr" || !r[3].Protected || !r[3].Sensitive || r[3].Ref != "key" {
		t.Fatalf("QR / key shown again not protected and sensitive: %+v %+v", r[2].LogValue(), r[3].LogValue())
	}
	if again := e.keyFromQR(r[2].Image); again.Secret() != key.Secret() {
		t.Fatal("the QR code shown again has another secret")
	}
	if got := buttonData(r[4]); len(got) != 3 || got[0] != "verify" || got[1] != "show_qr" || got[2] != "cancel" {
		t.Fatalf("new-code prompt buttons %v, want verify, show_qr, cancel", got)
	}
	c.wantState(newphone.StateAwaitingNewCode, false)
	e.clock.Advance(30 * time.Second)
	wantIDs(t, c.text(e.codeOf(key.Secret(), 0)), "delete:engine.delete_user_secret", "delete:qr", "delete:key", "newphone.done")
	c.wantState(newphone.StateDone, true)
}

// TestShowQRAgainVoidReplacement: a replacement voided meanwhile (the
// same account began another one in a second conversation) is not shown
// again: the user is told to delete its entry and gets a new QR code
// with another secret, while the grant lasts.
func TestShowQRAgainVoidReplacement(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := e.totpAccount("hana@example.com", 0)
	c := e.chat()
	c.toChooseProof(acc)
	key := c.toNewCode(acc)
	c2 := e.chatIn(bot.Conversation{Channel: "test", ID: "200"}, 1000, len(e.rec.Replies))
	e.clock.Advance(30 * time.Second)
	c2.toChooseProof(acc)
	key2 := c2.toNewCode(acc)
	c.Seen = len(e.rec.Replies)
	r := c.press("show_qr")
	wantIDs(t, r, "delete:qr", "delete:key", "newphone.enrollment_void", "newphone.qr_caption", "newphone.manual_key", "newphone.ask_new_code")
	if k := e.keyFromQR(r[3].Image); k.Secret() == key.Secret() || k.Secret() == key2.Secret() {
		t.Fatal("the renewed QR code repeats a void secret")
	}
	c.wantState(newphone.StateAwaitingNewCode, false)
}

// TestShowQRAgainAfterGrantExpired: once the replacement and the grant
// have expired, "Show the QR code again" deletes the dead QR code and
// asks for the password again.
func TestShowQRAgainAfterGrantExpired(t *testing.T) {
	e := newEnv(t, envOptions{})
	acc := e.totpAccount("ines@example.com", 0)
	c := e.chat()
	c.toChooseProof(acc)
	c.toNewCode(acc)
	e.clock.Advance(11 * time.Minute)
	wantIDs(t, c.press("show_qr"), "delete:qr", "delete:key", "newphone.enrollment_void", "newphone.reverify", "newphone.ask_password")
	c.wantState(newphone.StateAwaitingPassword, false)
}

// buttonData returns the actions (callback data before the step) of r's buttons, in order.
func buttonData(r bot.Reply) []string {
	var out []string
	for _, b := range r.Buttons {
		action, _, _ := strings.Cut(b.Data, "|")
		out = append(out, action)
	}
	return out
}
