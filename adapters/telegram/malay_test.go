package telegram

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/mail"
	"guidedfix/internal/mailtext"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
)

// catalogFiles are the catalogs whose texts reach a Telegram customer,
// relative to this package.
var catalogFiles = []string{"../../bot/locales/%s.yaml", "../../flows/totpswitch/locales/%s.yaml", "locales/%s.yaml"}

// templates maps each message id of one language's catalogs to the
// patterns of its texts (one per plural form): the raw template with
// every {{action}} matching any text.
type templates map[string][]*regexp.Regexp

var action = regexp.MustCompile(`\{\{[^}]*\}\}`)

// pattern turns template text into a regexp that matches its renderings.
func pattern(text string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString(`(?s)\A`)
	last := 0
	for _, loc := range action.FindAllStringIndex(text, -1) {
		b.WriteString(regexp.QuoteMeta(text[last:loc[0]]))
		b.WriteString(`.*?`)
		last = loc[1]
	}
	b.WriteString(regexp.QuoteMeta(text[last:]))
	b.WriteString(`\z`)
	return regexp.MustCompile(b.String())
}

func loadTemplates(t *testing.T, lang string, files ...string) templates {
	t.Helper()
	out := templates{}
	for _, f := range files {
		raw, err := os.ReadFile(fmt.Sprintf(f, lang))
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := yaml.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for id, v := range m {
			switch v := v.(type) {
			case string:
				out[id] = append(out[id], pattern(v))
			case map[string]any:
				for _, form := range v {
					if s, ok := form.(string); ok {
						out[id] = append(out[id], pattern(s))
					}
				}
			}
		}
	}
	return out
}

// matches reports whether text is a rendering of id (its Telegram
// variant when the catalog has one).
func (ts templates) matches(id, text string) bool {
	ps, ok := ts[id+"@"+Channel]
	if !ok {
		ps = ts[id]
	}
	for _, p := range ps {
		if p.MatchString(text) {
			return true
		}
	}
	return false
}

// label reports whether text is one of the catalog's texts without
// template actions (a button label).
func (ts templates) label(text string) bool {
	for _, ps := range ts {
		for _, p := range ps {
			if p.MatchString(text) {
				return true
			}
		}
	}
	return false
}

// customer drives the flow the way a person would, by the session's
// state and the buttons it offers, until it ends; before the first step
// in state switchAt (if any) it sends /language and presses Bahasa
// Melayu. It returns the number of turns it took.
func customer(t *testing.T, h *harness, email, pw string, switchAt bot.State) int {
	t.Helper()
	prefer := []string{"disable", "setup", "app", "okay", "done"}
	switched := switchAt == ""
	turns := 0
	for ; turns < 40; turns++ {
		s := h.session()
		if s.Done {
			return turns
		}
		if !switched && s.State == switchAt {
			switched = true
			h.text("/language")
			id, data := h.langButton("lang.ms")
			h.deliver(h.fake.Callback(h.chat, h.user, id, data))
			if after := h.session(); after.State != s.State || after.Step != s.Step || after.Locale != "ms" {
				t.Fatalf("switching language moved the flow: %q step %d → %q step %d, locale %q", s.State, s.Step, after.State, after.Step, after.Locale)
			}
			continue
		}
		switch s.State {
		case totpswitch.StateAwaitingEmail:
			h.text(email)
		case totpswitch.StateAwaitingPassword, totpswitch.StateAwaitingReauth:
			h.text(pw)
		case totpswitch.StateAwaitingSMSCode:
			h.text(h.env.LastSMSCode(t))
		case totpswitch.StateAwaitingTOTPCode:
			photos := h.fake.Calls("sendPhoto")
			if len(photos) == 0 {
				t.Fatal("no QR code sent before the code step")
			}
			key := h.env.KeyFromQR(t, photos[len(photos)-1].Files["photo"].Data)
			h.text(h.env.TOTPCode(t, key, 0))
		default:
			i := slices.IndexFunc(prefer, func(a string) bool { return s.OfferedStep == s.Step && slices.Contains(s.Offered, a) })
			if i < 0 {
				t.Fatalf("state %q offers %q: the customer does not know what to press", s.State, s.Offered)
			}
			h.press(prefer[i])
		}
	}
	t.Fatalf("the flow did not end in %d turns (state %q)", turns, h.session().State)
	return turns
}

// langButton finds the newest language button whose data is data (it
// carries no step nonce).
func (h *harness) langButton(data string) (int, string) {
	h.t.Helper()
	msgs := h.fake.Messages(h.chat.ID)
	for i := len(msgs) - 1; i >= 0; i-- {
		if strings.Contains(string(msgs[i].ReplyMarkup), `"callback_data":"`+data+`"`) {
			return msgs[i].ID, data
		}
	}
	h.t.Fatalf("no language button %q in the chat", data)
	return 0, ""
}

// TestMalayCustomerCompletesTheChange is issue 14's acceptance for
// Malay: a customer whose Telegram client says language_code "ms" (or who
// switches with /language in the middle) completes the change through the
// fake Bot API, in both flow orders. From the first Malay reply on, every
// reply's catalog id is rendered from the ms catalog (never the English
// text), every button label is a Malay text (or a language's own name),
// the account takes Malay as its language, and the portal's e-mails in
// the .eml outbox carry exactly the ms catalog's subjects and bodies.
func TestMalayCustomerCompletesTheChange(t *testing.T) {
	ms := loadTemplates(t, "ms", catalogFiles...)
	en := loadTemplates(t, "en", catalogFiles...)
	mailMS := rawTexts(t, "../../internal/mailtext/locales/ms.yaml")
	endonyms := map[string]bool{}
	for _, l := range bot.Languages {
		endonyms[l.Name] = true
	}
	for _, tc := range []struct {
		name, order, lang string
		switchAt          bot.State
		mails             []string // mailtext kinds, in order
	}{
		{"ms/kb order", totpswitch.OrderDisableThenEnroll, "ms", "", []string{mailtext.Alert, mailtext.Confirmation}},
		{"ms/safe swap", totpswitch.OrderEnrollThenSwitch, "ms", "", []string{mailtext.Confirmation}},
		{"switch at the SMS code/kb order", totpswitch.OrderDisableThenEnroll, "en", totpswitch.StateAwaitingSMSCode, []string{mailtext.Alert, mailtext.Confirmation}},
		{"switch at the SMS code/safe swap", totpswitch.OrderEnrollThenSwitch, "en", totpswitch.StateAwaitingSMSCode, []string{mailtext.Confirmation}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := testkit.New(t, testkit.Options{Order: tc.order})
			fake := newFake(t)
			h := start(t, env, fake, false)
			h.user.LanguageCode = tc.lang
			log := &testkit.Tap{Next: h.a} // every reply (catalog id, text, buttons) on its way
			env.Engine.Register(Channel, log)
			const email = "siti@example.com"
			pw := env.AddAccount(t, email, portal.MethodSMS)

			h.text("/start")
			turns := customer(t, h, email, pw, tc.switchAt)
			s := h.session()
			if s.State != totpswitch.StateDone || s.Locale != "ms" {
				t.Fatalf("final state %q locale %q, want done in ms", s.State, s.Locale)
			}
			acc, err := env.Core.LookupAccount(context.Background(), email)
			if err != nil || acc.Method != portal.MethodTOTP || acc.Locale != "ms" {
				t.Fatalf("account method %q locale %q (%v), want totp and ms", acc.Method, acc.Locale, err)
			}

			// Every reply from the first Malay one on is the ms rendering of
			// its catalog id.
			replies := log.Replies()
			first := slices.IndexFunc(replies, func(r bot.Reply) bool { return r.Text != "" && ms.matches(r.ID, r.Text) && !en.matches(r.ID, r.Text) })
			if first < 0 {
				t.Fatal("no reply in Malay")
			}
			if tc.switchAt == "" && first != 0 {
				t.Fatalf("the first reply %s is not in Malay: %q", replies[0].ID, replies[0].Text)
			}
			checked := 0
			for _, r := range replies[first:] {
				if r.Op == bot.OpDelete {
					continue
				}
				if r.Text != "" {
					if _, ok := ms[r.ID]; !ok {
						t.Errorf("reply %s has no ms entry", r.ID)
					} else if !ms.matches(r.ID, r.Text) {
						t.Errorf("reply %s is not the ms text: %q", r.ID, r.Text)
					} else if en.matches(r.ID, r.Text) && !strings.Contains(r.Text, "Bahasa Melayu") {
						t.Errorf("reply %s is the English text: %q", r.ID, r.Text)
					}
					checked++
				}
				for _, b := range r.Buttons {
					if !endonyms[b.Label] && (!ms.label(b.Label) || (en.label(b.Label) && !ms.label(b.Label))) {
						t.Errorf("button %q of reply %s is not a Malay label", b.Label, r.ID)
					}
				}
			}
			t.Logf("%d replies, %d texts checked against the ms catalog, %d turns", len(replies), checked, turns)
			if checked < 8 {
				t.Fatalf("only %d texts checked in %d turns: the flow was not followed", checked, turns)
			}
			if tc.switchAt != "" {
				// The step's prompt was shown again, in Malay, right after the
				// confirmation of the switch.
				set := slices.IndexFunc(replies, func(r bot.Reply) bool { return r.ID == bot.MsgLanguageSet })
				if set < 0 || set+1 >= len(replies) || replies[set+1].Secret != bot.SecretSMSCode {
					t.Fatalf("after %s the SMS code prompt was not shown again: %+v", bot.MsgLanguageSet, replies[set+1:])
				}
			}

			// The portal's e-mails: exactly the Malay ones, in order.
			var got []mail.Message
			for _, m := range env.Mails(t) {
				if m.To == email {
					got = append(got, m)
				}
			}
			if len(got) != len(tc.mails) {
				t.Fatalf("%d e-mails to %s, want %d (%q)", len(got), email, len(tc.mails), tc.mails)
			}
			// The outbox lists files by message id, not by time: each kind's
			// e-mail is found by its exact ms subject.
			for _, kind := range tc.mails {
				subject, _, err := mailtext.RenderIn("ms", kind, mailtext.Data{})
				if err != nil {
					t.Fatal(err)
				}
				if english, _, _ := mailtext.RenderIn("en", kind, mailtext.Data{}); subject == english {
					t.Fatalf("the ms subject of %s is the English one", kind)
				}
				i := slices.IndexFunc(got, func(m mail.Message) bool { return m.Subject == subject })
				if i < 0 {
					t.Errorf("no e-mail with the ms subject of %s %q among %q", kind, subject, subjectsOf(got))
					continue
				}
				body := strings.TrimRight(mailMS["mail."+kind+".body"], "\n")
				if !pattern(body+"\n\n"+mailMS["mail.footer.default"]+"\n").MatchString(got[i].Text) &&
					!pattern(body+"\n\n"+mailMS["mail.footer.support"]+"\n").MatchString(got[i].Text) {
					t.Errorf("the %s e-mail's body is not the ms body:\n%s", kind, got[i].Text)
				}
				got = slices.Delete(got, i, i+1)
			}
		})
	}
}

// rawTexts returns the plain string entries of the YAML catalog at path.
func rawTexts(t *testing.T, path string) map[string]string {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := map[string]string{}
	for k, v := range m {
		if s, ok := v.(string); ok {
			out[k] = s
		}
	}
	return out
}

func newFake(t *testing.T) *fakebotapi.Server {
	fake := fakebotapi.New(fakebotapi.Options{Token: testToken, BotUsername: botName})
	t.Cleanup(fake.Close)
	return fake
}

func subjectsOf(ms []mail.Message) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Subject
	}
	return out
}
