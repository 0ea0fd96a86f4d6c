package telegram

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/go-telegram/bot/models"

	"guidedfix/bot"
	"guidedfix/internal/testkit/scriptflow"
)

// TestPollingSkipsUndecodableUpdate: an update the client library cannot
// decode (a forward_origin without its type, as a newer Bot API may send)
// between two normal ones: both normal ones are handled, getUpdates
// confirms all three, nothing stays held, and the log does not quote the
// skipped update's text.
func TestPollingSkipsUndecodableUpdate(t *testing.T) {
	env, fake := newScriptEnv(t)
	h := start(t, env, fake, false, func(o *Options) { o.Inbox = env.Store })
	const secretish = "Hunter2-typed-password"
	first := fake.Text(h.chat, h.user, "/start")
	bad := fake.Undecodable(h.chat, h.user, secretish)
	third := fake.Text(h.chat, h.user, "/help")
	fake.Inject(first, bad, third)
	h.waitDone(first.ID)
	h.waitDone(third.ID)
	waitOffset(t, fake, third.ID)
	if got := fake.Confirmed(); got != third.ID+1 {
		t.Fatalf("confirmed offset %d, want %d", got, third.ID+1)
	}
	cs := h.want("sendMessage", "sendMessage")
	// The greeting answers /start, the help /help.
	wantText(t, cs[0], h.msg(scriptflow.MsgHello, nil))
	wantText(t, cs[1], h.msg(scriptflow.MsgHelp, nil))
	h.wantState(scriptflow.StateGreeted)
	if got := held(t, env.Store); len(got) != 0 {
		t.Fatalf("held %v, want none", got)
	}
	logs := env.Log.String()
	if strings.Contains(logs, secretish) {
		t.Fatalf("the log quotes the skipped update:\n%s", logs)
	}
	if !strings.Contains(logs, "could not be decoded") {
		t.Fatalf("the log does not report the skipped update:\n%s", logs)
	}
}

// TestKeyboardJSON pins the inline keyboard's wire form: only text and
// callback_data per button (go-telegram/bot before v1.27 also sent an
// empty copy_text, which Telegram rejects).
func TestKeyboardJSON(t *testing.T) {
	kb := keyboard([]bot.Button{{Label: "Disable 2FA", Data: "disable|ab1"}, {Label: "Cancel", Data: "cancel|ab1"}})
	raw, err := jsonMarshal(kb)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"inline_keyboard":[[{"text":"Disable 2FA","callback_data":"disable|ab1"}],[{"text":"Cancel","callback_data":"cancel|ab1"}]]}`
	if string(raw) != want {
		t.Fatalf("keyboard JSON\n%s\nwant\n%s", raw, want)
	}
	if keyboard(nil) != nil {
		t.Fatal("no buttons gave a keyboard")
	}
	var _ models.ReplyMarkup = kb
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
