package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/testkit"
)

const (
	botToken = "xoxb-test-bot-token"
	appToken = "xapp-test-app-token"
	signing  = "test-signing-secret"
	alice    = "U1ALICE"
	public   = "C1PUBLIC"
	private  = "G1PRIVATE"
)

// harness is one adapter wired to the real engine (internal/testkit) and
// a fake Slack, driven over one transport.
type harness struct {
	t      *testing.T
	env    *testkit.Env
	fake   *fakeslack.Server
	a      *slack.Adapter
	client *fakeslack.Client // HTTP mode
	tr     transport
	opts   slack.Options

	mu      sync.Mutex
	answers [][]byte // every answer the adapter gave Slack
}

// transport delivers Slack's inbound traffic to the adapter and returns
// the adapter's answer (HTTP body or Socket Mode ack payload) once the
// work it started is done.
type transport interface {
	command(form url.Values) []byte
	interact(payload []byte) []byte
	event(body []byte) []byte
}

type setup struct {
	mode  string
	env   testkit.Options
	adapt func(*slack.Options)
	// fake, if set, prepares the fake Slack before the adapter runs.
	fake func(*fakeslack.Server)
}

func newHarness(t *testing.T, s setup) *harness {
	t.Helper()
	if s.env.Order == "" {
		s.env.Order = totpswitch.OrderDisableThenEnroll // these tests follow the KB order
	}
	h := &harness{t: t, env: testkit.New(t, s.env)}
	h.fake = fakeslack.New(fakeslack.Options{BotToken: botToken, AppToken: appToken})
	t.Cleanup(h.fake.Close)
	h.fake.AddUser(fakeslack.User{ID: alice, Email: "alice@example.com", Locale: "en-US"})
	h.fake.AddChannel(public)
	h.fake.AddChannel(private)
	h.fake.AddChannel(supportCh)
	if s.fake != nil {
		s.fake(h.fake)
	}
	opts := slack.Options{BotToken: botToken, AppToken: appToken, SigningSecret: signing, APIURL: h.fake.APIURL,
		Mode: s.mode, Engine: h.env.Engine, Logger: slog.New(slog.NewTextHandler(h.env.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if s.adapt != nil {
		s.adapt(&opts)
	}
	h.opts = opts
	var err error
	if h.a, err = slack.New(opts); err != nil {
		t.Fatal(err)
	}
	h.client = &fakeslack.Client{Server: h.fake, Handler: h.a.Handler(), Secret: signing}
	if opts.Mode == slack.ModeHTTP {
		h.tr = httpTransport{h}
		return h
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- h.a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	h.tr = socketTransport{h}
	return h
}

// restart simulates a process restart in HTTP mode: the store and the
// core are reopened on the same files (testkit.Env.Restart) and a new
// adapter with the same options serves the new engine; the fake Slack
// keeps its state. It returns the new adapter.
func (h *harness) restart() *slack.Adapter {
	h.t.Helper()
	if h.opts.Mode != slack.ModeHTTP {
		h.t.Fatal("restart needs HTTP mode")
	}
	slack.WaitIdle(h.a)
	h.env.Restart(h.t)
	h.opts.Engine = h.env.Engine
	var err error
	if h.a, err = slack.New(h.opts); err != nil {
		h.t.Fatal(err)
	}
	h.client = &fakeslack.Client{Server: h.fake, Handler: h.a.Handler(), Secret: signing}
	return h.a
}

func (h *harness) answered(b []byte) []byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answers = append(h.answers, b)
	return b
}

type httpTransport struct{ h *harness }

func (tr httpTransport) ok(r fakeslack.Response) []byte {
	tr.h.t.Helper()
	if r.Status != 200 {
		tr.h.t.Fatalf("HTTP %d: %s", r.Status, r.Body)
	}
	slack.WaitIdle(tr.h.a)
	return tr.h.answered(r.Body)
}

func (tr httpTransport) command(form url.Values) []byte { return tr.ok(tr.h.client.Command(form)) }
func (tr httpTransport) interact(p []byte) []byte       { return tr.ok(tr.h.client.Interact(p)) }
func (tr httpTransport) event(body []byte) []byte       { return tr.ok(tr.h.client.Event(body, 0)) }

type socketTransport struct{ h *harness }

func (tr socketTransport) push(typ string, payload []byte) []byte {
	tr.h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	id, err := tr.h.fake.Push(ctx, typ, payload)
	if err != nil {
		tr.h.t.Fatal(err)
	}
	ack, err := tr.h.fake.WaitAck(ctx, id)
	if err != nil {
		tr.h.t.Fatal(err)
	}
	slack.WaitIdle(tr.h.a)
	return tr.h.answered(ack)
}

func (tr socketTransport) command(form url.Values) []byte {
	return tr.push("slash_commands", fakeslack.FormJSON(form))
}
func (tr socketTransport) interact(p []byte) []byte { return tr.push("interactive", p) }
func (tr socketTransport) event(body []byte) []byte { return tr.push("events_api", body) }

// dm returns alice's DM channel with the app.
func (h *harness) dm() string { return h.fake.IM(alice) }

// conv returns the engine's conversation of alice's DM.
func (h *harness) conv() bot.Conversation {
	return bot.Conversation{Channel: slack.Channel, ID: h.dm()}
}

// session returns alice's session, nil when there is none.
func (h *harness) session() *bot.Session {
	h.t.Helper()
	s, err := h.env.Engine.Session(context.Background(), h.conv())
	if errors.Is(err, bot.ErrNoSession) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

// button returns the newest button in alice's DM that match accepts.
func (h *harness) button(what string, match func(fakeslack.Button) bool) fakeslack.Button {
	h.t.Helper()
	for _, b := range h.fake.Buttons(h.dm()) {
		if match(b) {
			return b
		}
	}
	h.t.Fatalf("no %s button in the DM; last message %q", what, h.lastText())
	return fakeslack.Button{}
}

// press presses the newest button of the flow's action in the DM.
func (h *harness) press(action string) []byte {
	h.t.Helper()
	b := h.button(action, func(b fakeslack.Button) bool { return strings.HasPrefix(b.Value, action+"|") })
	return h.tr.interact(h.fake.Click(alice, b))
}

// enter presses the newest Enter password/code button and returns the
// modal it opened.
func (h *harness) enter() fakeslack.View {
	h.t.Helper()
	b := h.button("Enter", func(b fakeslack.Button) bool { return b.ActionID == "guidedfix_secret" })
	before, _ := h.fake.LastView()
	if a := h.tr.interact(h.fake.Click(alice, b)); len(a) != 0 {
		h.t.Fatalf("answer to the Enter button: %s", a)
	}
	v, ok := h.fake.LastView()
	if !ok || v.ID == before.ID || v.Closed {
		h.t.Fatalf("no modal opened")
	}
	return v
}

// answer is the adapter's answer to a view submission.
type answer struct {
	Action string            `json:"response_action"`
	Errors map[string]string `json:"errors"`
	View   *struct {
		CallbackID      string `json:"callback_id"`
		PrivateMetadata string `json:"private_metadata"`
	} `json:"view"`
}

// submit submits value in modal id and returns the answer.
func (h *harness) submit(id, value string) answer {
	h.t.Helper()
	p, err := h.fake.Submit(id, value)
	if err != nil {
		h.t.Fatal(err)
	}
	return parseAnswer(h.t, h.tr.interact(p))
}

func parseAnswer(t *testing.T, b []byte) answer {
	t.Helper()
	var a answer
	if len(b) > 0 && string(b) != "null" {
		if err := json.Unmarshal(b, &a); err != nil {
			t.Fatalf("answer %s: %v", b, err)
		}
	}
	return a
}

// field returns the secret field a modal collects, from its
// private_metadata.
func field(t *testing.T, metadata string) bot.SecretField {
	t.Helper()
	var m struct {
		F bot.SecretField `json:"f"`
	}
	if err := json.Unmarshal([]byte(metadata), &m); err != nil {
		t.Fatalf("private_metadata %q: %v", metadata, err)
	}
	return m.F
}

// texts returns the texts of the messages in channel.
func (h *harness) texts(channel string) []string {
	var out []string
	for _, m := range h.fake.History(channel) {
		out = append(out, m.Text)
	}
	return out
}

func (h *harness) lastText() string {
	ts := h.texts(h.dm())
	if len(ts) == 0 {
		return ""
	}
	return ts[len(ts)-1]
}

// text renders catalog message id as the engine does for alice.
func (h *harness) text(id string, data map[string]any) string {
	return h.env.Engine.Text("en-US", "slack", id, data)
}

// wantLast fails unless the DM's newest message is catalog message id,
// alone or as the last part of replies joined into one message
// (bot.Joiner: parts separated by a blank line).
func (h *harness) wantLast(id string, data map[string]any) {
	h.t.Helper()
	if got, want := h.lastText(), h.text(id, data); got != want && !strings.HasSuffix(got, "\n\n"+want) {
		h.t.Fatalf("last DM message %q\nwant %s: %q", got, id, want)
	}
}

// labels returns the labels of the buttons of the DM's newest message.
func (h *harness) labels() []string {
	ms := h.fake.History(h.dm())
	var out []string
	for _, b := range h.fake.Buttons(h.dm()) {
		if b.MessageTS == ms[len(ms)-1].TS {
			out = append(out, b.Text)
		}
	}
	return out
}

func (h *harness) wantLabels(want ...string) {
	h.t.Helper()
	if got := h.labels(); !slices.Equal(got, want) {
		h.t.Fatalf("buttons %q, want %q", got, want)
	}
}

// outbound returns everything the app sent Slack as text: message texts
// and blocks, file comments, views, ephemeral notes, and its answers to
// Slack's requests.
func (h *harness) outbound() []string {
	var out []string
	for _, c := range h.fake.Calls() {
		switch c.Method {
		case "chat.postMessage", "chat.update", "chat.postEphemeral", "files.completeUploadExternal":
			out = append(out, c.Params.Get("text")+"\n"+c.Params.Get("blocks")+"\n"+c.Params.Get("initial_comment"))
		case "views.open", "views.update", "views.publish":
			out = append(out, string(c.JSON))
		}
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, a := range h.answers {
		out = append(out, string(a))
	}
	return out
}

// checkNoSecrets fails unless none of secrets occurs in what the app sent
// to Slack, and the TOTP secret (spaces ignored) occurs in exactly one
// message, the manual key, which must no longer exist.
func (h *harness) checkNoSecrets(totpSecret string, secrets ...string) {
	h.t.Helper()
	for _, text := range h.outbound() {
		for _, s := range secrets {
			if strings.Contains(text, s) {
				h.t.Errorf("a secret (%d characters) was sent to Slack: %.80q…", len(s), text)
			}
		}
	}
	var withKey []fakeslack.Call
	for _, c := range h.fake.Calls() {
		if strings.Contains(strings.ReplaceAll(c.Text(), " ", ""), totpSecret) {
			withKey = append(withKey, c)
		}
	}
	if len(withKey) != 1 || withKey[0].Method != "chat.postMessage" || withKey[0].Params.Get("channel") != h.dm() {
		h.t.Fatalf("the TOTP secret went to Slack in %d calls, want 1 chat.postMessage to the DM", len(withKey))
	}
	for _, ch := range h.fake.Channels() {
		for _, m := range h.fake.History(ch) {
			if strings.Contains(strings.ReplaceAll(m.Text, " ", ""), totpSecret) {
				h.t.Errorf("the manual key message still exists in %s", ch)
			}
		}
	}
}
