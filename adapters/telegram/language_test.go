package telegram

import (
	"context"
	"testing"

	"guidedfix/bot"
)

// TestLanguageButtonsWithoutSession: /language with no flow running sends
// one message with the buttons English and Bahasa Melayu (callback data
// lang.en, lang.ms: no step nonce); the press is answered
// (answerCallbackQuery), its keyboard removed, the choice confirmed in
// Malay and stored for the Telegram user id.
func TestLanguageButtonsWithoutSession(t *testing.T) {
	h := newHarness(t, false)
	h.calls()
	h.text("/language")
	cs := h.want("sendMessage")
	if got, want := cs[0].Fields["reply_markup"], `{"inline_keyboard":[[{"text":"English","callback_data":"lang.en"}],[{"text":"Bahasa Melayu","callback_data":"lang.ms"}]]}`; got != want {
		t.Fatalf("reply_markup %s\nwant %s", got, want)
	}
	wantText(t, cs[0], h.env.Engine.Text("en", Channel, bot.MsgLanguageChoose, nil))
	id, data := h.langButton("lang.ms")
	h.deliver(h.fake.Callback(h.chat, h.user, id, data))
	cs = h.want("answerCallbackQuery", "editMessageReplyMarkup", "sendMessage")
	wantText(t, cs[2], h.env.Engine.Text("ms", Channel, bot.MsgLanguageSet, nil))
	if tag, err := h.env.Store.UserLocale(context.Background(), Channel, "4242"); err != nil || tag != "ms" {
		t.Fatalf("stored language %q, %v", tag, err)
	}
	h.noSession(h.conv())
}
