package slack_test

import (
	"encoding/json"
	"strings"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/bot"
	"guidedfix/internal/testkit"
	"guidedfix/internal/testkit/contract"
)

// TestAdapterContract runs the adapter contract suite on the Slack
// adapter: slack-go against the fake Slack, over signed HTTP requests and
// over Socket Mode, the engine running scriptflow.
func TestAdapterContract(t *testing.T) {
	for _, mode := range []string{slack.ModeHTTP, slack.ModeSocket} {
		t.Run(mode, func(t *testing.T) {
			contract.Run(t, func(t *testing.T, locale string) contract.Driver {
				h := newHarness(t, scripted(setup{mode: mode}))
				// users.info's locale, in Slack's form.
				tag := map[string]string{"en": "en-US", "ms": "ms-MY"}[locale]
				h.fake.AddUser(fakeslack.User{ID: alice, Email: "alice@example.com", Locale: tag})
				d := &slackDriver{h: h, res: contract.NewResolver(h.env.Engine, tag, slack.Channel), user: map[string]bool{}, text: map[string]string{}, tag: tag}
				d.mark = len(h.fake.Calls())
				return d
			})
		})
	}
}

// slackDriver is the contract driver of the Slack adapter.
type slackDriver struct {
	h    *harness
	res  *contract.Resolver
	mark int               // calls already looked at
	last func()            // the last delivery, to deliver again
	user map[string]bool   // ts of alice's own messages
	text map[string]string // text of the app's messages by ts, as last sent
	// modal holds the errors shown in a modal since the last Effects.
	modal []contract.Effect
	tag   string // the user's locale, in Slack's form
}

// fromModal returns a question shown inside the modal as the DM shows it:
// the modal's "slack.modal.here" ("in the box below") back to the platform
// word slack.words.here, so that the resolver finds the question's id.
// It fails the test when the modal still says slack.words.here (that
// points to a button the open modal hides).
func (d *slackDriver) fromModal(text string) string {
	d.h.t.Helper()
	cat := d.h.env.Engine.Catalog()
	here, inModal := cat.Text(d.tag, "slack.words.here", nil), cat.Text(d.tag, "slack.modal.here", nil)
	if strings.Contains(text, here) {
		d.h.t.Fatalf("the modal shows %q, which points out of the modal (%q)", text, here)
	}
	return strings.ReplaceAll(text, inModal, here)
}

func (d *slackDriver) Env() *testkit.Env              { return d.h.env }
func (d *slackDriver) Conversation() bot.Conversation { return d.h.conv() }

func (d *slackDriver) Caps() contract.Caps {
	return contract.Caps{TypedSecret: "refused", Unsupported: true, Redeliver: true, PromptForm: true, PromptInModal: true, ForgeButtons: true}
}

func (d *slackDriver) do(f func()) {
	d.last = f
	f()
}

func (d *slackDriver) Start() {
	form := d.h.fake.Command(alice, d.h.dm(), "/guidedfix", "")
	d.do(func() { d.h.tr.command(form) })
}

func (d *slackDriver) Command(name string) {
	form := d.h.fake.Command(alice, d.h.dm(), "/guidedfix", name)
	d.do(func() { d.h.tr.command(form) })
}

func (d *slackDriver) Text(s string) {
	body, ts := d.h.fake.MessageEvent(alice, d.h.dm(), s)
	d.user[ts] = true
	d.do(func() { d.h.tr.event(body) })
}

func (d *slackDriver) TypeAtPrompt(s string) { d.Text(s) }

func (d *slackDriver) Unsupported() {
	body, ts := d.h.fake.FileReplyEvent(alice, d.h.dm(), "", "", "photo.jpg")
	d.user[ts] = true
	d.do(func() { d.h.tr.event(body) })
}

func (d *slackDriver) Redeliver() { d.last() }

func (d *slackDriver) Press(action string) {
	d.h.t.Helper()
	b := d.h.button(action, func(b fakeslack.Button) bool { return strings.HasPrefix(b.Value, action+"|") })
	p := d.h.fake.Click(alice, b)
	d.do(func() { d.h.tr.interact(p) })
}

func (d *slackDriver) ButtonData(action string) string {
	d.h.t.Helper()
	return d.h.button(action, func(b fakeslack.Button) bool { return strings.HasPrefix(b.Value, action+"|") }).Value
}

// PressData presses a button of the newest message with flow buttons,
// with its value replaced by data (a client may send any value).
func (d *slackDriver) PressData(data string) {
	d.h.t.Helper()
	b := d.h.button("flow", func(b fakeslack.Button) bool { return strings.HasPrefix(b.ActionID, "guidedfix_button_") })
	b.Value = data
	p := d.h.fake.Click(alice, b)
	d.do(func() { d.h.tr.interact(p) })
}

// Secret answers in the open secret modal, or presses the newest Enter
// button and answers in the modal it opens. An answer that shows an
// error in the modal (response_action "errors") is a Notice of Effects.
func (d *slackDriver) Secret(s string) {
	d.h.t.Helper()
	v, ok := d.h.fake.LastView()
	if !ok || v.Closed || v.Type != "modal" {
		v = d.h.enter()
	}
	d.do(func() {
		if a := d.h.submit(v.ID, s); a.Action == "errors" {
			d.modal = append(d.modal, contract.Effect{Kind: contract.Notice, ID: d.res.ID(d.fromModal(a.Errors["secret"]))})
		}
	})
}

// Effects reads the Web API calls since the last look.
func (d *slackDriver) Effects() []contract.Effect {
	t := d.h.t
	t.Helper()
	calls := d.h.fake.Calls()
	var out []contract.Effect
	for _, c := range calls[d.mark:] {
		if c.Error != "" {
			t.Fatalf("%s answered %s", c.Method, c.Error)
		}
		p := c.Params
		switch c.Method {
		case "chat.postMessage":
			var res struct {
				TS string `json:"ts"`
			}
			_ = json.Unmarshal(c.Result, &res)
			if p.Get("channel") != d.h.dm() {
				t.Fatalf("chat.postMessage to %s, want the DM", p.Get("channel"))
			}
			labels, prompt := d.buttons(p.Get("blocks"))
			d.text[res.TS] = p.Get("text")
			out = append(out, contract.Effect{Kind: contract.Send, Msgs: []string{res.TS}, ID: d.res.ID(p.Get("text")), Buttons: labels, Prompt: prompt})
		case "chat.update":
			labels, prompt := d.buttons(p.Get("blocks"))
			ts := p.Get("ts")
			if len(labels) == 0 && !prompt && p.Get("text") == d.text[ts] {
				// The same text without its buttons: the pressed
				// message's buttons removed, Slack's acknowledgement.
				out = append(out, contract.Effect{Kind: contract.Notice, Msgs: []string{ts}})
				continue
			}
			d.text[ts] = p.Get("text")
			// A message replaced by the next step's (the pressed one, or
			// the answered prompt) is shown as a send of that message.
			kind := contract.Edit
			if prompt {
				kind = contract.Send
			}
			out = append(out, contract.Effect{Kind: kind, Msgs: []string{ts}, ID: d.res.ID(p.Get("text")), Buttons: labels, Prompt: prompt})
		case "files.completeUploadExternal":
			var files []struct {
				ID string `json:"id"`
			}
			_ = json.Unmarshal([]byte(p.Get("files")), &files)
			if len(files) != 1 || p.Get("channel_id") != d.h.dm() {
				t.Fatalf("files.completeUploadExternal of %d files to %s", len(files), p.Get("channel_id"))
			}
			out = append(out, contract.Effect{Kind: contract.Send, Msgs: []string{"file:" + files[0].ID}, ID: d.res.ID(p.Get("initial_comment")), Image: true})
		case "chat.delete":
			for _, m := range d.h.fake.History(d.h.dm()) {
				if m.TS == p.Get("ts") {
					t.Fatalf("message %s still exists after chat.delete", m.TS)
				}
			}
			out = append(out, contract.Effect{Kind: contract.Delete, Msgs: []string{p.Get("ts")}, User: d.user[p.Get("ts")]})
		case "files.delete":
			out = append(out, contract.Effect{Kind: contract.Delete, Msgs: []string{"file:" + p.Get("file")}})
		case "chat.postEphemeral":
			out = append(out, contract.Effect{Kind: contract.Notice, ID: d.res.ID(p.Get("text"))})
		case "views.open", "views.update":
			out = append(out, contract.Effect{Kind: contract.Notice})
		case "users.info", "conversations.open", "files.getUploadURLExternal", "upload", "auth.test", "apps.connections.open":
			// Look-ups, the connection and the upload's first steps change
			// nothing visible.
		default:
			t.Fatalf("unexpected Web API call %s", c.Method)
		}
	}
	d.mark = len(calls)
	out = append(out, d.modal...)
	d.modal = nil
	return out
}

// buttons returns the catalog ids of the flow buttons in blocks and
// whether the adapter's Enter button (the secret form) is among them.
func (d *slackDriver) buttons(blocks string) (labels []string, prompt bool) {
	for _, b := range fakeslackButtons(d.h.t, blocks) {
		switch {
		case b.ActionID == "guidedfix_secret":
			prompt = true
		case strings.HasPrefix(b.ActionID, "guidedfix_button_"):
			id := d.res.ID(b.Text)
			if id == "" {
				id = "?" + b.Text
			}
			labels = append(labels, id)
		default:
			d.h.t.Fatalf("button %q of action %s", b.Text, b.ActionID)
		}
	}
	return labels, prompt
}

// fakeslackButtons parses the buttons of Block Kit JSON.
func fakeslackButtons(t *testing.T, blocks string) []fakeslack.Button {
	t.Helper()
	if blocks == "" {
		return nil
	}
	var bs []struct {
		Elements []struct {
			Type     string `json:"type"`
			ActionID string `json:"action_id"`
			Text     struct {
				Text string `json:"text"`
			} `json:"text"`
		} `json:"elements"`
	}
	if err := json.Unmarshal([]byte(blocks), &bs); err != nil {
		t.Fatalf("blocks %s: %v", blocks, err)
	}
	var out []fakeslack.Button
	for _, b := range bs {
		for _, e := range b.Elements {
			if e.Type == "button" {
				out = append(out, fakeslack.Button{Text: e.Text.Text, ActionID: e.ActionID})
			}
		}
	}
	return out
}
