package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/adapters/telegram"
	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/qr/qrdecode"
	"guidedfix/internal/support"
	"guidedfix/internal/testkit"
)

// The cast of the support end-to-end test.
const (
	e2eBot      = "portal_bot"
	e2eSupport  = "C0SUPPORT"
	e2eGroup    = "S0STAFF"
	agent       = "U1AGENT"   // staff by slack.staff_user_ids
	groupie     = "U2GROUPIE" // staff by the slack.staff_group user group
	outsider    = "U9OUTSIDE" // a workspace member who is not staff
	zoe         = "zoe@example.com"
	zoePassword = "Zoe's-portal-pass 2026!"
)

// e2e is `guidedfix serve` with Telegram and Slack, each on its fake
// platform (driven through the real go-telegram/bot and slack-go
// clients), mail through a real SMTP server on 127.0.0.1, and the real
// portal core, session store, engine and support desk on files in dir.
type e2e struct {
	t    *testing.T
	dir  string
	tg   *fakebotapi.Server
	sl   *fakeslack.Server
	smtp *smtpSink
	log  *testkit.SafeBuffer

	customer fakebotapi.User
	chat     fakebotapi.Chat
	tgSeen   int // bot messages (sendMessage, sendPhoto, editMessageText) looked at
	tgOff    int // bytes of the text of message tgSeen looked at
	ephSeen  int // ephemeral Slack messages looked at

	secrets []string // every password, code and TOTP secret of the test
	stop    func()
}

func newE2E(t *testing.T) *e2e {
	e := &e2e{t: t, dir: t.TempDir(), log: &testkit.SafeBuffer{}, secrets: []string{zoePassword},
		customer: fakebotapi.User{ID: 777001, FirstName: "Zoe", LanguageCode: "en"}}
	e.chat = fakebotapi.PrivateChat(e.customer)
	e.smtp = startSMTPSink(t)
	e.tg = fakebotapi.New(fakebotapi.Options{Token: "123:TEST", BotUsername: e2eBot})
	t.Cleanup(e.tg.Close)
	e.sl = fakeslack.New(fakeslack.Options{BotToken: "xoxb-e2e", AppToken: "xapp-e2e"})
	t.Cleanup(e.sl.Close)
	e.sl.AddUser(fakeslack.User{ID: agent, Email: "sam@ipserverone.example", Locale: "en-US", Name: "Sam Agent"})
	e.sl.AddUser(fakeslack.User{ID: groupie, Email: "gil@ipserverone.example", Locale: "en-US", Name: "Gil"})
	e.sl.AddUser(fakeslack.User{ID: outsider, Email: "olly@ipserverone.example", Locale: "en-US", Name: "Olly"})
	e.sl.AddUserGroup(e2eGroup, groupie)
	e.sl.AddChannel(e2eSupport)

	for k, v := range map[string]string{
		"TELEGRAM_BOT_TOKEN":               "123:TEST",
		"GUIDEDFIX_TELEGRAM__API_URL":      e.tg.URL,
		"GUIDEDFIX_TELEGRAM__BOT_USERNAME": e2eBot,
		"SLACK_BOT_TOKEN":                  "xoxb-e2e",
		"SLACK_APP_TOKEN":                  "xapp-e2e",
		"GUIDEDFIX_SLACK__API_URL":         e.sl.APIURL,
		"GUIDEDFIX_SLACK__SUPPORT_CHANNEL": e2eSupport,
		"GUIDEDFIX_SLACK__STAFF_USER_IDS":  agent,
		"GUIDEDFIX_SLACK__STAFF_GROUP":     e2eGroup,
		"GUIDEDFIX_SMTP__HOST":             "127.0.0.1",
		"GUIDEDFIX_SMTP__PORT":             strconv.Itoa(e.smtp.port),
		"GUIDEDFIX_SMTP__TLS":              "none",
		"GUIDEDFIX_LOG__LEVEL":             "debug",
		"GUIDEDFIX_FLOW__SWEEP_INTERVAL":   "1s",
		"GUIDEDFIX_FLOW__ORDER":            "disable-then-enroll", // this test follows the KB order
	} {
		t.Setenv(k, v)
	}

	// The customer's account exists before the server starts (one
	// process owns the data directory).
	a, err := openApp(context.Background(), e.g(), openOptions{logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.core.AddAccount(context.Background(), embedded.NewAccount{Email: zoe, Name: "Zoe Tan",
		Phone: "+60123456789", Method: portal.MethodSMS, Password: zoePassword}); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}

	e.start()
	t.Cleanup(func() { e.stop() })
	return e
}

// start runs `guidedfix serve` on e's data directory until e.stop, and
// waits until Telegram polls. It may run again after e.stop (a restart).
func (e *e2e) start() {
	e.t.Helper()
	starts := len(e.tg.Calls("deleteWebhook")) + 1
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, e.g(), serveFlags{}, serveOptions{logOut: e.log,
			telegram: func(o *telegram.Options) { o.PerChatInterval, o.GlobalPerSecond = -1, -1 }})
	}()
	var once sync.Once
	e.stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					e.t.Errorf("serve: %v", err)
				}
			case <-time.After(70 * time.Second):
				e.t.Error("serve did not stop")
			}
		})
	}
	wait, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	if _, err := e.tg.WaitCalls(wait, "deleteWebhook", starts); err != nil {
		e.t.Fatalf("Telegram did not start: %v", err)
	}
}

func (e *e2e) g() *globalFlags { return &globalFlags{dataDir: e.dir} }

// eventually polls cond until it holds, failing after 20 seconds.
func (e *e2e) eventually(what string, cond func() bool) {
	e.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			e.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// --- Slack -----------------------------------------------------------

// push sends a Socket Mode envelope and waits for its ack.
func (e *e2e) push(typ string, payload []byte) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id, err := e.sl.Push(ctx, typ, payload)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := e.sl.WaitAck(ctx, id); err != nil {
		e.t.Fatal(err)
	}
}

// command runs "/guidedfix text" as user in the support channel.
func (e *e2e) command(user, text string) {
	e.t.Helper()
	e.push("slash_commands", fakeslack.FormJSON(e.sl.Command(user, e2eSupport, "/guidedfix", text)))
}

// ephemeralTo waits for the next ephemeral message to user (after those
// already looked at) and returns its text.
func (e *e2e) ephemeralTo(user string) string {
	e.t.Helper()
	var got string
	e.eventually("an ephemeral message to "+user, func() bool {
		ms := e.sl.Ephemeral()
		for i := e.ephSeen; i < len(ms); i++ {
			if ms[i].User == user {
				got, e.ephSeen = ms[i].Text, i+1
				return true
			}
		}
		return false
	})
	return got
}

// click presses the newest button with actionID in the support channel
// (within thread when not empty) as user.
func (e *e2e) click(user, actionID string) {
	e.t.Helper()
	for _, b := range e.sl.Buttons(e2eSupport) {
		if b.ActionID == actionID {
			e.push("interactive", e.sl.Click(user, b))
			return
		}
	}
	e.t.Fatalf("no %s button in the support channel", actionID)
}

// reply writes text as user in the support channel's thread.
func (e *e2e) reply(user, thread, text string) {
	e.t.Helper()
	body, _ := e.sl.ReplyEvent(user, e2eSupport, thread, text)
	e.push("events_api", body)
}

// root returns the support channel's top-level message whose text
// contains want.
func (e *e2e) root(want string) fakeslack.Message {
	e.t.Helper()
	var got fakeslack.Message
	e.eventually("a support channel message with "+strconv.Quote(want), func() bool {
		for _, m := range e.sl.History(e2eSupport) {
			if (m.ThreadTS == "" || m.ThreadTS == m.TS) && strings.Contains(m.Text, want) {
				got = m
				return true
			}
		}
		return false
	})
	return got
}

// threadTexts returns the texts of the replies in thread.
func (e *e2e) threadTexts(thread string) []string {
	var out []string
	for _, m := range e.sl.Thread(e2eSupport, thread) {
		out = append(out, m.Text)
	}
	return out
}

// waitThread waits for a reply containing want in thread.
func (e *e2e) waitThread(thread, want string) {
	e.t.Helper()
	e.eventually("a thread reply with "+strconv.Quote(want), func() bool {
		return slices.ContainsFunc(e.threadTexts(thread), func(s string) bool { return strings.Contains(s, want) })
	})
}

// --- Telegram --------------------------------------------------------

// text sends text from the customer.
func (e *e2e) text(s string) { e.tg.Inject(e.tg.Text(e.chat, e.customer, s)) }

// botSaid waits for the bot's next message (text or photo caption, sent
// or edited into a pressed message) containing want, after those already
// looked at, and returns its call.
func (e *e2e) botSaid(want string) fakebotapi.Call {
	e.t.Helper()
	var got fakebotapi.Call
	e.eventually("the bot to say "+strconv.Quote(want), func() bool {
		cs := e.tg.Calls("sendMessage", "sendPhoto", "editMessageText")
		// A message may carry several replies joined (bot.Joiner): the
		// next look goes on after the part found.
		for i := e.tgSeen; i < len(cs); i++ {
			text, off := cs[i].Fields["text"]+cs[i].Fields["caption"], 0
			if i == e.tgSeen {
				off = min(e.tgOff, len(text))
			}
			if j := strings.Index(text[off:], want); j >= 0 {
				got, e.tgSeen, e.tgOff = cs[i], i, off+j+len(want)
				return true
			}
		}
		return false
	})
	return got
}

// botTexts returns every text and caption the bot sent the customer.
func (e *e2e) botTexts() string {
	var b strings.Builder
	for _, c := range e.tg.Calls("sendMessage", "sendPhoto", "editMessageText") {
		b.WriteString(c.Fields["text"] + c.Fields["caption"] + "\n")
	}
	return b.String()
}

// press presses the newest inline button of the flow action in the
// chat, waiting for it to be there.
func (e *e2e) press(action string) {
	e.t.Helper()
	e.pressIn(e.chat, e.customer, action)
}

// pressAs presses, as user in their private chat, the newest inline
// button of the flow action.
func (e *e2e) pressAs(user fakebotapi.User, action string) {
	e.t.Helper()
	e.pressIn(fakebotapi.PrivateChat(user), user, action)
}

func (e *e2e) pressIn(chat fakebotapi.Chat, user fakebotapi.User, action string) {
	e.t.Helper()
	e.eventually("a "+strconv.Quote(action)+" button in the chat", func() bool {
		msgs := e.tg.Messages(chat.ID)
		for i := len(msgs) - 1; i >= 0; i-- {
			var kb struct {
				Rows [][]struct {
					Data string `json:"callback_data"`
				} `json:"inline_keyboard"`
			}
			_ = json.Unmarshal(msgs[i].ReplyMarkup, &kb)
			for _, row := range kb.Rows {
				for _, b := range row {
					if strings.HasPrefix(b.Data, action+"|") {
						e.tg.Inject(e.tg.Callback(chat, user, msgs[i].ID, b.Data))
						return true
					}
				}
			}
		}
		return false
	})
}

// smsCode waits for the n-th SMS (1-based) in the SMS outbox and returns
// its code.
func (e *e2e) smsCode(n int) string {
	e.t.Helper()
	dir := filepath.Join(e.dir, "outbox", "sms")
	var files []string
	e.eventually("SMS number "+strconv.Itoa(n), func() bool {
		files, _ = filepath.Glob(filepath.Join(dir, "*.txt"))
		return len(files) >= n
	})
	slices.Sort(files)
	raw, err := os.ReadFile(files[n-1])
	if err != nil {
		e.t.Fatal(err)
	}
	m := regexp.MustCompile(`code is (\d{6})`).FindStringSubmatch(string(raw))
	if m == nil {
		e.t.Fatalf("no code in SMS %q", raw)
	}
	e.secrets = append(e.secrets, m[1])
	return m[1]
}

// --- the test ----------------------------------------------------------

// TestSupportHandOffEndToEnd is the support story as an agent and a
// customer live it: an agent hands the guided fix off in Slack, the
// customer gets the link by e-mail (real SMTP), opens it in Telegram,
// asks for a person at the SMS step, the agent takes over, they talk,
// the agent hands back, the customer finishes; the Slack thread shows
// every step, the link works once, non-staff are refused, no secret
// reaches Slack, and the audit log tells the story without a secret.
func TestSupportHandOffEndToEnd(t *testing.T) {
	e := newE2E(t)

	// Non-staff are refused, politely, and nothing happens.
	e.command(outsider, "handoff "+zoe+" T-1")
	if got := e.ephemeralTo(outsider); !strings.Contains(got, "only support staff") {
		t.Fatalf("handoff by a non-staff member answered %q", got)
	}
	e.command(outsider, "audit "+zoe)
	if got := e.ephemeralTo(outsider); !strings.Contains(got, "only support staff") {
		t.Fatalf("audit by a non-staff member answered %q", got)
	}
	if n := len(e.smtp.messages()); n != 0 {
		t.Fatalf("%d e-mails after refused commands", n)
	}

	// An e-mail without an account is told plainly.
	e.command(agent, "handoff nobody@example.com")
	if got := e.ephemeralTo(agent); !strings.Contains(got, "No Customer Portal account has the e-mail nobody@example.com") {
		t.Fatalf("handoff for an unknown e-mail answered %q", got)
	}

	// The hand-off: the agent sees the link, the customer gets it by
	// e-mail, the support channel gets the watch thread.
	e.command(agent, "handoff "+zoe+" T-1234")
	got := e.ephemeralTo(agent)
	link := regexp.MustCompile(`https://t\.me/` + e2eBot + `\?start=([A-Za-z0-9_-]{43})`).FindStringSubmatch(got)
	if link == nil || !strings.Contains(got, "T-1234") {
		t.Fatalf("handoff answered %q", got)
	}
	token := link[1]
	var handoffMail mail.Message
	e.eventually("the hand-off e-mail", func() bool {
		for _, m := range e.smtp.messages() {
			if m.To == zoe && strings.Contains(m.Subject, "Telegram") {
				handoffMail = m
				return true
			}
		}
		return false
	})
	if !strings.Contains(handoffMail.Text, link[0]) {
		t.Fatalf("the e-mail does not carry the link %s:\n%s", link[0], handoffMail.Text)
	}
	watch := e.root("Hand-off ho_").TS
	if w := e.root("Hand-off ho_"); !strings.Contains(w.Text, zoe) || !strings.Contains(w.Text, "<@"+agent+">") || !strings.Contains(w.Text, "T-1234") {
		t.Fatalf("watch thread %q", w.Text)
	}

	// The customer opens the link: the account is identified, the
	// password and the current SMS code are still asked.
	e.text("/start " + token)
	if got := e.botSaid("Tap \"Start\" to begin"); got.Fields["link_preview_options"] != `{"is_disabled":true}` {
		t.Fatalf("bot message without link previews off: %v", got.Fields)
	}
	e.press("handoff_start")
	e.botSaid("Our support team started this for your Customer Portal account z•••@example.com")
	e.botSaid("Please type your account password")
	e.text(zoePassword)
	e.botSaid("I sent a 6-digit code by SMS")
	sms := e.smsCode(1)

	// "Talk to a person" at the SMS step.
	e.press("_human")
	e.botSaid("I have asked our support team to join")
	esc := e.root("A customer asks for a person.")
	for _, want := range []string{"Account: " + zoe, "Channel: telegram", "Step: Verify SMS code", "Last error: none"} {
		if !strings.Contains(esc.Text, want) {
			t.Fatalf("escalation %q lacks %q", esc.Text, want)
		}
	}

	if b := e.sl.Buttons(e2eSupport); len(b) == 0 || b[0].ActionID != "guidedfix_takeover" || b[0].Value != "telegram:777001" {
		t.Fatalf("escalation buttons %+v", b)
	}

	// Take over: refused for non-staff, done for the agent, refused for
	// another staff member while the agent has it.
	e.click(outsider, "guidedfix_takeover")
	if got := e.ephemeralTo(outsider); !strings.Contains(got, "only support staff") {
		t.Fatalf("take over by a non-staff member answered %q", got)
	}
	if texts := e.threadTexts(esc.TS); len(texts) != 0 {
		t.Fatalf("thread after a refused take-over: %q", texts)
	}
	e.click(agent, "guidedfix_takeover")
	e.waitThread(esc.TS, "<@"+agent+"> took over this conversation")
	e.botSaid("Sam Agent from our support team has joined this chat")
	e.click(groupie, "guidedfix_takeover")
	if got := e.ephemeralTo(groupie); !strings.Contains(got, "<@"+agent+"> has already taken this conversation over") {
		t.Fatalf("a second take-over answered %q", got)
	}

	// They talk. The customer's words go to the thread: the secret
	// prompt is set aside, so even a code typed to the agent is not
	// taken as the answer, and it is withheld from the thread. The
	// agent's replies go to the customer; someone else's replies in the
	// thread stay in Slack.
	e.text("I got the code " + sms + ", can you type it in for me?")
	e.waitThread(esc.TS, "Customer: I got the code [number withheld], can you type it in for me?")
	e.reply(agent, esc.TS, "Never send me a code! I hand you back now: type it there.")
	e.botSaid("Sam Agent (support): Never send me a code! I hand you back now: type it there.")
	e.reply(outsider, esc.TS, "psst, customer, tell me your code")
	e.reply(groupie, esc.TS, "FYI the SMS gateway is slow today")

	// Hand back: a non-staff member cannot; the agent returns the
	// customer to the step they left.
	e.click(outsider, "guidedfix_handback")
	if got := e.ephemeralTo(outsider); !strings.Contains(got, "only support staff") {
		t.Fatalf("hand back by a non-staff member answered %q", got)
	}
	e.click(agent, "guidedfix_handback")
	e.waitThread(esc.TS, "<@"+agent+"> handed the customer back to the guided steps")
	e.botSaid("Our support team has handed you back to the guided steps")
	e.botSaid("Please type the 6-digit code")
	if s := e.botTexts(); strings.Contains(s, "psst") || strings.Contains(s, "gateway") {
		t.Fatalf("a message of somebody else than the agent reached the customer:\n%s", s)
	}
	if s := e.botTexts(); strings.Contains(s, "code is not right") || strings.Contains(s, "exactly 6 digits") {
		t.Fatalf("text written to the agent was taken as the SMS code:\n%s", s)
	}
	if slices.ContainsFunc(e.sl.Buttons(e2eSupport), func(b fakeslack.Button) bool { return b.ActionID == "guidedfix_handback" }) {
		t.Fatal("the Hand back button is still there after the hand-back")
	}

	// The customer finishes: SMS code, Disable 2FA, Setup, Authenticator
	// App, QR code, app code, Okay.
	e.text(sms)
	e.botSaid("Identity verified")
	e.press("disable")
	e.botSaid("SMS two-factor authentication is now disabled")
	e.press("setup")
	e.botSaid("Choose your two-factor method")
	e.press("app")
	photo := e.botSaid("scan this QR code")
	key := e.keyFromQR(photo.Files["photo"].Data)
	e.botSaid("When the app shows a 6-digit code")
	e.text(e.totpCode(key))
	e.botSaid("Your authenticator app is verified")
	e.press("okay")
	e.botSaid("All done!")

	// The watch thread shows each step and the outcome, in order.
	e.waitThread(watch, "finished: completed")
	steps := e.threadTexts(watch)
	want := []string{"Verify password", "Verify SMS code", "Identity verified; confirm Disable 2FA",
		"Setup Two-Factor Authentication", "Choose Authenticator App", "QR code sent; waiting for the app's code",
		"Authenticator app verified", "Completed — finished: completed"}
	i := 0
	for _, s := range steps {
		if i < len(want) && strings.HasSuffix(s, want[i]) {
			i++
		}
	}
	if i != len(want) {
		t.Fatalf("watch thread %q\nwant the steps %q in order", steps, want)
	}

	// The link works once: a second /start with it gets one clear
	// answer at once, before any confirmation (issue 14 F9), that names
	// no account, and the normal start.
	e.text("/start " + token)
	invalid := e.botSaid("This link is not valid or has expired")
	if strings.Contains(invalid.Fields["text"], "z•••") || strings.Contains(invalid.Fields["text"], zoe) {
		t.Fatalf("the answer to a used link reveals the account: %q", invalid.Fields["text"])
	}
	e.botSaid("Which e-mail address")
	// An unknown token gets the same answer.
	stranger := fakebotapi.User{ID: 777002, FirstName: "Mallory", LanguageCode: "en"}
	e.tg.Inject(e.tg.Text(fakebotapi.PrivateChat(stranger), stranger, "/start "+strings.Repeat("A", 43)))
	if got := e.botSaid("This link is not valid or has expired").Fields["text"]; got != invalid.Fields["text"] {
		t.Fatalf("an unknown link answered %q, a used one %q", got, invalid.Fields["text"])
	}

	// Staff read the audit log in Slack (the group member too).
	e.command(groupie, "audit "+zoe)
	audit := e.ephemeralTo(groupie)
	for _, want := range []string{"handoff_created", "escalated", "takeover", "agent_message", "handback",
		"Verify SMS code", "Completed", "slack:" + agent + " (staff)"} {
		if !strings.Contains(audit, want) {
			t.Fatalf("the audit log in Slack lacks %q:\n%s", want, audit)
		}
	}

	// No secret reached Slack: not in any request to it, nor in any
	// message that exists there.
	var slackText []string
	for _, c := range e.sl.Calls() {
		slackText = append(slackText, c.Text())
	}
	for _, ch := range e.sl.Channels() {
		for _, m := range e.sl.History(ch) {
			slackText = append(slackText, m.Text, string(m.Blocks))
		}
	}
	for _, m := range e.sl.Ephemeral() {
		slackText = append(slackText, m.Text)
	}
	for _, text := range slackText {
		flat := strings.ReplaceAll(text, " ", "")
		for _, s := range e.secrets {
			if strings.Contains(text, s) || strings.Contains(flat, strings.ReplaceAll(s, " ", "")) {
				t.Errorf("a secret (%d characters) reached Slack: %.100q", len(s), text)
			}
		}
	}

	e.stop()

	// The account now uses the app; the audit log tells the whole story
	// and holds no secret.
	a, err := openApp(context.Background(), e.g(), openOptions{logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	acc, err := a.core.LookupAccount(context.Background(), zoe)
	if err != nil {
		t.Fatal(err)
	}
	if st, err := a.core.SecurityStatus(context.Background(), acc.ID); err != nil || st.Method != portal.MethodTOTP {
		t.Fatalf("2FA method %q (%v), want totp", st.Method, err)
	}
	entries, err := a.support.Audit(context.Background(), "", 1000)
	if err != nil {
		t.Fatal(err)
	}
	var story []string
	for i := len(entries) - 1; i >= 0; i-- {
		en := entries[i]
		story = append(story, support.FormatEntry(en))
	}
	log := strings.Join(story, "\n")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`slack:` + outsider + ` +staff_refused +refused: not staff: handoff`),
		regexp.MustCompile(`slack:` + outsider + ` +staff_refused +refused: not staff: audit`),
		regexp.MustCompile(`slack:` + agent + ` \(staff\) +handoff_created +refused: no account`),
		regexp.MustCompile(`slack:` + agent + ` \(staff\) +handoff_created +link e-mailed, ticket T-1234`),
		regexp.MustCompile(`telegram:777001 +step +Verify password`),
		regexp.MustCompile(`telegram:777001 +escalated +asked for a person at Verify SMS code`),
		regexp.MustCompile(`slack:` + outsider + ` +staff_refused +refused: not staff: takeover`),
		regexp.MustCompile(`slack:` + agent + ` \(staff\) +takeover +took over telegram:777001 as Sam Agent`),
		regexp.MustCompile(`slack:` + agent + ` \(staff\) +agent_message +wrote to telegram:777001`),
		regexp.MustCompile(`slack:` + outsider + ` +staff_refused +refused: not staff: handback`),
		regexp.MustCompile(`slack:` + agent + ` \(staff\) +handback +handed telegram:777001 back`),
		regexp.MustCompile(`telegram:777001 +step +Identity verified`),
		regexp.MustCompile(`telegram:777001 +step +Completed`),
		regexp.MustCompile(`slack:` + groupie + ` \(staff\) +audit_viewed`),
	} {
		if !want.MatchString(log) {
			t.Errorf("the audit log lacks %s:\n%s", want, log)
		}
	}
	raw, err := os.ReadFile(filepath.Join(e.dir, "support.db"))
	if err != nil {
		t.Fatal(err)
	}
	sessions, err := os.ReadFile(filepath.Join(e.dir, "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range e.secrets {
		if bytes.Contains(raw, []byte(s)) || bytes.Contains(sessions, []byte(s)) || strings.Contains(e.log.String(), s) {
			t.Errorf("a secret (%d characters) is in support.db, sessions.db or the log", len(s))
		}
	}
	if bytes.Contains(raw, []byte(token)) {
		t.Error("support.db holds the hand-off token in clear")
	}
}

// keyFromQR decodes the QR code with an independent decoder and parses
// its otpauth URI.
func (e *e2e) keyFromQR(png []byte) *otp.Key {
	e.t.Helper()
	uri, err := qrdecode.Decode(png)
	if err != nil {
		e.t.Fatalf("decode QR: %v", err)
	}
	k, err := otp.NewKeyFromURL(uri)
	if err != nil {
		e.t.Fatal(err)
	}
	e.secrets = append(e.secrets, k.Secret())
	return k
}

// totpCode is the app's current code for key.
func (e *e2e) totpCode(k *otp.Key) string {
	e.t.Helper()
	code, err := totp.GenerateCode(k.Secret(), time.Now())
	if err != nil {
		e.t.Fatal(err)
	}
	e.secrets = append(e.secrets, code)
	return code
}

// smtpSink is a real SMTP server (github.com/emersion/go-smtp) on
// 127.0.0.1 that keeps every message it receives.
type smtpSink struct {
	t    *testing.T
	dir  string // where messages are written to be parsed
	port int
	mu   sync.Mutex
	raw  [][]byte
}

func startSMTPSink(t *testing.T) *smtpSink {
	t.Helper()
	sink := &smtpSink{t: t, dir: t.TempDir()}
	s := smtp.NewServer(smtp.BackendFunc(func(*smtp.Conn) (smtp.Session, error) { return &sinkSession{sink: sink}, nil }))
	s.Domain = "localhost"
	s.ReadTimeout, s.WriteTimeout = 10*time.Second, 10*time.Second
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink.port = ln.Addr().(*net.TCPAddr).Port
	done := make(chan struct{})
	go func() { defer close(done); _ = s.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		ln.Close()
		<-done
	})
	return sink
}

// messages returns the messages received so far, parsed.
func (s *smtpSink) messages() []mail.Message {
	s.mu.Lock()
	raw := slices.Clone(s.raw)
	s.mu.Unlock()
	var out []mail.Message
	for i, r := range raw {
		p := filepath.Join(s.dir, strconv.Itoa(i)+".eml")
		if err := os.WriteFile(p, r, 0o600); err != nil {
			s.t.Fatal(err)
		}
		m, err := mail.ReadEML(p)
		if err != nil {
			s.t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

type sinkSession struct{ sink *smtpSink }

func (s *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (s *sinkSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *sinkSession) Reset()                               {}
func (s *sinkSession) Logout() error                        { return nil }
func (s *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.sink.mu.Lock()
	s.sink.raw = append(s.sink.raw, b)
	s.sink.mu.Unlock()
	return nil
}
