package slack_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/bot"
	"guidedfix/internal/testkit"
)

const (
	supportCh = "C9SUPPORT"
	staffer   = "U5STAFF"   // staff by id
	grouped   = "U6GROUPED" // staff by user group
	staffGrp  = "S1SUPPORT"
)

// memDesk is a support desk in memory: the slack.Desk the staff side
// uses, and the engine's bot.Support, which escalates and relays through
// the adapter's notifier methods as internal/support.Desk does. (The real
// desk is tested with the adapter in cmd/guidedfix.)
type memDesk struct {
	a *slack.Adapter // set once the adapter exists

	mu       sync.Mutex
	escal    map[string]*escalation // conversation -> latest escalation
	threads  map[string]string      // channel/thread -> conversation
	records  []string               // "user action outcome staff"
	accounts []string               // the account of each record
	handoffs []string               // "staff flow email ticket"
	// beforeStore, if set, runs as an escalation is about to be stored.
	beforeStore func(channel, thread string)
}

type escalation struct{ ch, th, agent string }

func newMemDesk() *memDesk {
	return &memDesk{escal: map[string]*escalation{}, threads: map[string]string{}}
}

func (d *memDesk) Escalate(ctx context.Context, s bot.Session) error {
	return d.a.Escalate(ctx, s.Conversation, "A customer asks for a person.\nStep: "+string(s.State), func(ch, th string) error {
		d.mu.Lock()
		defer d.mu.Unlock()
		if d.beforeStore != nil {
			d.beforeStore(ch, th)
		}
		d.escal[s.Conversation.String()] = &escalation{ch: ch, th: th}
		d.threads[ch+"/"+th] = s.Conversation.String()
		return nil
	})
}

func (d *memDesk) Relay(ctx context.Context, s bot.Session, text string) error {
	d.mu.Lock()
	e := d.escal[s.Conversation.String()]
	d.mu.Unlock()
	if e == nil {
		return errors.New("no escalation")
	}
	return d.a.Post(ctx, e.ch, e.th, "Customer: "+text)
}

func (d *memDesk) HandOff(ctx context.Context, staff, flow, email, ticket string) (string, error) {
	d.mu.Lock()
	d.handoffs = append(d.handoffs, staff+" "+flow+" "+email+" "+ticket)
	d.mu.Unlock()
	switch email {
	case "ghost@example.com":
		return "", slack.ErrNoAccount
	case "app@example.com": // uses an authenticator app already
		return "", &slack.WrongMethodError{Has: "totp", Needs: "sms"}
	case "broken@example.com":
		return "", errors.New("smtp: connection refused")
	}
	return "https://t.me/portal_bot?start=TOKEN_for_" + strings.Split(email, "@")[0], nil
}

func (d *memDesk) Audit(ctx context.Context, staff, email string, limit int) ([]string, error) {
	switch email {
	case "ghost@example.com":
		return nil, slack.ErrNoAccount
	case "new@example.com":
		return nil, nil
	}
	d.Record(ctx, staff, "acc-1", "audit_viewed", "", true)
	if email == "evil@example.com" {
		return []string{"2026-11-29 10:00:00 UTC  slack:U5 (staff)  handoff_created  ticket T-1\n```\n*forged*\x1b[2J\u202e"}, nil
	}
	return []string{"2026-11-29 10:00:00 UTC  telegram:42  step  Verify <SMS> code", "2026-11-29 09:59:00 UTC  slack:U5 (staff)  handoff_created  link e-mailed"}, nil
}

func (d *memDesk) Record(ctx context.Context, user, account, action, outcome string, staff bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.records = append(d.records, fmt.Sprintf("%s %s %s %v", user, action, outcome, staff))
	d.accounts = append(d.accounts, account)
}

func (d *memDesk) lastAccount() string {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(d.accounts) == 0 {
		return ""
	}
	return d.accounts[len(d.accounts)-1]
}

func (d *memDesk) Claim(ctx context.Context, conv bot.Conversation, agent string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.escal[conv.String()]
	if e == nil {
		return "", errors.New("not escalated")
	}
	if e.agent == "" {
		e.agent = agent
	}
	return e.agent, nil
}

func (d *memDesk) Reassign(ctx context.Context, conv bot.Conversation, from, to string) (string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	e := d.escal[conv.String()]
	if e == nil {
		return "", errors.New("not escalated")
	}
	if from != "" && e.agent == from {
		e.agent = to
	}
	return e.agent, nil
}

func (d *memDesk) Release(ctx context.Context, conv bot.Conversation) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if e := d.escal[conv.String()]; e != nil {
		e.agent = ""
	}
	return nil
}

func (d *memDesk) Thread(ctx context.Context, channel, thread string) (bot.Conversation, string, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	c, ok := d.threads[channel+"/"+thread]
	if e := d.escal[c]; ok && e != nil && e.ch == channel && e.th == thread {
		ch, id, _ := strings.Cut(c, ":")
		return bot.Conversation{Channel: ch, ID: id}, e.agent, nil
	}
	return bot.Conversation{}, "", errors.New("not an escalation thread")
}

func (d *memDesk) recorded() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return slices.Clone(d.records)
}

// newStaffHarness is a harness whose adapter has the staff side: staffer
// is staff by id, grouped by the user group; alice is not staff.
func newStaffHarness(t *testing.T, mode string) (*harness, *memDesk) {
	return newStaffHarnessWith(t, mode, nil)
}

// newStaffHarnessWith is newStaffHarness with prep run on the fake Slack
// before the adapter runs.
func newStaffHarnessWith(t *testing.T, mode string, prep func(*fakeslack.Server)) (*harness, *memDesk) {
	d := newMemDesk()
	h := newHarness(t, setup{mode: mode, env: testkit.Options{Support: d}, fake: prep, adapt: func(o *slack.Options) {
		o.SupportChannel, o.StaffUserIDs, o.StaffGroup, o.Desk = supportCh, []string{staffer}, staffGrp, d
	}})
	d.a = h.a
	h.fake.AddUser(fakeslack.User{ID: staffer, Name: "Sam"})
	h.fake.AddUser(fakeslack.User{ID: grouped, Name: "Gil"})
	h.fake.AddUserGroup(staffGrp, grouped)
	return h, d
}

// staffCommand runs "/guidedfix text" as user in the support channel and
// returns the ephemeral answer (through the command's response_url).
func (h *harness) staffCommand(user, text string) string {
	h.t.Helper()
	n := len(h.fake.Ephemeral())
	if ack := h.tr.command(h.fake.Command(user, supportCh, "/guidedfix", text)); len(ack) != 0 && string(ack) != "null" {
		h.t.Fatalf("a staff command was acknowledged with %s", ack)
	}
	return h.ephemeralSince(n, user)
}

// ephemeralSince returns the one ephemeral message to user after the
// first n.
func (h *harness) ephemeralSince(n int, user string) string {
	h.t.Helper()
	var got []string
	for _, m := range h.fake.Ephemeral()[n:] {
		if m.User == user {
			got = append(got, m.Text)
		}
	}
	if len(got) != 1 {
		h.t.Fatalf("ephemeral messages to %s: %q, want 1", user, got)
	}
	return got[0]
}

// click presses b as user and returns the ephemeral answer, "" if none.
func (h *harness) clickAs(user string, b fakeslack.Button) string {
	h.t.Helper()
	n := len(h.fake.Ephemeral())
	h.tr.interact(h.fake.Click(user, b))
	if len(h.fake.Ephemeral()) == n {
		return ""
	}
	return h.ephemeralSince(n, user)
}

// supportButton returns the newest button with actionID in the support
// channel.
func (h *harness) supportButton(actionID string) fakeslack.Button {
	h.t.Helper()
	for _, b := range h.fake.Buttons(supportCh) {
		if b.ActionID == actionID {
			return b
		}
	}
	h.t.Fatalf("no %s button in the support channel", actionID)
	return fakeslack.Button{}
}

// threadTexts returns the texts of the replies in the support thread.
func (h *harness) threadTexts(thread string) []string {
	var out []string
	for _, m := range h.fake.Thread(supportCh, thread) {
		out = append(out, m.Text)
	}
	return out
}

func TestStaffCommands(t *testing.T) {
	for _, mode := range []string{slack.ModeHTTP, slack.ModeSocket} {
		t.Run(mode, func(t *testing.T) {
			h, d := newStaffHarness(t, mode)
			refused := h.text("slack.staff.refused", map[string]any{"What": "create hand-offs"})
			if got := h.staffCommand(alice, "handoff zoe@example.com"); got != refused {
				t.Fatalf("handoff by a non-staff member: %q", got)
			}
			if got := h.staffCommand(alice, "audit zoe@example.com"); got != h.text("slack.staff.refused", map[string]any{"What": "read the audit log"}) {
				t.Fatalf("audit by a non-staff member: %q", got)
			}
			if len(d.handoffs) != 0 {
				t.Fatalf("hand-offs after refusals: %q", d.handoffs)
			}
			if got := d.recorded(); !slices.Equal(got, []string{alice + " staff_refused handoff false", alice + " staff_refused audit false"}) {
				t.Fatalf("records %q", got)
			}

			if got := h.staffCommand(staffer, "handoff"); got != h.text("slack.staff.usage_handoff", map[string]any{"Command": "/guidedfix", "Flows": "totpswitch"}) {
				t.Fatalf("handoff without an e-mail: %q", got)
			}
			if got := h.staffCommand(staffer, "HANDOFF ghost@example.com"); got != h.text("slack.staff.no_account", map[string]any{"Email": "ghost@example.com"}) {
				t.Fatalf("handoff for an unknown e-mail: %q", got)
			}
			if got := h.staffCommand(staffer, "handoff broken@example.com"); !strings.Contains(got, "could not create the hand-off for broken@example.com") {
				t.Fatalf("failed handoff: %q", got)
			}
			got := h.staffCommand(staffer, "handoff <mailto:zoe@example.com|zoe@example.com> T-9 &lt;urgent&gt;")
			for _, want := range []string{"created for zoe@example.com (ticket T-9 &lt;urgent&gt;)",
				"\nhttps://t.me/portal_bot?start=TOKEN_for_zoe\n", "<#" + supportCh + ">",
				"It works once, for 10 minutes,"} { // the default slack.handoff_ttl
				if !strings.Contains(got, want) {
					t.Fatalf("handoff answered %q, want %q in it", got, want)
				}
			}
			if last := d.handoffs[len(d.handoffs)-1]; last != staffer+" totpswitch zoe@example.com T-9 <urgent>" {
				t.Fatalf("desk got the hand-off %q", last)
			}
			// The second word picks a registered flow by name or start
			// command; a word that names none begins the ticket.
			h.staffCommand(staffer, "handoff zoe@example.com /2FA T-10")
			h.staffCommand(staffer, "handoff zoe@example.com totpswitch")
			h.staffCommand(staffer, "handoff zoe@example.com nosuchflow T-11")
			if got := d.handoffs[len(d.handoffs)-3:]; !slices.Equal(got, []string{staffer + " totpswitch zoe@example.com T-10",
				staffer + " totpswitch zoe@example.com ", staffer + " totpswitch zoe@example.com nosuchflow T-11"}) {
				t.Fatalf("desk got the hand-offs %q", got)
			}

			// The group member is staff; the group is read once a minute.
			got = h.staffCommand(grouped, "audit amy@example.com")
			if !strings.HasPrefix(got, "Audit log of amy@example.com, newest first (2 entries):\n```\n") ||
				!strings.Contains(got, "Verify &lt;SMS&gt; code") || !strings.HasSuffix(got, "\n```") {
				t.Fatalf("audit answered %q", got)
			}
			// A stored ticket cannot close the code block, forge a line or
			// drive a terminal.
			got = h.staffCommand(grouped, "audit evil@example.com")
			if strings.Count(got, "```") != 2 || strings.Count(got, "\n") != 3 || strings.ContainsAny(got, "\x1b\u202e") ||
				!strings.Contains(got, `ticket T-1\n'''\n*forged*\u202e`) {
				t.Fatalf("audit of a forged ticket answered %q", got)
			}
			if got := h.staffCommand(grouped, "audit new@example.com"); got != h.text("slack.staff.audit_empty", map[string]any{"Email": "new@example.com"}) {
				t.Fatalf("audit without entries: %q", got)
			}
			if got := h.staffCommand(grouped, "audit ghost@example.com"); !strings.HasPrefix(got, "No Customer Portal account") {
				t.Fatalf("audit for an unknown e-mail: %q", got)
			}
			if n := len(h.fake.Calls("usergroups.users.list")); n != 1 {
				t.Fatalf("%d usergroups.users.list calls, want 1 (cached)", n)
			}
			for _, c := range h.fake.Calls("response_url") {
				if strings.Contains(string(c.JSON), `"response_type":"in_channel"`) {
					t.Fatalf("a staff answer was not ephemeral: %s", c.JSON)
				}
			}
			// Nothing was posted anywhere but ephemerally.
			if chs := h.fake.Channels(); len(chs) != 0 {
				t.Fatalf("messages in %q", chs)
			}
		})
	}
}

func TestStaffGroupUnreadable(t *testing.T) {
	h, d := newStaffHarness(t, slack.ModeHTTP)
	h.fake.Fail("usergroups.users.list", fakeslack.SlackError("missing_scope"))
	if got := h.staffCommand(grouped, "audit amy@example.com"); got != h.text("slack.staff.check_failed", nil) {
		t.Fatalf("answer when the group cannot be read: %q", got)
	}
	if len(d.recorded()) != 0 {
		t.Fatalf("records %q", d.recorded())
	}
	// Staff by id do not need the group; the next check reads it again.
	if got := h.staffCommand(staffer, "audit new@example.com"); !strings.HasPrefix(got, "The audit log has no entries") {
		t.Fatalf("staff by id: %q", got)
	}
	if got := h.staffCommand(grouped, "audit new@example.com"); !strings.HasPrefix(got, "The audit log has no entries") {
		t.Fatalf("group member after the failure: %q", got)
	}
}

func TestStaffCommandsNeedADesk(t *testing.T) {
	h := newHarness(t, setup{mode: slack.ModeHTTP})
	h.tr.command(h.fake.Command(staffer, h.dm(), "/guidedfix", "handoff zoe@example.com"))
	if c := h.fake.Calls("response_url", "usergroups.users.list"); len(c) != 0 {
		t.Fatalf("staff calls without a desk: %d", len(c))
	}
}

func TestNotifier(t *testing.T) {
	h, _ := newStaffHarness(t, slack.ModeHTTP)
	ctx := t.Context()
	ch, th, err := h.a.OpenThread(ctx, "Hand-off ho_1 for zoe@example.com created by <@"+staffer+">.")
	if err != nil || ch != supportCh || th == "" {
		t.Fatalf("OpenThread: %q %q %v", ch, th, err)
	}
	if err := h.a.Post(ctx, ch, th, "Customer: <!channel> & <@U1> <https://evil.example|click>"); err != nil {
		t.Fatal(err)
	}
	replies := h.fake.Thread(supportCh, th)
	if len(replies) != 1 || replies[0].Text != "Customer: &lt;!channel&gt; &amp; &lt;@U1&gt; &lt;https://evil.example|click&gt;" {
		t.Fatalf("thread %+v", replies)
	}
	conv := bot.Conversation{Channel: "telegram", ID: "42"}
	var ech, eth string
	err = h.a.Escalate(ctx, conv, "A customer asks for a person.", func(c, t string) error { ech, eth = c, t; return nil })
	if err != nil || ech != supportCh || eth == th {
		t.Fatalf("Escalate: %q %q %v", ech, eth, err)
	}
	b := h.supportButton("guidedfix_takeover")
	if b.Value != "telegram:42" || b.Text != "Take over" || b.MessageTS != eth {
		t.Fatalf("take-over button %+v", b)
	}

	plain, err := slack.New(slack.Options{BotToken: botToken, SigningSecret: signing, APIURL: h.fake.APIURL,
		Mode: slack.ModeHTTP, Engine: h.env.Engine})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := plain.OpenThread(ctx, "x"); err == nil {
		t.Error("OpenThread without a support channel")
	}
	if err := plain.Escalate(ctx, conv, "x", nil); err == nil {
		t.Error("Escalate without a support channel")
	}
	if _, err := slack.New(slack.Options{BotToken: botToken, SigningSecret: signing, Mode: slack.ModeHTTP,
		Engine: h.env.Engine, SupportChannel: "D0DM"}); err == nil {
		t.Error("a DM accepted as the support channel")
	}
}

// TestTakeOverRoundTrip runs an escalation of a Slack user's guided fix
// over each transport: "Talk to a person", take-over (staff only, one
// agent at a time), relayed text both ways, hand-back to the step where
// the user left, and what happens around it.
func TestTakeOverRoundTrip(t *testing.T) {
	for _, mode := range []string{slack.ModeHTTP, slack.ModeSocket} {
		t.Run(mode, func(t *testing.T) { runTakeOver(t, mode) })
	}
}

func runTakeOver(t *testing.T, mode string) {
	h, d := newStaffHarness(t, mode)
	pw := h.start()
	h.wantLabels("Enter password", h.text("totp.button.other_email", nil), h.text("totp.button.cancel", nil), h.text("engine.button.human", nil))
	h.press("_human")
	h.wantLast(bot.MsgEscalated, nil)
	take := h.supportButton("guidedfix_takeover")
	thread := take.MessageTS
	if take.Value != "slack:"+h.dm() {
		t.Fatalf("take-over button %+v", take)
	}

	// Only staff take over, and one agent at a time.
	if got := h.clickAs(alice, take); got != h.text("slack.staff.refused", map[string]any{"What": "take a conversation over"}) {
		t.Fatalf("take-over by a non-staff member: %q", got)
	}
	// The refusal is audited under the account it targeted (issue 11
	// item 13).
	if acc := h.session().Tags["account"]; acc == "" || d.lastAccount() != acc {
		t.Fatalf("refused take-over recorded under account %q, want %q", d.lastAccount(), acc)
	}
	if s := h.session(); s.Agent != "" {
		t.Fatalf("agent %q after a refused take-over", s.Agent)
	}
	if got := h.clickAs(staffer, take); got != "" {
		t.Fatalf("take-over answered %q", got)
	}
	if s := h.session(); s.Agent != "Sam" || s.Expect != bot.SecretNone || s.HeldExpect != bot.SecretPassword {
		t.Fatalf("after the take-over: agent %q, expect %q, held %q", s.Agent, s.Expect, s.HeldExpect)
	}
	h.wantLast(bot.MsgTakenOver, map[string]any{"Agent": "Sam"})
	if got := h.threadTexts(thread); len(got) != 1 || !strings.HasPrefix(got[0], "<@"+staffer+"> took over this conversation") {
		t.Fatalf("thread %q", got)
	}
	if got := h.clickAs(staffer, take); got != h.text("slack.staff.you_have_it", nil) {
		t.Fatalf("a second take-over by the agent: %q", got)
	}
	if got := h.clickAs(grouped, take); got != h.text("slack.staff.already_taken", map[string]any{"Holder": staffer}) {
		t.Fatalf("a take-over by another agent: %q", got)
	}

	// The user's text goes to the thread as plain text: no mention.
	body, _ := h.fake.MessageEvent(alice, h.dm(), "help me <!channel> &amp; <@"+staffer+">")
	h.tr.event(body)
	if got := h.threadTexts(thread); got[len(got)-1] != "Customer: help me !channel &amp; @"+staffer {
		t.Fatalf("relayed %q", got[len(got)-1])
	}
	if h.session().State != "awaiting_password" {
		t.Fatal("the relayed text moved the flow")
	}

	// The agent's replies reach the user, in order, once each; others'
	// replies in the thread, and replies in other threads, do not.
	before := len(h.texts(h.dm()))
	e1, _ := h.fake.ReplyEvent(staffer, supportCh, thread, "Hi Alice, <https://portal.example|the portal> is fine.")
	e2, _ := h.fake.ReplyEvent(staffer, supportCh, thread, "Second message")
	h.tr.event(e1)
	h.tr.event(e1) // redelivered
	h.tr.event(e2)
	other, _ := h.fake.ReplyEvent(grouped, supportCh, thread, "side remark")
	h.tr.event(other)
	ch, th, err := h.a.OpenThread(t.Context(), "another thread")
	if err != nil {
		t.Fatal(err)
	}
	elsewhere, _ := h.fake.ReplyEvent(staffer, ch, th, "not for the customer")
	h.tr.event(elsewhere)
	// A file is not relayed and the agent is told; its words are.
	n := len(h.fake.Ephemeral())
	withFile, _ := h.fake.FileReplyEvent(staffer, supportCh, thread, "see the screenshot", "screen.png")
	h.tr.event(withFile)
	if got := h.ephemeralSince(n, staffer); got != h.text("slack.staff.file_not_relayed", nil) {
		t.Fatalf("a file in the thread: %q", got)
	}
	n = len(h.fake.Ephemeral())
	fileOnly, _ := h.fake.FileReplyEvent(staffer, supportCh, thread, "", "screen.png")
	h.tr.event(fileOnly)
	if got := h.ephemeralSince(n, staffer); got != h.text("slack.staff.file_not_relayed", nil) {
		t.Fatalf("a file alone in the thread: %q", got)
	}
	got := h.texts(h.dm())[before:]
	want := []string{h.text(bot.MsgAgentMessage, map[string]any{"Agent": "Sam", "Text": "Hi Alice, the portal (https://portal.example) is fine."}),
		h.text(bot.MsgAgentMessage, map[string]any{"Agent": "Sam", "Text": "Second message"}),
		h.text(bot.MsgAgentMessage, map[string]any{"Agent": "Sam", "Text": "see the screenshot"})}
	if !slices.Equal(got, want) {
		t.Fatalf("the user got %q\nwant %q", got, want)
	}

	// Hand back: staff only; the user is asked the password again and the
	// button goes.
	back := h.supportButton("guidedfix_handback")
	if got := h.clickAs(alice, back); got != h.text("slack.staff.refused", map[string]any{"What": "hand a conversation back"}) {
		t.Fatalf("hand-back by a non-staff member: %q", got)
	}
	// Only the agent who took over hands back (issue 11 item 10).
	if got := h.clickAs(grouped, back); got != h.text("slack.staff.not_your_hand_back", map[string]any{"Holder": staffer}) {
		t.Fatalf("hand-back by another agent: %q", got)
	}
	if s := h.session(); s.Agent != "Sam" || s.Expect != bot.SecretNone {
		t.Fatalf("after another agent's hand-back: agent %q, expect %q", s.Agent, s.Expect)
	}
	if got := h.clickAs(staffer, back); got != "" {
		t.Fatalf("hand-back answered %q", got)
	}
	if s := h.session(); s.Agent != "" || s.Expect != bot.SecretPassword {
		t.Fatalf("after the hand-back: agent %q, expect %q", s.Agent, s.Expect)
	}
	h.wantLast("totp.ask_password", nil)
	h.wantLabels("Enter password", h.text("totp.button.other_email", nil), h.text("totp.button.cancel", nil), h.text("engine.button.human", nil))
	if slices.ContainsFunc(h.fake.Buttons(supportCh), func(b fakeslack.Button) bool { return b.ActionID == "guidedfix_handback" }) {
		t.Fatal("the Hand back button is still there")
	}
	texts := h.threadTexts(thread)
	if texts[0] != h.text("slack.staff.took_over_done", map[string]any{"User": staffer}) ||
		texts[len(texts)-1] != h.text("slack.staff.handed_back", map[string]any{"User": staffer}) {
		t.Fatalf("thread after the hand-back %q", texts)
	}
	if got := h.clickAs(grouped, back); got != h.text("slack.staff.not_taken_over", nil) {
		t.Fatalf("a second hand-back: %q", got)
	}
	n = len(h.fake.Ephemeral())
	late, _ := h.fake.ReplyEvent(staffer, supportCh, thread, "are you there?")
	h.tr.event(late)
	if got := h.ephemeralSince(n, staffer); got != h.text("slack.staff.take_over_first", nil) {
		t.Fatalf("a reply after the hand-back: %q", got)
	}

	// The flow goes on where it was: the password is accepted.
	v := h.enter()
	if a := h.submit(v.ID, pw); a.Action != "update" {
		t.Fatalf("answer to the password after the hand-back: %+v", a)
	}

	// A take-over after the flow ended is refused and released.
	h.tr.command(h.fake.Command(alice, h.dm(), "/guidedfix", "cancel"))
	if got := h.clickAs(staffer, take); got != h.text("slack.staff.not_active", nil) {
		t.Fatalf("take-over of an ended flow: %q", got)
	}
	if _, holder, _ := d.Thread(t.Context(), supportCh, thread); holder != "" {
		t.Fatalf("escalation still held by %q", holder)
	}

	wantRecords := []string{
		alice + " staff_refused takeover false",
		staffer + " takeover took over slack:" + h.dm() + " as Sam true",
		staffer + " agent_message wrote to slack:" + h.dm() + " (54 characters) true",
		staffer + " agent_message wrote to slack:" + h.dm() + " (14 characters) true",
		staffer + " agent_message wrote to slack:" + h.dm() + " (18 characters) true",
		alice + " staff_refused handback false",
		grouped + " handback refused: slack:" + h.dm() + " is held by " + staffer + " true",
		staffer + " handback handed slack:" + h.dm() + " back to the guided steps true",
	}
	if got := d.recorded(); !slices.Equal(got, wantRecords) {
		t.Fatalf("records\n%q\nwant\n%q", got, wantRecords)
	}
	for _, text := range h.outbound() {
		if strings.Contains(text, pw) {
			t.Fatal("the password reached Slack outside the modal")
		}
	}
}

// TestStaffHandOffToSlackUser: `/guidedfix handoff <@U…> [flow]` hands off
// to the account of the Slack user's profile e-mail (users.info); a user
// without one is told plainly and nothing is created.
func TestStaffHandOffToSlackUser(t *testing.T) {
	h, d := newStaffHarness(t, slack.ModeHTTP)
	h.fake.AddUser(fakeslack.User{ID: "U7CUST", Name: "Cy", Email: "cy@example.com"})
	h.fake.AddUser(fakeslack.User{ID: "U8NOMAIL", Name: "Nem"})
	if got := h.staffCommand(staffer, "handoff <@U7CUST|cy> 2fa T-3"); !strings.Contains(got, "created for cy@example.com (ticket T-3)") {
		t.Fatalf("hand-off to a Slack user answered %q", got)
	}
	for _, user := range []string{"U8NOMAIL", "U9GONE"} {
		if got := h.staffCommand(staffer, "handoff <@"+user+">"); got != h.text("slack.staff.no_user_email", map[string]any{"User": user}) {
			t.Fatalf("hand-off to %s answered %q", user, got)
		}
	}
	if !slices.Equal(d.handoffs, []string{staffer + " totpswitch cy@example.com T-3"}) {
		t.Fatalf("desk got the hand-offs %q", d.handoffs)
	}
}
