package telegram

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode/utf16"

	"github.com/go-telegram/bot/models"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/bot"
	"guidedfix/internal/testkit"
	"guidedfix/internal/testkit/contract"
	"guidedfix/internal/testkit/scriptflow"
)

// TestAdapterContract runs the adapter contract suite on the Telegram
// adapter: go-telegram/bot against the fake Bot API, over a local webhook
// and over long polling, the engine running scriptflow. "webhook-held"
// holds each update in the inbox before the 200, as `guidedfix serve`
// does, so button presses are answered in the webhook's responses.
func TestAdapterContract(t *testing.T) {
	for _, mode := range []struct {
		name           string
		webhook, inbox bool
	}{{"webhook", true, false}, {"webhook-held", true, true}, {"polling", false, false}} {
		t.Run(mode.name, func(t *testing.T) {
			contract.Run(t, func(t *testing.T, locale string) contract.Driver {
				env, fake := newScriptEnv(t)
				h := start(t, env, fake, mode.webhook, func(o *Options) {
					if mode.inbox {
						o.Inbox = env.Store
					}
				})
				h.user.LanguageCode = locale // Telegram's language_code
				// A held update delivered again gets its 200 without a
				// turn of its own (TestWebhookAnswersBeforeSlowTurn,
				// TestWebhookReplyRedelivery), which the harness's
				// deliver cannot wait for.
				redeliver := mode.webhook && !mode.inbox
				return &tgDriver{h: h, res: contract.NewResolver(env.Engine, locale, Channel), user: map[int]bool{}, webhook: redeliver}
			})
		})
	}
}

// tgDriver is the contract driver of the Telegram adapter.
type tgDriver struct {
	h    *harness
	res  *contract.Resolver
	last fakebotapi.Update
	user map[int]bool // ids of the user's messages
	// webhook: updates arrive by webhook, where Telegram redelivers an
	// update it got no 200 for; getUpdates never hands out a confirmed
	// update again (the inbox tests cover the replay after a crash).
	webhook bool
}

func (d *tgDriver) Env() *testkit.Env              { return d.h.env }
func (d *tgDriver) Conversation() bot.Conversation { return d.h.conv() }

func (d *tgDriver) Caps() contract.Caps {
	return contract.Caps{Protect: true, BatchDelete: true, TypedSecret: "used", Unsupported: true, Redeliver: d.webhook, ForgeButtons: true, Code: true}
}

func (d *tgDriver) send(u fakebotapi.Update) {
	d.h.t.Helper()
	if u.Message != nil {
		d.user[u.Message.ID] = true
	}
	d.last = u
	d.h.deliver(u)
}

func (d *tgDriver) Start()              { d.send(d.h.fake.Text(d.h.chat, d.h.user, "/start")) }
func (d *tgDriver) Text(s string)       { d.send(d.h.fake.Text(d.h.chat, d.h.user, s)) }
func (d *tgDriver) Command(name string) { d.send(d.h.fake.Text(d.h.chat, d.h.user, "/"+name)) }
func (d *tgDriver) Secret(s string)     { d.Text(s) }
func (d *tgDriver) TypeAtPrompt(s string) {
	d.Text(s)
}
func (d *tgDriver) Unsupported() { d.send(d.h.fake.Photo(d.h.chat, d.h.user, "")) }
func (d *tgDriver) Redeliver()   { d.h.deliver(d.last) }

func (d *tgDriver) Press(action string) {
	d.h.t.Helper()
	id, data := d.h.button(action)
	d.send(d.h.fake.Callback(d.h.chat, d.h.user, id, data))
}

func (d *tgDriver) ButtonData(action string) string {
	d.h.t.Helper()
	_, data := d.h.button(action)
	return data
}

// PressData presses data on the newest bot message that has a keyboard
// (a client may send any callback data).
func (d *tgDriver) PressData(data string) {
	d.h.t.Helper()
	msgs := d.h.fake.Messages(d.h.chat.ID)
	id := 0
	for i := len(msgs) - 1; i >= 0 && id == 0; i-- {
		if len(msgs[i].ReplyMarkup) > 0 && !d.user[msgs[i].ID] {
			id = msgs[i].ID
		}
	}
	if id == 0 {
		d.h.t.Fatal("no message with a keyboard in the chat")
	}
	d.send(d.h.fake.Callback(d.h.chat, d.h.user, id, data))
}

// Effects reads the Bot API calls since the last look.
func (d *tgDriver) Effects() []contract.Effect {
	t := d.h.t
	t.Helper()
	var out []contract.Effect
	for _, c := range d.h.calls() {
		if c.ErrorCode != 0 {
			t.Fatalf("%s answered %d: %s", c.Method, c.ErrorCode, c.Result)
		}
		f := c.Fields
		switch c.Method {
		case "sendMessage", "sendPhoto":
			text, entities := f["text"], f["entities"]
			if c.Method == "sendPhoto" {
				text, entities = f["caption"], f["caption_entities"]
			}
			labels, copied := d.labels(f["reply_markup"])
			e := contract.Effect{Kind: contract.Send, Msgs: []string{strconv.Itoa(c.MessageID())}, ID: d.res.ID(text),
				Buttons: labels, Protected: f["protect_content"] == "true", Image: c.Method == "sendPhoto" && len(c.Files["photo"].Data) > 0}
			if code := codeKey(t, text, entities); code != copied {
				t.Fatalf("%s: the key as code entity %v, copy button %v", c.Method, code, copied)
			} else {
				e.Code = code
			}
			out = append(out, e)
		case "editMessageText":
			labels, copied := d.labels(f["reply_markup"])
			out = append(out, contract.Effect{Kind: contract.Edit, Msgs: []string{f["message_id"]}, ID: d.res.ID(f["text"]), Buttons: labels,
				Code: copied || codeKey(t, f["text"], f["entities"])})
		case "editMessageReplyMarkup":
			// The used keyboard's removal: Telegram's own acknowledgement.
			if f["reply_markup"] != "" {
				t.Fatalf("editMessageReplyMarkup with a keyboard %s", f["reply_markup"])
			}
			out = append(out, contract.Effect{Kind: contract.Notice, Msgs: []string{f["message_id"]}})
		case "answerCallbackQuery":
			out = append(out, contract.Effect{Kind: contract.Notice, ID: d.res.ID(f["text"])})
		case "deleteMessage":
			id, _ := strconv.Atoi(f["message_id"])
			if d.h.fake.Exists(d.h.chat.ID, id) {
				t.Fatalf("message %d still exists after deleteMessage", id)
			}
			out = append(out, contract.Effect{Kind: contract.Delete, Msgs: []string{f["message_id"]}, User: d.user[id]})
		case "deleteMessages":
			var ids []int
			if err := json.Unmarshal([]byte(f["message_ids"]), &ids); err != nil {
				t.Fatal(err)
			}
			// The user's message that held a secret may go in the same
			// call as the bot's (bot.BatchDeleter): it is told apart.
			mine, theirs := contract.Effect{Kind: contract.Delete}, contract.Effect{Kind: contract.Delete, User: true}
			for _, id := range ids {
				if d.h.fake.Exists(d.h.chat.ID, id) {
					t.Fatalf("deleteMessages %v: message %d still exists", ids, id)
				}
				if d.user[id] {
					theirs.Msgs = append(theirs.Msgs, strconv.Itoa(id))
				} else {
					mine.Msgs = append(mine.Msgs, strconv.Itoa(id))
				}
			}
			if len(theirs.Msgs) > 0 {
				out = append(out, theirs)
			}
			if len(mine.Msgs) > 0 {
				out = append(out, mine)
			}
		default:
			t.Fatalf("unexpected Bot API call %s", c.Method)
		}
	}
	return out
}

// labels returns the catalog ids of an inline keyboard's button labels,
// and whether it has a copy_text button that copies scriptflow.Key
// without its spaces (Bot API CopyTextButton).
func (d *tgDriver) labels(markup string) ([]string, bool) {
	if markup == "" {
		return nil, false
	}
	var kb models.InlineKeyboardMarkup
	if err := json.Unmarshal([]byte(markup), &kb); err != nil {
		d.h.t.Fatalf("reply_markup %s: %v", markup, err)
	}
	var out []string
	copied := false
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			if b.CopyText != nil {
				if b.CopyText.Text != strings.ReplaceAll(scriptflow.Key, " ", "") {
					d.h.t.Fatalf("copy_text button copies %d characters that are not the key", len(b.CopyText.Text))
				}
				copied = true
				continue
			}
			id := d.res.ID(b.Text)
			if id == "" {
				id = "?" + b.Text
			}
			out = append(out, id)
		}
	}
	return slices.Clip(out), copied
}

// codeKey reports whether entities (Bot API MessageEntity JSON) hold a
// "code" entity over scriptflow.Key in text (offsets in UTF-16 code
// units); any other code entity fails t.
func codeKey(t testing.TB, text, entities string) bool {
	t.Helper()
	if entities == "" {
		return false
	}
	var es []models.MessageEntity
	if err := json.Unmarshal([]byte(entities), &es); err != nil {
		t.Fatalf("entities %s: %v", entities, err)
	}
	found := false
	for _, e := range es {
		if e.Type != models.MessageEntityTypeCode {
			continue
		}
		u := utf16.Encode([]rune(text))
		if e.Offset < 0 || e.Offset+e.Length > len(u) || string(utf16.Decode(u[e.Offset:e.Offset+e.Length])) != scriptflow.Key {
			t.Fatalf("a code entity (%d+%d) that is not over the key", e.Offset, e.Length)
		}
		found = true
	}
	return found
}
