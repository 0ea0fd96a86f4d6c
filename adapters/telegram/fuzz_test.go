package telegram

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/go-telegram/bot/models"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/bot"
)

// FuzzDecodeUpdate feeds arbitrary webhook bodies to the update decoder:
// the JSON decoding into go-telegram/bot's Update, route, and the webhook
// handler of an adapter that has stopped (so no turn runs). No input may
// panic; a routed update keeps to the adapter's rules: events only from
// private chats, with the update's id, a numeric chat and user, a known
// kind, a command only from the list, a start payload only when it is a
// valid deep-link parameter; the handler answers 400 to a malformed body
// and 200 or 503 to any other.
func FuzzDecodeUpdate(f *testing.F) {
	fake := fakebotapi.New(fakebotapi.Options{})
	defer fake.Close()
	user := fakebotapi.User{ID: 7, FirstName: "U", LanguageCode: "en"}
	priv, group := fakebotapi.PrivateChat(user), fakebotapi.GroupChat(-5, "G")
	add := func(u fakebotapi.Update) {
		b, _ := json.Marshal(u)
		f.Add(b)
	}
	add(fake.Text(priv, user, "/start"))
	add(fake.Text(priv, user, "/start abc_DEF-123"))
	add(fake.Text(priv, user, "/help@guidedfix_bot now"))
	add(fake.Text(priv, user, "hunter2"))
	add(fake.Text(group, user, "/2fa"))
	add(fake.Sticker(priv, user))
	add(fake.Photo(priv, user, "123456"))
	add(fake.Edited(priv, user, 3, "654321"))
	add(fake.Callback(priv, user, 2, "disable|abc1"))
	old := fake.Callback(priv, user, 2, "okay|abc9")
	old.CallbackQuery.Message.Date = 0 // an InaccessibleMessage
	add(old)
	for _, s := range []string{`{}`, `{"update_id":1}`, `[]`, `null`, `{"update_id":1,"message":{}}`,
		`{"update_id":2,"message":{"message_id":1,"date":1,"chat":{"id":9,"type":"private"},"text":"/start"}}`,
		`{"update_id":3,"callback_query":{"id":"q","from":{"id":1},"message":{"message_id":1,"date":0,"chat":{"id":1,"type":"private"}}}}`,
		`{"update_id":4,"callback_query":{"id":"q","from":{"id":1},"data":"x"}}`,
		`{"update_id":5,"message":{"message_id":1,"date":1,"chat":{"id":1,"type":"channel"},"from":{"id":1,"is_bot":true},"text":"/start"}}`} {
		f.Add([]byte(s))
	}
	a := &Adapter{opts: Options{WebhookSecret: testSecret}, closed: true, commands: []string{"start", "2fa", "cancel", "help"}}
	name := botName
	a.user.Store(&name)
	handler := a.WebhookHandler()

	f.Fuzz(func(t *testing.T, body []byte) {
		var u models.Update
		if err := json.NewDecoder(bytes.NewReader(body)).Decode(&u); err == nil {
			checkRoute(t, a, &u)
		}
		req := httptest.NewRequest(http.MethodPost, "/telegram", bytes.NewReader(body))
		req.Header.Set(SecretHeader, testSecret)
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if c := rec.Code; c != 200 && c != 400 && c != 503 {
			t.Fatalf("webhook answered %d to %q", c, body)
		}
	})
}

func checkRoute(t *testing.T, a *Adapter, u *models.Update) {
	t.Helper()
	w, ok := a.route(u)
	if !ok {
		return
	}
	ev := w.ev
	if ev == nil && !w.link {
		if w.cb == nil {
			t.Fatal("an update routed to nothing")
		}
		return // a callback query only answered (an inline message's button)
	}
	if w.conv.Channel != Channel {
		t.Fatalf("conversation %v", w.conv)
	}
	if _, err := strconv.ParseInt(w.conv.ID, 10, 64); err != nil {
		t.Fatalf("chat id %q", w.conv.ID)
	}
	if ev == nil {
		return
	}
	if w.link {
		t.Fatal("an event and a group link for one update")
	}
	if ev.Conversation != w.conv || ev.UpdateID != strconv.FormatInt(u.ID, 10) {
		t.Fatalf("event %v for conversation %v, update %d", ev, w.conv, u.ID)
	}
	if _, err := strconv.ParseInt(ev.UserID, 10, 64); err != nil {
		t.Fatalf("user id %q", ev.UserID)
	}
	var chat models.Chat
	switch {
	case u.Message != nil:
		chat = u.Message.Chat
	case u.EditedMessage != nil:
		chat = u.EditedMessage.Chat
	case u.CallbackQuery != nil && u.CallbackQuery.Message.Message != nil:
		chat = u.CallbackQuery.Message.Message.Chat
	case u.CallbackQuery != nil && u.CallbackQuery.Message.InaccessibleMessage != nil:
		chat = u.CallbackQuery.Message.InaccessibleMessage.Chat
	}
	if chat.Type != models.ChatTypePrivate {
		t.Fatalf("an event from a %q chat", chat.Type)
	}
	switch ev.Kind {
	case bot.KindText, bot.KindUnsupported, bot.KindButton:
	case bot.KindStart:
		if ev.Data != "" && !payloadRe.MatchString(ev.Data) {
			t.Fatalf("start payload %q", ev.Data)
		}
	case bot.KindCommand:
		known := false
		for _, c := range a.commands {
			known = known || c == ev.Command
		}
		if !known || ev.Command == "start" {
			t.Fatalf("command %q", ev.Command)
		}
	default:
		t.Fatalf("kind %q", ev.Kind)
	}
	if ev.Kind == bot.KindText && ev.Text == "" {
		t.Fatal("an empty text event")
	}
}
