package telegram

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/go-telegram/bot/models"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/bot"
)

// decode round-trips a fake update through JSON into the library's type,
// as getUpdates and the webhook receive it.
func decode(t *testing.T, u fakebotapi.Update) *models.Update {
	t.Helper()
	b, err := json.Marshal(u)
	if err != nil {
		t.Fatal(err)
	}
	var m models.Update
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func TestRoute(t *testing.T) {
	fake := fakebotapi.New(fakebotapi.Options{})
	defer fake.Close()
	a := &Adapter{commands: []string{"start", "2fa", "cancel", "help"}}
	name := botName
	a.user.Store(&name)
	user := fakebotapi.User{ID: 7, FirstName: "U", LanguageCode: "ms"}
	priv, group := fakebotapi.PrivateChat(user), fakebotapi.GroupChat(-5, "G")
	inaccessible := fake.Callback(priv, user, 3, "x|n")
	inaccessible.CallbackQuery.Message.Date = 0 // older than 48 h: an InaccessibleMessage
	long := strings.Repeat("a", 65)
	text := func(s string) fakebotapi.Update { return fake.Text(priv, user, s) }

	tests := []struct {
		name    string
		u       fakebotapi.Update
		want    bot.Event // Conversation, UserID, UpdateID, Locale filled below
		link    bool
		ignored bool
		pressed bool
	}{
		{name: "start", u: text("/start"), want: bot.Event{Kind: bot.KindStart}},
		{name: "start payload", u: text("/start abc_DEF-123"), want: bot.Event{Kind: bot.KindStart, Data: "abc_DEF-123"}},
		{name: "start payload too long", u: text("/start " + long), want: bot.Event{Kind: bot.KindStart}},
		{name: "start payload bad chars", u: text("/start a+b"), want: bot.Event{Kind: bot.KindStart}},
		{name: "2fa", u: text("/2fa"), want: bot.Event{Kind: bot.KindCommand, Command: "2fa"}},
		{name: "cancel at bot", u: text("/CANCEL@GuidedFix_Bot"), want: bot.Event{Kind: bot.KindCommand, Command: "cancel"}},
		{name: "help arg", u: text("/help me"), want: bot.Event{Kind: bot.KindCommand, Command: "help", Text: "me"}},
		{name: "other bot", u: text("/start@other_bot"), want: bot.Event{Kind: bot.KindText, Text: "/start@other_bot"}},
		{name: "unknown command is text", u: text("/pa$$w0rd"), want: bot.Event{Kind: bot.KindText, Text: "/pa$$w0rd"}},
		{name: "text", u: text("hello _*[]"), want: bot.Event{Kind: bot.KindText, Text: "hello _*[]"}},
		{name: "sticker", u: fake.Sticker(priv, user), want: bot.Event{Kind: bot.KindUnsupported}},
		{name: "photo", u: fake.Photo(priv, user, "123456"), want: bot.Event{Kind: bot.KindUnsupported}},
		{name: "edited", u: fake.Edited(priv, user, 1, "123456"), want: bot.Event{Kind: bot.KindUnsupported}},
		{name: "callback", u: fake.Callback(priv, user, 2, "next|ab1"), want: bot.Event{Kind: bot.KindButton, Data: "next|ab1"}, pressed: true},
		{name: "callback inaccessible", u: inaccessible, want: bot.Event{Kind: bot.KindButton, Data: "x|n"}},
		{name: "group command", u: fake.Text(group, user, "/start"), link: true},
		{name: "group text", u: fake.Text(group, user, "hi"), ignored: true},
		{name: "group edited command", u: fake.Edited(group, user, 1, "/start"), ignored: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			u := decode(t, tc.u)
			w, ok := a.route(u)
			if ok == tc.ignored {
				t.Fatalf("handled %v, want %v", ok, !tc.ignored)
			}
			if tc.ignored {
				return
			}
			if w.link != tc.link {
				t.Fatalf("link %v", w.link)
			}
			if tc.link {
				if w.ev != nil || w.conv.ID != "-5" {
					t.Fatalf("group work %+v", w)
				}
				return
			}
			want := tc.want
			want.Conversation = bot.Conversation{Channel: "telegram", ID: "7"}
			want.UserID, want.Locale = "7", "ms"
			want.UpdateID = jsonNumber(tc.u.ID)
			switch {
			case tc.u.Message != nil:
				want.MessageID = jsonNumber(int64(tc.u.Message.ID))
			case tc.u.EditedMessage != nil:
				want.MessageID = jsonNumber(int64(tc.u.EditedMessage.ID))
			case tc.u.CallbackQuery != nil:
				want.MessageID = jsonNumber(int64(tc.u.CallbackQuery.Message.ID))
				if w.cb == nil || w.cb.id != tc.u.CallbackQuery.ID || (w.pressed != 0) != tc.pressed {
					t.Fatalf("callback %+v pressed %d", w.cb, w.pressed)
				}
			}
			if w.ev == nil || *w.ev != want {
				t.Fatalf("event %+v\nwant  %+v", w.ev, want)
			}
		})
	}
}

func jsonNumber(n int64) string { return strconv.FormatInt(n, 10) }

func TestSplitAndShorten(t *testing.T) {
	emoji := strings.Repeat("😀", 3000) // 6000 UTF-16 units
	parts := split(emoji, 4096)
	if len(parts) != 2 || utf16Len(parts[0]) != 4096 || parts[0]+parts[1] != emoji {
		t.Fatalf("emoji parts of %d and %d units", utf16Len(parts[0]), utf16Len(parts[1]))
	}
	words := strings.Repeat("abc ", 2000)
	parts = split(words, 4096)
	if len(parts) != 2 || !strings.HasSuffix(parts[0], " ") || strings.Join(parts, "") != words {
		t.Fatalf("word parts %d", len(parts))
	}
	if got := split("short", 4096); !slices.Equal(got, []string{"short"}) {
		t.Fatalf("split short = %q", got)
	}
	if got := shorten("abcdef", 4); got != "abc…" {
		t.Fatalf("shorten = %q", got)
	}
}

func TestLimiter(t *testing.T) {
	t0 := time.Unix(1000, 0)
	l := newLimiter(time.Second, 3, -1)
	var waits []time.Duration
	for range 5 {
		waits = append(waits, l.delay(t0, 1))
	}
	if want := []time.Duration{0, 0, 0, time.Second, 2 * time.Second}; !slices.Equal(waits, want) {
		t.Fatalf("per chat waits %v, want %v", waits, want)
	}
	if d := l.delay(t0, 2); d != 0 {
		t.Fatalf("another chat waits %v", d)
	}
	if d := l.delay(t0.Add(10*time.Second), 1); d != 0 {
		t.Fatalf("after a pause the chat waits %v", d)
	}

	g := newLimiter(-1, 3, 2) // 2 per second overall, burst 2
	waits = nil
	for i := range 4 {
		waits = append(waits, g.delay(t0, int64(i)))
	}
	if want := []time.Duration{0, 0, 500 * time.Millisecond, time.Second}; !slices.Equal(waits, want) {
		t.Fatalf("global waits %v, want %v", waits, want)
	}
}
