package slack_test

import (
	"encoding/json"
	"strings"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit/scriptflow"
)

// TestReaskInModalSaysInTheBox: a question shown inside the open modal
// says where to type with slack.modal.here, not with the DM's word
// slack.words.here (which points to a button the modal hides), in the
// user's language: the next question's modal (response_action "update",
// totpswitch's SMS code after the password) and a repeated question on
// the modal's input (response_action "errors", scriptflow's passphrase
// again). The DM message of the question keeps slack.words.here.
func TestReaskInModalSaysInTheBox(t *testing.T) {
	for _, tag := range []string{"en-US", "ms-MY"} {
		t.Run(tag, func(t *testing.T) {
			h := newHarness(t, setup{mode: slack.ModeHTTP})
			h.fake.AddUser(fakeslack.User{ID: alice, Email: "alice@example.com", Locale: tag})
			cat := h.env.Engine.Catalog()
			here, inModal := cat.Text(tag, "slack.words.here", nil), cat.Text(tag, "slack.modal.here", nil)
			if here == inModal || strings.HasPrefix(inModal, "[") {
				t.Fatalf("slack.modal.here %q", inModal)
			}
			pw := h.env.AddAccount(t, "alice@example.com", portal.MethodSMS)
			h.tr.command(h.fake.Command(alice, h.dm(), "/guidedfix", ""))
			v := h.enter()
			p, err := h.fake.Submit(v.ID, pw)
			if err != nil {
				t.Fatal(err)
			}
			var a struct {
				Action string `json:"response_action"`
				View   struct {
					Blocks []struct {
						Type string `json:"type"`
						Text struct {
							Text string `json:"text"`
						} `json:"text"`
					} `json:"blocks"`
				} `json:"view"`
			}
			if err := json.Unmarshal(h.tr.interact(p), &a); err != nil || a.Action != "update" || len(a.View.Blocks) < 2 || a.View.Blocks[0].Type != "section" {
				t.Fatalf("answer to the password: %+v, %v", a, err)
			}
			want := strings.ReplaceAll(h.env.Engine.Text(tag, slack.Channel, "totp.sms_sent", map[string]any{"Phone": "+60•••••6789"}), here, inModal)
			if got := a.View.Blocks[0].Text.Text; got != want {
				t.Fatalf("modal text %q\nwant %q", got, want)
			}
			if !strings.Contains(want, inModal) {
				t.Fatalf("totp.sms_sent %q does not say where to type", want)
			}
			if last := h.lastText(); !strings.Contains(last, here) || strings.Contains(last, inModal) {
				t.Fatalf("the DM message %q should point to its button (%q)", last, here)
			}
		})
	}
	t.Run("errors", func(t *testing.T) {
		h := newHarness(t, scripted(setup{mode: slack.ModeHTTP}))
		h.scriptToPrompt()
		v := h.enter()
		a := h.submit(v.ID, "not the passphrase")
		cat := h.env.Engine.Catalog()
		want := strings.ReplaceAll(h.env.Engine.Text("en-US", slack.Channel, scriptflow.MsgAskSecret, nil),
			cat.Text("en-US", "slack.words.here", nil), cat.Text("en-US", "slack.modal.here", nil))
		if got := a.Errors["secret"]; a.Action != "errors" || !strings.HasSuffix(got, want) {
			t.Fatalf("answer to a wrong passphrase: %+v\nwant errors ending %q", a, want)
		}
	})
}
