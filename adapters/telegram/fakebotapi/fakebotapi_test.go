package fakebotapi_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	tg "github.com/go-telegram/bot"
	"github.com/go-telegram/bot/models"

	"guidedfix/adapters/telegram/fakebotapi"
)

func newBot(t *testing.T, s *fakebotapi.Server) *tg.Bot {
	t.Helper()
	b, err := tg.New("1:T", tg.WithServerURL(s.URL), tg.WithSkipGetMe())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The fake rejects an empty copy_text as Telegram does
// (BUTTON_COPY_TEXT_INVALID); the library's keyboard type, since v1.27,
// no longer sends one.
func TestEmptyCopyTextIsRejected(t *testing.T) {
	s := fakebotapi.New(fakebotapi.Options{})
	defer s.Close()
	b := newBot(t, s)
	ctx := context.Background()
	_, err := b.SendMessage(ctx, &tg.SendMessageParams{ChatID: 5, Text: "x",
		ReplyMarkup: models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "A", CopyText: &models.CopyTextButton{}}}}}})
	if !errors.Is(err, tg.ErrorBadRequest) || !strings.Contains(err.Error(), "BUTTON_COPY_TEXT_INVALID") {
		t.Fatalf("err = %v", err)
	}
	if len(s.Messages(5)) != 0 {
		t.Fatal("a rejected message exists")
	}
	if _, err := b.SendMessage(ctx, &tg.SendMessageParams{ChatID: 5, Text: "x",
		ReplyMarkup: models.InlineKeyboardMarkup{InlineKeyboard: [][]models.InlineKeyboardButton{{{Text: "A", CallbackData: "a"}}}}}); err != nil {
		t.Fatalf("the library keyboard is refused: %v", err)
	}
}

func TestFailNextAndMessages(t *testing.T) {
	s := fakebotapi.New(fakebotapi.Options{})
	defer s.Close()
	b := newBot(t, s)
	ctx := context.Background()
	s.FailNext("sendMessage", 429, "Too Many Requests: retry after 3", 3)
	_, err := b.SendMessage(ctx, &tg.SendMessageParams{ChatID: 5, Text: "x"})
	var tooMany *tg.TooManyRequestsError
	if !errors.As(err, &tooMany) || tooMany.RetryAfter != 3 {
		t.Fatalf("err = %v", err)
	}
	m, err := b.SendMessage(ctx, &tg.SendMessageParams{ChatID: 5, Text: "x", ProtectContent: true})
	if err != nil || m.ID != 1 || !s.Exists(5, 1) || !s.Messages(5)[0].HasProtectedContent {
		t.Fatalf("send: %v %+v", err, m)
	}
	if _, err := b.DeleteMessage(ctx, &tg.DeleteMessageParams{ChatID: 5, MessageID: 1}); err != nil || s.Exists(5, 1) {
		t.Fatalf("delete: %v", err)
	}
	if _, err := b.DeleteMessage(ctx, &tg.DeleteMessageParams{ChatID: 5, MessageID: 1}); !strings.Contains(errString(err), "message to delete not found") {
		t.Fatalf("second delete: %v", err)
	}
	if n := len(s.Calls("sendMessage")); n != 2 {
		t.Fatalf("%d sendMessage calls recorded", n)
	}
}

func TestGetUpdatesIsHeldUntilInject(t *testing.T) {
	s := fakebotapi.New(fakebotapi.Options{})
	defer s.Close()
	got := make(chan int64, 1)
	b, err := tg.New("1:T", tg.WithServerURL(s.URL), tg.WithSkipGetMe(),
		tg.WithDefaultHandler(func(_ context.Context, _ *tg.Bot, u *models.Update) { got <- u.ID }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go b.Start(ctx)
	u := s.Text(fakebotapi.PrivateChat(fakebotapi.User{ID: 9}), fakebotapi.User{ID: 9}, "/start")
	s.Inject(u)
	select {
	case id := <-got:
		if id != u.ID {
			t.Fatalf("update %d", id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("update not delivered")
	}
	// The poll that returned it asked for a 59 s long poll.
	cs, err := s.WaitCalls(ctx, "getUpdates", 1)
	if err != nil || len(cs) != 1 || cs[0].Fields["timeout"] != "59" {
		t.Fatalf("getUpdates calls %+v: %v", cs, err)
	}
}

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// deleteMessages deletes the messages it finds, skips the others, and
// fails only when it found none.
func TestDeleteMessages(t *testing.T) {
	s := fakebotapi.New(fakebotapi.Options{})
	defer s.Close()
	b := newBot(t, s)
	ctx := context.Background()
	for range 3 {
		if _, err := b.SendMessage(ctx, &tg.SendMessageParams{ChatID: 5, Text: "x"}); err != nil {
			t.Fatal(err)
		}
	}
	if ok, err := b.DeleteMessages(ctx, &tg.DeleteMessagesParams{ChatID: 5, MessageIDs: []int{1, 3, 99}}); err != nil || !ok {
		t.Fatalf("deleteMessages: %v %v", ok, err)
	}
	if s.Exists(5, 1) || !s.Exists(5, 2) || s.Exists(5, 3) {
		t.Fatalf("messages left: %+v", s.Messages(5))
	}
	if _, err := b.DeleteMessages(ctx, &tg.DeleteMessagesParams{ChatID: 5, MessageIDs: []int{1, 3}}); !strings.Contains(errString(err), "message to delete not found") {
		t.Fatalf("deleting gone messages: %v", err)
	}
	if _, err := b.DeleteMessages(ctx, &tg.DeleteMessagesParams{ChatID: 5, MessageIDs: make([]int, 101)}); !errors.Is(err, tg.ErrorBadRequest) {
		t.Fatalf("101 ids: %v", err)
	}
}
