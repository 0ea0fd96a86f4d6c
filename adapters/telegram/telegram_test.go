package telegram

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/qr"
	"guidedfix/internal/testkit"
	"guidedfix/internal/testkit/scriptflow"
)

func TestHappyPathLongPolling(t *testing.T) {
	h := newHarness(t, false)
	happyPath(t, h)
	cmds := h.fake.Calls("setMyCommands")
	var got []struct{ Command, Description string }
	if len(cmds) != 2 || json.Unmarshal([]byte(cmds[0].Fields["commands"]), &got) != nil || cmds[0].Fields["language_code"] != "" {
		t.Fatalf("setMyCommands calls %+v", cmds)
	}
	var names []string
	for _, c := range got {
		names = append(names, c.Command)
	}
	if !slices.Equal(names, []string{"start", "2fa", "cancel", "help", "language"}) || got[0].Description == "" {
		t.Fatalf("commands %+v", got)
	}
	// Each description comes from the flow's descriptor: /start by the
	// default flow's title, /2fa by its command's description.
	cat := h.env.Engine.Catalog()
	d := h.env.Engine.Flows()[0]
	if got[0].Description != cat.Text("", d.Title, nil) || got[1].Description != cat.Text("", d.Commands[0].Description, nil) ||
		got[2].Description != cat.Text("", "telegram.command.cancel", nil) {
		t.Fatalf("descriptions %+v", got)
	}
	// The Malay list, for users whose language_code is "ms".
	var ms []struct{ Command, Description string }
	if cmds[1].Fields["language_code"] != "ms" || json.Unmarshal([]byte(cmds[1].Fields["commands"]), &ms) != nil || len(ms) != len(got) {
		t.Fatalf("second setMyCommands call %+v", cmds[1].Fields)
	}
	if want := h.a.eng.Catalog().Text("ms", "telegram.command.language", nil); ms[4].Command != "language" || ms[4].Description != want || want == got[4].Description {
		t.Fatalf("Malay commands %+v", ms)
	}
	if n := len(h.fake.Calls("deleteWebhook")); n != 1 {
		t.Fatalf("%d deleteWebhook calls, want 1 before long polling", n)
	}
}

func TestHappyPathWebhook(t *testing.T) {
	h := newHarness(t, true)
	sw := h.fake.Calls("setWebhook")
	if len(sw) != 1 || sw[0].Fields["url"] != "https://bot.example.com/telegram" || sw[0].Fields["secret_token"] != testSecret ||
		sw[0].Fields["allowed_updates"] != `["message","edited_message","callback_query","my_chat_member"]` {
		t.Fatalf("setWebhook calls %+v", sw)
	}
	happyPath(t, h)
	if n := len(h.fake.Calls("getUpdates")); n != 0 {
		t.Fatalf("%d getUpdates calls in webhook mode", n)
	}
}

// happyPath runs the whole guided change for an SMS account and checks
// what reached the Bot API. A 429 on sendPhoto is retried after its
// retry_after.
func happyPath(t *testing.T, h *harness) {
	env, chat := h.env, h.chat.ID
	pw := env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	h.calls()

	h.text("/start")
	cs := h.want("sendMessage")
	wantText(t, cs[0], h.welcome())

	h.text("alice@example.com")
	wantText(t, h.want("sendMessage")[0], h.msg("totp.ask_password", nil))

	pwMsg := h.text(pw)
	cs = h.want("deleteMessage", "sendMessage")
	if cs[0].Fields["chat_id"] != strconv.FormatInt(chat, 10) || cs[0].Fields["message_id"] != strconv.Itoa(pwMsg.Message.ID) {
		t.Fatalf("deleteMessage %v, want the password message %d", cs[0].Fields, pwMsg.Message.ID)
	}
	h.wantState(totpswitch.StateAwaitingSMSCode)

	smsMsg := h.text(env.LastSMSCode(t))
	cs = h.want("deleteMessage", "sendMessage")
	if cs[0].Fields["message_id"] != strconv.Itoa(smsMsg.Message.ID) {
		t.Fatalf("deleteMessage %v, want the SMS code message %d", cs[0].Fields, smsMsg.Message.ID)
	}
	nonce := env.Engine.Nonce(h.session())
	wantMarkup := `{"inline_keyboard":[[{"text":"Disable 2FA","callback_data":"disable|` + nonce +
		`"}],[{"text":"Cancel","callback_data":"cancel|` + nonce + `"}]]}`
	if got := cs[1].Fields["reply_markup"]; got != wantMarkup {
		t.Fatalf("reply_markup\n%s\nwant\n%s", got, wantMarkup)
	}
	wantText(t, cs[1], h.msg("totp.confirm_disable", nil))

	// A button's turn edits the pressed message into its replies (issue
	// 14): "SMS 2FA is disabled" and the next step in one.
	pressed := h.press("disable")
	cs = h.want("answerCallbackQuery", "editMessageText")
	if cs[0].Fields["callback_query_id"] != pressed.CallbackQuery.ID || cs[0].Fields["text"] != "" {
		t.Fatalf("answerCallbackQuery %v", cs[0].Fields)
	}
	if cs[1].Fields["message_id"] != strconv.Itoa(pressed.CallbackQuery.Message.ID) {
		t.Fatalf("editMessageText %v: want the pressed message edited", cs[1].Fields)
	}
	wantText(t, cs[1], h.msg("totp.disabled", nil)+"\n\n"+h.msg("totp.offer_setup", nil))
	if a, _ := env.Core.LookupAccount(context.Background(), "alice@example.com"); a.Method != portal.MethodNone {
		t.Fatalf("after Disable 2FA the method is %q", a.Method)
	}

	h.press("setup")
	wantText(t, h.want("answerCallbackQuery", "editMessageText")[1], h.msg("totp.choose_method", nil))

	// A photo cannot replace a text message: the pressed keyboard goes,
	// then the QR code.
	h.fake.FailNext("sendPhoto", 429, "Too Many Requests: retry after 1", 1)
	h.press("app")
	cs = h.want("answerCallbackQuery", "editMessageReplyMarkup", "sendPhoto", "sendPhoto")
	if cs[2].ErrorCode != 429 || cs[3].ErrorCode != 0 {
		t.Fatalf("sendPhoto error codes %d, %d; want 429 then success", cs[2].ErrorCode, cs[3].ErrorCode)
	}
	if got := h.slept(); !slices.Equal(got, []time.Duration{time.Second}) {
		t.Fatalf("slept %v, want exactly retry_after = [1s]", got)
	}
	photo := cs[3]
	key := env.KeyFromQR(t, photo.Files["photo"].Data)
	if key.AccountName() != "alice@example.com" {
		t.Fatalf("QR for %q", key.AccountName())
	}
	// The caption carries the instructions, the manual key and the code
	// request, in one protected message.
	wantCaption := h.msg("totp.qr_caption", nil) + "\n\n" +
		h.msg("totp.manual_key", map[string]any{"Label": key.AccountName(), "Key": qr.ManualKey(key.Secret())}) + "\n\n" +
		h.msg("totp.ask_totp", map[string]any{"Issuer": key.Issuer()})
	if photo.Fields["protect_content"] != "true" || photo.Files["photo"].Name != "qr.png" || photo.Fields["caption"] != wantCaption {
		t.Fatalf("sendPhoto fields %v file %q\nwant caption %q", photo.Fields, photo.Files["photo"].Name, wantCaption)
	}
	// The key is copied by a copy_text button (protect_content keeps the
	// caption from being selected), made at delivery, never stored.
	nonce = env.Engine.Nonce(h.session())
	wantMarkup = `{"inline_keyboard":[[{"text":"Copy the key","copy_text":{"text":"` + key.Secret() + `"}}],` +
		`[{"text":"Verify","callback_data":"verify|` + nonce + `"}],[{"text":"Show the QR code again","callback_data":"show_qr|` + nonce + `"}],` +
		`[{"text":"Cancel","callback_data":"cancel|` + nonce + `"}]]}`
	if got := photo.Fields["reply_markup"]; got != wantMarkup {
		t.Fatalf("QR reply_markup\n%s\nwant\n%s", got, wantMarkup)
	}
	if raw, err := os.ReadFile(env.Dir + "/sessions.db"); err != nil || strings.Contains(string(raw), key.Secret()) {
		t.Fatalf("sessions.db holds the TOTP secret (%v)", err)
	}
	qrID := photo.MessageID()
	if !h.fake.Exists(chat, qrID) {
		t.Fatal("QR message missing")
	}

	codeMsg := h.text(env.TOTPCode(t, key, 0))
	// The typed code and the QR code go in one deleteMessages call.
	cs = h.want("deleteMessages", "sendMessage")
	if got, want := cs[0].Fields["message_ids"], fmt.Sprintf("[%d,%d]", codeMsg.Message.ID, qrID); got != want {
		t.Fatalf("deleteMessages %v, want code, QR %v", got, want)
	}
	wantText(t, cs[1], h.msg("totp.activated", nil))

	h.press("okay")
	wantText(t, h.want("answerCallbackQuery", "editMessageText")[1], h.msg("totp.done", nil))
	if s := h.session(); s.State != totpswitch.StateDone || !s.Done {
		t.Fatalf("final state %q done %v", s.State, s.Done)
	}
	if a, _ := env.Core.LookupAccount(context.Background(), "alice@example.com"); a.Method != portal.MethodTOTP {
		t.Fatalf("final method %q, want TOTP", a.Method)
	}

	// Nothing sensitive is left in the chat.
	for _, id := range []int{pwMsg.Message.ID, smsMsg.Message.ID, codeMsg.Message.ID, qrID} {
		if h.fake.Exists(chat, id) {
			t.Errorf("message %d is still in the chat", id)
		}
	}
	for _, m := range h.fake.Messages(chat) {
		if m.HasProtectedContent || len(m.Photo) > 0 || strings.Contains(m.Text, key.Secret()[:8]) {
			t.Errorf("sensitive message %d left in the chat", m.ID)
		}
	}
	for _, c := range h.fake.Calls() {
		if _, ok := c.Fields["parse_mode"]; ok {
			t.Errorf("%s sent parse_mode", c.Method)
		}
		if c.Method != "sendPhoto" && strings.Contains(c.Fields["reply_markup"], "copy_text") {
			t.Errorf("%s sent copy_text", c.Method)
		}
	}
}

// toSMSCode runs the conversation up to the SMS code prompt.
func toSMSCode(t *testing.T, h *harness) {
	pw := h.env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	h.text("/start")
	h.text("alice@example.com")
	h.text(pw)
	h.wantState(totpswitch.StateAwaitingSMSCode)
	h.calls()
}

func TestBlockedUserParksSession(t *testing.T) {
	h := newScriptHarness(t, false)
	h.text("/start")
	h.calls()
	h.fake.FailNext("sendMessage", 403, "Forbidden: bot was blocked by the user", 0)
	h.text("hello")
	if cs := h.want("sendMessage"); cs[0].ErrorCode != 403 {
		t.Fatalf("error code %d", cs[0].ErrorCode)
	}
	if s := h.session(); !s.Parked || s.State != scriptflow.StateGreeted {
		t.Fatalf("parked %v state %q; want parked at %s", s.Parked, s.State, scriptflow.StateGreeted)
	}
	if got := h.slept(); len(got) != 0 {
		t.Fatalf("a 403 was retried: slept %v", got)
	}
}

func TestDuplicateUpdateProcessedOnceAcrossRestart(t *testing.T) {
	env, fake := newScriptEnv(t)
	h := start(t, env, fake, false)
	u := fake.Text(h.chat, h.user, "/start")
	h.deliver(u, u) // one getUpdates batch holding the update twice
	h.want("sendMessage")
	before := h.session()
	h.stop()

	// A new adapter remembers nothing; the engine's store does.
	h2 := start(t, env, fake, false)
	h2.deliver(u)
	h2.want()
	if after := h2.session(); after.Version != before.Version || after.ID != before.ID {
		t.Fatalf("session changed: version %d → %d", before.Version, after.Version)
	}
}

func TestWebhookSecretAndRedelivery(t *testing.T) {
	h := newScriptHarness(t, true)
	u := h.fake.Text(h.chat, h.user, "/start")
	for _, secret := range []string{"", "wrong", testSecret + "x", strings.ToUpper(testSecret)} {
		if code := h.post(u, secret); code != 401 {
			t.Fatalf("secret %q: status %d, want 401", secret, code)
		}
	}
	h.want()
	h.noSession(h.conv())

	h.deliver(u)
	h.want("sendMessage")
	before := h.session()
	h.deliver(u) // Telegram redelivers: 200, nothing again
	h.want()
	if after := h.session(); after.Version != before.Version {
		t.Fatalf("redelivery changed the session: version %d → %d", before.Version, after.Version)
	}
}

func TestWebhookRejectsOtherMethods(t *testing.T) {
	h := newHarness(t, true)
	resp, err := http.Get(h.hook)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 405 {
		t.Fatalf("GET answered %d, want 405", resp.StatusCode)
	}
}

func TestStaleCallbackAndDoubleTap(t *testing.T) {
	h := newScriptHarness(t, false)
	h.text("/start")
	h.calls()
	msgID, data := h.button(scriptflow.ActionGo)
	stale := h.msg("engine.stale_button", nil)

	// A double tap: two callback queries for the same button in one batch.
	// Both are answered on receipt, before either turn ran, so neither
	// answer can tell yet; the second turn finds the button stale and says
	// so in the chat.
	u1 := h.fake.Callback(h.chat, h.user, msgID, data)
	u2 := h.fake.Callback(h.chat, h.user, msgID, data)
	h.deliver(u1, u2)
	cs := h.calls()
	var answers, others []fakebotapi.Call
	for _, c := range cs {
		if c.Method == "answerCallbackQuery" {
			answers = append(answers, c)
		} else {
			others = append(others, c)
		}
	}
	// The two answers run in parallel: either may come first.
	ids := map[string]string{}
	for _, c := range answers {
		ids[c.Fields["callback_query_id"]] = c.Fields["text"]
	}
	if len(answers) != 2 || cs[0].Method != "answerCallbackQuery" || len(ids) != 2 ||
		ids[u1.CallbackQuery.ID] != "" || ids[u2.CallbackQuery.ID] != "" {
		t.Fatalf("answers %v", answers)
	}
	var methods []string
	for _, c := range others {
		methods = append(methods, c.Method)
	}
	// The first press: the keyboard goes, the message is edited (the edit
	// brings the next step's keyboard); the second finds the step gone.
	if !slices.Equal(methods, []string{"editMessageReplyMarkup", "editMessageText", "sendMessage"}) {
		t.Fatalf("calls after the answers %q", methods)
	}
	if others[0].Fields["message_id"] != strconv.Itoa(msgID) || others[1].Fields["message_id"] != strconv.Itoa(msgID) {
		t.Fatalf("the press changed messages %s and %s, want %d", others[0].Fields["message_id"], others[1].Fields["message_id"], msgID)
	}
	wantText(t, others[2], stale)
	if s := h.session(); s.State != scriptflow.StateEdited || s.Step != 2 {
		t.Fatalf("state %q step %d after a double tap, want %s step 2 (one step, not two)", s.State, s.Step, scriptflow.StateEdited)
	}

	// The same button once the flow moved on: answered, nothing changes.
	before := h.session()
	u3 := h.fake.Callback(h.chat, h.user, msgID, data)
	h.deliver(u3)
	cs = h.want("answerCallbackQuery")
	if cs[0].Fields["callback_query_id"] != u3.CallbackQuery.ID || cs[0].Fields["text"] != stale {
		t.Fatalf("stale press answered %v", cs[0].Fields)
	}
	if after := h.session(); after.Version != before.Version || after.State != scriptflow.StateEdited {
		t.Fatalf("stale press changed the session: version %d → %d, state %q", before.Version, after.Version, after.State)
	}
}

func TestGroupChatGetsOnlyALink(t *testing.T) {
	h := newHarness(t, false)
	h.env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	group := fakebotapi.GroupChat(-100123, "Team")
	h.deliver(
		h.fake.Text(group, h.user, "/start"),
		h.fake.Text(group, h.user, "/2fa@"+botName),
		h.fake.Text(group, h.user, "alice@example.com"),
		h.fake.Text(group, h.user, "/start@other_bot"),
		h.fake.Sticker(group, h.user),
	)
	cs := h.want("sendMessage", "sendMessage")
	link := h.msg("telegram.private_only", map[string]any{"Link": "https://t.me/" + botName})
	if !strings.Contains(link, "https://t.me/"+botName) {
		t.Fatalf("link text %q", link)
	}
	for _, c := range cs {
		wantText(t, c, link)
		if c.Fields["chat_id"] != "-100123" || c.Fields["reply_markup"] != "" {
			t.Fatalf("group message %v", c.Fields)
		}
	}
	h.noSession(conversation(group.ID))
}

func TestUnsupportedMessagesChangeNothing(t *testing.T) {
	h := newScriptHarness(t, false)
	toScriptPrompt(t, h)
	before := h.session()
	hint := h.msg(scriptflow.MsgUnsupported, nil)
	mine := h.fake.Text(h.chat, h.user, "typo")
	for _, u := range []fakebotapi.Update{
		h.fake.Sticker(h.chat, h.user),
		h.fake.Photo(h.chat, h.user, "123456"),
		h.fake.Edited(h.chat, h.user, mine.Message.ID, "123456"),
	} {
		h.deliver(u)
		// A secret is expected, so the message (whose caption or edit may
		// hold it) is deleted before the hint.
		cs := h.want("deleteMessage", "sendMessage")
		wantText(t, cs[1], hint)
		after := h.session()
		if after.State != before.State || after.Step != before.Step || after.Expect != before.Expect || string(after.Data) != string(before.Data) {
			t.Fatalf("state %q step %d expect %q after unsupported; was %q %d %q", after.State, after.Step, after.Expect, before.State, before.Step, before.Expect)
		}
	}
}

func TestUndeletableSecretWarnsUser(t *testing.T) {
	h := newScriptHarness(t, false)
	toScriptPrompt(t, h)
	h.fake.FailNext("deleteMessage", 400, "Bad Request: message can't be deleted", 0)
	u := h.text("wrong-passphrase-1234")
	// The user's message (not deleted: warned), then the flow's answer
	// with the prompt again, joined.
	cs := h.want("deleteMessage", "sendMessage", "sendMessage")
	if cs[0].Fields["message_id"] != strconv.Itoa(u.Message.ID) || cs[0].ErrorCode != 400 {
		t.Fatalf("deleteMessage %v answered %d, want the user's message %d refused", cs[0].Fields, cs[0].ErrorCode, u.Message.ID)
	}
	wantText(t, cs[1], h.msg("engine.delete_failed", nil))
	wantText(t, cs[2], h.msg(scriptflow.MsgSecretWrong, nil)+"\n\n"+h.msg(scriptflow.MsgAskSecret, nil))
	h.wantState(scriptflow.StateAsking)
}

func TestPanicInTurnIsRecovered(t *testing.T) {
	var boom atomic.Bool
	env := testkit.New(t, testkit.Options{Flows: []bot.Flow{scriptflow.New()}, Hook: func(p bot.Hook, _ *bot.Session) {
		if p == bot.HookSaved && boom.CompareAndSwap(true, false) {
			panic("boom")
		}
	}})
	fake := fakebotapi.New(fakebotapi.Options{Token: testToken, BotUsername: botName})
	t.Cleanup(fake.Close)
	h := start(t, env, fake, false)
	boom.Store(true)
	h.text("/start")
	h.want()
	if !strings.Contains(env.Log.String(), "turn panicked") {
		t.Fatal("the panic was not logged")
	}
	// The process and the conversation still work, and the replies the
	// panic held back (saved in the session's outbox) come first.
	h.text("/help")
	cs := h.want("sendMessage", "sendMessage")
	wantText(t, cs[0], h.msg(scriptflow.MsgHello, nil))
	wantText(t, cs[1], h.msg(scriptflow.MsgHelp, nil))
}

func TestRunWaitsForTurnsInFlight(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	env := testkit.New(t, testkit.Options{Flows: []bot.Flow{scriptflow.New()}, Hook: func(p bot.Hook, _ *bot.Session) {
		if p == bot.HookSaved {
			once.Do(func() { close(entered); <-release })
		}
	}})
	fake := fakebotapi.New(fakebotapi.Options{Token: testToken, BotUsername: botName})
	t.Cleanup(fake.Close)
	h := start(t, env, fake, false)
	h.fake.Inject(h.fake.Text(h.chat, h.user, "/start"))
	<-entered // the turn is saved, its replies not yet delivered
	h.cancel()
	close(release)
	h.stop()
	h.want("sendMessage")
}

func TestDeliverSplitsLongTextAndSendsPlainText(t *testing.T) {
	h := newHarness(t, false)
	ctx := context.Background()
	long := strings.Repeat("word ", 1000) + strings.Repeat("😀", 100)
	id, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpSend, Text: long, Protected: true,
		Buttons: []bot.Button{{Label: "OK", Data: "ok|n1"}}})
	if err != nil {
		t.Fatal(err)
	}
	cs := h.want("sendMessage", "sendMessage")
	if cs[0].Fields["text"]+cs[1].Fields["text"] != long {
		t.Fatal("the parts do not add up to the text")
	}
	for _, c := range cs {
		if n := utf16Len(c.Fields["text"]); n > 4096 {
			t.Fatalf("part of %d UTF-16 units", n)
		}
		if c.Fields["protect_content"] != "true" {
			t.Fatal("part not protected")
		}
	}
	if cs[0].Fields["reply_markup"] != "" || cs[1].Fields["reply_markup"] != `{"inline_keyboard":[[{"text":"OK","callback_data":"ok|n1"}]]}` {
		t.Fatalf("reply_markup %q / %q", cs[0].Fields["reply_markup"], cs[1].Fields["reply_markup"])
	}
	if want := strconv.Itoa(cs[0].MessageID()) + "," + strconv.Itoa(cs[1].MessageID()); id != want {
		t.Fatalf("id %q, want %q", id, want)
	}
	if _, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpDelete, Ref: "key", MessageID: id}); err != nil {
		t.Fatal(err)
	}
	if len(h.fake.Messages(h.chat.ID)) != 0 {
		t.Fatal("split message not deleted completely")
	}
	if _, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpDelete, Ref: "key", MessageID: id}); !errors.Is(err, bot.ErrMessageGone) {
		t.Fatalf("deleting again: %v, want ErrMessageGone", err)
	}

	name := "Name: a_b*c [x](y) `z` <b>"
	if _, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpSend, Text: name}); err != nil {
		t.Fatal(err)
	}
	cs = h.want("deleteMessages", "deleteMessages", "sendMessage")
	if want := "[" + id + "]"; cs[0].Fields["message_ids"] != want || cs[0].ErrorCode != 0 || cs[1].ErrorCode != 400 {
		t.Fatalf("deleteMessages %v (%d), %d; want %s then not found", cs[0].Fields["message_ids"], cs[0].ErrorCode, cs[1].ErrorCode, want)
	}
	c := cs[2]
	if _, ok := c.Fields["parse_mode"]; ok || c.Fields["text"] != name {
		t.Fatalf("sent %v", c.Fields)
	}
}

func TestDeliverEditAndGone(t *testing.T) {
	h := newHarness(t, false)
	ctx := context.Background()
	id, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpSend, Text: "first", Buttons: []bot.Button{{Label: "A", Data: "a|1"}}})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second edit changes nothing: "not modified" is fine
		if _, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpEdit, Text: "second", MessageID: id}); err != nil {
			t.Fatal(err)
		}
	}
	cs := h.want("sendMessage", "editMessageText", "editMessageText")
	if cs[2].ErrorCode != 400 {
		t.Fatalf("second edit: code %d", cs[2].ErrorCode)
	}
	m := h.fake.Messages(h.chat.ID)
	if len(m) != 1 || m[0].Text != "second" || m[0].ReplyMarkup != nil {
		t.Fatalf("messages %+v", m)
	}
	if _, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpEdit, Text: "x", MessageID: "999"}); !errors.Is(err, bot.ErrMessageGone) {
		t.Fatalf("edit of a missing message: %v", err)
	}
	// A user's message that is already gone is no reason to warn.
	if _, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpDelete, MessageID: "999"}); !errors.Is(err, bot.ErrMessageGone) {
		t.Fatalf("delete of a missing message: %v", err)
	}
}

func TestDeliverRetriesServerErrorsAndRespectsRateLimit(t *testing.T) {
	h := newHarness(t, false, func(o *Options) { o.PerChatInterval, o.GlobalPerSecond = time.Second, 30 })
	ctx := context.Background()
	h.fake.FailNext("sendMessage", 502, "Bad Gateway", 0)
	for i := range 5 {
		if _, err := h.a.Deliver(ctx, h.conv(), bot.Reply{Op: bot.OpSend, Text: "m" + strconv.Itoa(i)}); err != nil {
			t.Fatal(err)
		}
	}
	// Burst of 3 (the 502 and its retry use two), then one per second;
	// the retry waited 0.5 s first.
	want := []time.Duration{500 * time.Millisecond, 500 * time.Millisecond, time.Second, time.Second}
	if got := h.slept(); !slices.Equal(got, want) {
		t.Fatalf("slept %v, want %v", got, want)
	}
	if _, err := h.a.Deliver(ctx, conversation(777), bot.Reply{Op: bot.OpSend, Text: "other chat"}); err != nil {
		t.Fatal(err)
	}
	if got := h.slept(); len(got) != len(want) {
		t.Fatalf("another chat waited: %v", got[len(want):])
	}
}

// TestWebhookSameInstantSameChat posts 20 updates of one chat at the same
// instant: each is handled, one after the other (a turn overlapping
// another would fail the session's compare-and-swap and get 500), and
// updates of other chats at the same instant are handled too.
func TestWebhookSameInstantSameChat(t *testing.T) {
	h := newHarness(t, true)
	h.text("/start")
	h.want("sendMessage")
	before := h.session().Version
	const n = 20
	var ups []fakebotapi.Update
	for i := 0; i < n; i++ {
		ups = append(ups, h.fake.Text(h.chat, h.user, "/help"))
		other := fakebotapi.User{ID: 5000 + int64(i), FirstName: "Other"}
		ups = append(ups, h.fake.Text(fakebotapi.PrivateChat(other), other, "/start"))
	}
	gate := make(chan struct{})
	codes := make([]int, len(ups))
	var wg sync.WaitGroup
	for i, u := range ups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			code, err := h.fake.Post(context.Background(), h.hook, testSecret, u)
			if err != nil {
				t.Error(err)
			}
			codes[i] = code
		}()
	}
	close(gate)
	wg.Wait()
	for i, code := range codes {
		if code != 200 {
			t.Fatalf("update %d answered %d", i, code)
		}
	}
	if got := h.session().Version; got != before+2*n {
		t.Fatalf("session version %d, want %d: turns overlapped or were lost", got, before+2*n)
	}
	help := 0
	for _, m := range h.fake.Messages(h.chat.ID) {
		if strings.HasPrefix(m.Text, "You are at step") {
			help++
		}
	}
	if help != n {
		t.Fatalf("%d help answers, want %d", help, n)
	}
	for i := 0; i < n; i++ {
		if len(h.fake.Messages(5000+int64(i))) < 2 { // /start, welcome with the e-mail question
			t.Fatalf("chat %d was not handled", 5000+i)
		}
	}
}

// TestStartupRetriesUntilTheBotAPIAnswers: a Bot API that answers 502 or
// 429 at startup is asked again after a pause (retry_after when given);
// a bad token stops Run at once.
func TestStartupRetriesUntilTheBotAPIAnswers(t *testing.T) {
	env, fake := newEnv(t)
	fake.FailNext("setMyCommands", 502, "Bad Gateway", 0)
	fake.FailNext("setMyCommands", 502, "Bad Gateway", 0)
	fake.FailNext("setMyCommands", 429, "Too Many Requests: retry after 7", 7)
	h := start(t, env, fake, false)
	if got := h.slept(); !slices.Equal(got, []time.Duration{time.Second, 2 * time.Second, 7 * time.Second}) {
		t.Fatalf("slept %v, want 1s, 2s, then retry_after 7s", got)
	}
	if n := len(fake.Calls("setMyCommands")); n != 5 { // 3 refused, then the default and the Malay list
		t.Fatalf("%d setMyCommands calls, want 5", n)
	}
	h.deliver(fake.Text(h.chat, h.user, "/start"))
	h.want("sendMessage")

	_, fake2 := newEnv(t)
	fake2.FailNext("getMe", 401, "Unauthorized", 0)
	a, err := New(Options{Token: testToken, APIURL: fake2.URL, Engine: env.Engine, PerChatInterval: -1, GlobalPerSecond: -1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := a.Run(ctx); err == nil || !strings.Contains(err.Error(), "getMe") || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("Run with a bad token: %v, want a getMe unauthorized error", err)
	}
}
