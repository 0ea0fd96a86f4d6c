package slack

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"guidedfix/bot"
	"guidedfix/internal/termsafe"
)

// ErrNoAccount is returned by Desk.HandOff and Desk.Audit when no Customer
// Portal account has the e-mail; staff are told so plainly.
var ErrNoAccount = errors.New("slack: no Customer Portal account has this e-mail")

// Desk is the support desk behind the staff side of the adapter
// (cmd/guidedfix wires it to internal/support). It never changes a
// customer's account: staff start, watch and talk; every change of the
// customer's 2FA still needs the customer's own password and current
// factor, in the flow. Implementations must be safe for concurrent use.
type Desk interface {
	// HandOff creates a hand-off of the guided fix flow (a registered
	// flow's name, bot.Engine.Flows; "" for the default flow) for the
	// account with email on behalf of staff (a Slack user id), with an
	// optional ticket reference, e-mails the customer the deep link,
	// opens the hand-off's watch thread and returns the link. It returns
	// ErrNoAccount when no account has the e-mail, and a
	// *WrongMethodError when the account's 2FA method does not suit flow.
	HandOff(ctx context.Context, staff, flow, email, ticket string) (link string, err error)
	// Audit returns the newest limit audit entries of the account with
	// email, one line each, newest first, and records that staff read
	// them. It returns ErrNoAccount when no account has the e-mail.
	Audit(ctx context.Context, staff, email string, limit int) ([]string, error)
	// Record appends an action of Slack user (staff when staff is set,
	// else a refused attempt) about account (may be empty) to the audit
	// log.
	Record(ctx context.Context, user, account, action, outcome string, staff bool)
	// Claim gives conv's latest escalation to agent unless another agent
	// has it, and returns who has it afterwards (agent when claimed).
	Claim(ctx context.Context, conv bot.Conversation, agent string) (holder string, err error)
	// Reassign moves conv's latest escalation from agent from to agent to
	// when from has it (an explicit, audited "take over from"), atomically,
	// and returns who has it afterwards (to when moved).
	Reassign(ctx context.Context, conv bot.Conversation, from, to string) (holder string, err error)
	// Release records that no agent has conv's latest escalation.
	Release(ctx context.Context, conv bot.Conversation) error
	// Thread returns the conversation whose latest escalation is the
	// support-channel thread (channel, thread) and the agent who has it
	// ("" if nobody); an error when the thread is no such escalation.
	Thread(ctx context.Context, channel, thread string) (conv bot.Conversation, agent string, err error)
}

// auditLimit is how many audit entries "/guidedfix audit" shows.
const auditLimit = 20

// staffGroupTTL is how long the staff group's members are cached.
const staffGroupTTL = time.Minute

// staffSet says who is staff: configured user ids, and the members of a
// user group, read with usergroups.users.list and cached.
type staffSet struct {
	ids   map[string]bool
	group string

	mu      sync.Mutex
	members map[string]bool
	fetched time.Time
}

func newStaffSet(ids []string, group string) *staffSet {
	s := &staffSet{ids: map[string]bool{}, group: group}
	for _, id := range ids {
		s.ids[id] = true
	}
	return s
}

// isStaff reports whether user is support staff. It returns an error
// when the staff group's members could not be read (and user is not
// among the configured ids).
func (a *Adapter) isStaff(ctx context.Context, user string) (bool, error) {
	s := a.staff
	if user == "" {
		return false, nil
	}
	if s.ids[user] {
		return true, nil
	}
	if s.group == "" {
		return false, nil
	}
	s.mu.Lock()
	if s.members != nil && time.Since(s.fetched) < staffGroupTTL {
		ok := s.members[user]
		s.mu.Unlock()
		return ok, nil
	}
	s.mu.Unlock()
	var users []string
	err := a.call(ctx, func() (err error) { users, err = a.api.GetUserGroupMembersContext(ctx, s.group); return err })
	if err != nil {
		return false, fmt.Errorf("slack: usergroups.users.list %s: %w", s.group, err)
	}
	members := make(map[string]bool, len(users))
	for _, u := range users {
		members[u] = true
	}
	s.mu.Lock()
	s.members, s.fetched = members, time.Now()
	s.mu.Unlock()
	return members[user], nil
}

// checkStaff runs the staff check for an attempt to do what (a phrase:
// "create hand-offs") and, when user is not staff, tells them with say
// and records the refused attempt. It reports whether user may go on.
func (a *Adapter) checkStaff(ctx context.Context, user, action, what string, say func(string)) bool {
	return a.checkStaffFor(ctx, user, "", action, what, say)
}

// checkStaffFor is checkStaff for an action that targets account (may be
// ""): a refused attempt is audited under that account (issue 11 item 13).
func (a *Adapter) checkStaffFor(ctx context.Context, user, account, action, what string, say func(string)) bool {
	ok, err := a.isStaff(ctx, user)
	if err != nil {
		a.log.ErrorContext(ctx, "slack: staff check failed", "user", user, "err", err)
		say(a.staffText("slack.staff.check_failed", nil))
		return false
	}
	if !ok {
		a.log.WarnContext(ctx, "slack: staff action refused", "user", user, "action", action)
		a.desk.Record(ctx, user, account, "staff_refused", action, false)
		say(a.staffText("slack.staff.refused", map[string]any{"What": what}))
	}
	return ok
}

// staffCommand runs "/guidedfix handoff EMAIL [FLOW] [TICKET]" or
// "/guidedfix audit EMAIL" and answers the staff member ephemerally.
// EMAIL may be a Slack user mention (<@U123>): the user's profile e-mail
// is used. FLOW
// is a registered flow's name or start command (bot.Engine.Flows), the
// default flow when left out; a second word that names no flow begins
// the ticket reference.
func (a *Adapter) staffCommand(ctx context.Context, cmd slackapi.SlashCommand, name string, args []string) {
	say := func(text string) { a.respond(ctx, cmd, text) }
	what := map[string]string{"handoff": "create hand-offs", "audit": "read the audit log"}[name]
	if !a.checkStaff(ctx, cmd.UserID, name, what, say) {
		return
	}
	if len(args) == 0 {
		say(a.staffText("slack.staff.usage_"+name, map[string]any{"Command": a.command, "Flows": a.flowList()}))
		return
	}
	email := strings.TrimSpace(plainText(args[0]))
	if m := userMention.FindStringSubmatch(args[0]); m != nil {
		// A Slack user (<@U123> or <@U123|name>): their profile e-mail
		// (users.info), the account a customer on Slack uses.
		var err error
		if email, err = a.userEmail(ctx, m[1]); err != nil {
			a.log.WarnContext(ctx, "slack: users.info for a hand-off failed", "user", m[1], "err", err)
			say(a.staffText("slack.staff.no_user_email", map[string]any{"User": m[1]}))
			return
		}
	}
	data := map[string]any{"Email": escape(email)}
	switch name {
	case "handoff":
		rest := args[1:]
		flow := a.engine.Flows()[0]
		if len(rest) > 0 {
			if d, ok := a.flowNamed(plainText(rest[0])); ok {
				flow, rest = d, rest[1:]
			}
		}
		ticket := strings.TrimSpace(plainText(strings.Join(rest, " ")))
		if len(ticket) > 100 {
			ticket = ticket[:100]
		}
		if flow.Title != "" {
			data["Flow"] = a.staffText(flow.Title, nil)
		}
		link, err := a.desk.HandOff(ctx, cmd.UserID, flow.Name, email, ticket)
		switch {
		case errors.Is(err, ErrNoAccount):
			say(a.staffText("slack.staff.no_account", data))
		case a.wrongMethodData(err, data):
			say(a.staffText("slack.staff.wrong_method", data))
		case err != nil:
			a.log.ErrorContext(ctx, "slack: hand-off failed", "user", cmd.UserID, "err", err)
			say(a.staffText("slack.staff.handoff_failed", data))
		default:
			data["Link"], data["Ticket"] = link, escape(ticket)
			data["Minutes"] = max(int(a.handoffTTL.Round(time.Minute)/time.Minute), 1)
			if a.supportReachable() {
				data["Channel"] = a.supportChannel
			}
			text := a.staffText("slack.staff.handoff_done", data)
			if a.supportChannel != "" && !a.supportReachable() {
				text += "\n" + a.staffText("slack.staff.support_unreachable", map[string]any{"Channel": a.supportChannel})
			}
			say(text)
		}
	case "audit":
		lines, err := a.desk.Audit(ctx, cmd.UserID, email, auditLimit)
		switch {
		case errors.Is(err, ErrNoAccount):
			say(a.staffText("slack.staff.no_account", data))
		case err != nil:
			a.log.ErrorContext(ctx, "slack: audit failed", "user", cmd.UserID, "err", err)
			say(a.staffText("slack.staff.failed", nil))
		case len(lines) == 0:
			say(a.staffText("slack.staff.audit_empty", data))
		default:
			data["N"] = len(lines)
			say(a.staffText("slack.staff.audit", data) + "\n```\n" + escape(strings.Join(auditLines(lines), "\n")) + "\n```")
		}
	}
}

// userMention matches a Slack user mention as a whole argument: <@U123>
// or <@U123|name> (api.slack.com/reference/surfaces/formatting#mentioning-users).
var userMention = regexp.MustCompile(`^<@([UW][A-Z0-9]+)(?:\|[^<>]*)?>$`)

// userEmail returns the profile e-mail of Slack user id (users.info); an
// error when Slack does not answer or the profile has none.
func (a *Adapter) userEmail(ctx context.Context, id string) (string, error) {
	var u *slackapi.User
	if err := a.call(ctx, func() (err error) { u, err = a.api.GetUserInfoContext(ctx, id); return err }); err != nil {
		return "", err
	}
	if u == nil || strings.TrimSpace(u.Profile.Email) == "" {
		return "", errors.New("slack: the user's profile has no e-mail")
	}
	return strings.TrimSpace(u.Profile.Email), nil
}

// flowNamed returns the descriptor of the registered flow that word
// names (bot.FlowByWord: its name or a start command).
func (a *Adapter) flowNamed(word string) (bot.Descriptor, bool) {
	return bot.FlowByWord(a.engine.Flows(), word)
}

// flowList names the registered flows for staff, comma-separated, the
// default first ("totpswitch, newphone").
func (a *Adapter) flowList() string {
	var names []string
	for _, d := range a.engine.Flows() {
		names = append(names, d.Name)
	}
	return strings.Join(names, ", ")
}

// respond answers a slash command ephemerally through its response_url
// (which works in any channel), or with chat.postEphemeral without one.
func (a *Adapter) respond(ctx context.Context, cmd slackapi.SlashCommand, text string) {
	if cmd.ResponseURL == "" {
		a.ephemeral(ctx, cmd.ChannelID, cmd.UserID, text)
		return
	}
	err := a.call(ctx, func() error {
		_, _, err := a.api.PostMessageContext(ctx, cmd.ChannelID, slackapi.MsgOptionText(text, false),
			slackapi.MsgOptionResponseURL(cmd.ResponseURL, slackapi.ResponseTypeEphemeral))
		return err
	})
	if err != nil {
		a.log.ErrorContext(ctx, "slack: response_url failed", "user", cmd.UserID, "err", err)
	}
}

// ephemeral shows text to user only, in channel (chat.postEphemeral).
func (a *Adapter) ephemeral(ctx context.Context, channel, user, text string) {
	err := a.call(ctx, func() error {
		// Hand-off links are shown here: no unfurl fetches them (issue 11
		// item 9).
		_, err := a.api.PostEphemeralContext(ctx, channel, user, slackapi.MsgOptionText(text, false),
			slackapi.MsgOptionDisableLinkUnfurl(), slackapi.MsgOptionDisableMediaUnfurl())
		return err
	})
	if err != nil {
		a.log.ErrorContext(ctx, "slack: chat.postEphemeral failed", "channel", channel, "user", user, "err", err)
	}
}

// takeOver handles the "Take over" button of an escalation: after the
// staff check, the agent claims the escalation, the engine hands the
// conversation to them (its pending secret prompt is set aside) and the
// thread says so, with a "Hand back" button.
func (a *Adapter) takeOver(ctx context.Context, ic slackapi.InteractionCallback, value string) {
	user, ch, ts := ic.User.ID, containerChannel(ic), ic.Container.MessageTs
	say := func(text string) { a.ephemeral(ctx, ch, user, text) }
	conv, ok := parseConv(value)
	if !a.checkStaffFor(ctx, user, a.targetAccount(ctx, conv, ok), "takeover", "take a conversation over", say) {
		return
	}
	current, holder, err := a.desk.Thread(ctx, ch, ts)
	if !ok || err != nil || current != conv {
		say(a.staffText("slack.staff.stale_escalation", nil))
		return
	}
	if holder == "" {
		if holder, err = a.desk.Claim(ctx, conv, user); err != nil {
			a.log.ErrorContext(ctx, "slack: claim failed", "conversation", conv.String(), "err", err)
			say(a.staffText("slack.staff.failed", nil))
			return
		}
		if holder == user {
			holder = "" // claimed now
		}
	}
	switch holder {
	case "":
	case user:
		say(a.staffText("slack.staff.you_have_it", nil))
		return
	default:
		say(a.staffText("slack.staff.already_taken", map[string]any{"Holder": holder}))
		return
	}
	name := a.displayName(ctx, user)
	if err := a.engine.TakeOver(ctx, conv, name); err != nil {
		if rerr := a.desk.Release(ctx, conv); rerr != nil {
			a.log.ErrorContext(ctx, "slack: release failed", "conversation", conv.String(), "err", rerr)
		}
		if errors.Is(err, bot.ErrNotActive) {
			say(a.staffText("slack.staff.not_active", nil))
			return
		}
		a.log.ErrorContext(ctx, "slack: take-over failed", "conversation", conv.String(), "err", err)
		say(a.staffText("slack.staff.failed", nil))
		return
	}
	text := a.staffText("slack.staff.took_over", map[string]any{"User": user, "Name": escape(name)})
	a.postHolderNote(ctx, ch, ts, conv, user, name, text)
	a.desk.Record(ctx, user, a.account(ctx, conv), "takeover", "took over "+conv.String()+" as "+name, true)
}

// postHolderNote posts text in the escalation thread (channel, thread)
// with the buttons of the agent holder (display name name): "Hand back"
// and "Take over from <name>", which another staff member presses to take
// the conversation over explicitly.
func (a *Adapter) postHolderNote(ctx context.Context, channel, thread string, conv bot.Conversation, holder, name, text string) {
	back := slackapi.NewButtonBlockElement(actionHandBack, conv.String(), plain(a.staffText("slack.button.hand_back", nil)))
	label := []rune(name)
	if len(label) > 40 {
		label = append(label[:39], '…')
	}
	from := slackapi.NewButtonBlockElement(actionTakeOverFrom, conv.String()+"|"+holder,
		plain(a.staffText("slack.button.take_over_from", map[string]any{"Name": string(label)})))
	if _, _, err := a.postSupport(ctx, channel, thread, text, false, mrkdwnSection(text), slackapi.NewActionBlock("", back, from)); err != nil {
		a.log.ErrorContext(ctx, "slack: take-over note failed", "conversation", conv.String(), "err", err)
	}
}

// takeOverFrom handles "Take over from <agent>" (issue 11 item 10): a
// staff member other than the agent holding the escalation takes the
// conversation over from them. The escalation moves only if that agent
// still holds it (Desk.Reassign); the engine names the new agent to the
// customer; the thread tells the previous agent, whose note loses its
// buttons; the audit log records who took it from whom, under the
// account. The holder pressing it is told they have it; a stale button
// changes nothing.
func (a *Adapter) takeOverFrom(ctx context.Context, ic slackapi.InteractionCallback, value string) {
	user, ch := ic.User.ID, containerChannel(ic)
	say := func(text string) { a.ephemeral(ctx, ch, user, text) }
	convText, from, _ := strings.Cut(value, "|")
	conv, ok := parseConv(convText)
	ok = ok && from != ""
	account := a.targetAccount(ctx, conv, ok)
	if !a.checkStaffFor(ctx, user, account, "takeover_from", "take a conversation over", say) {
		return
	}
	thread := ic.Container.ThreadTs
	if thread == "" {
		thread = ic.Message.ThreadTimestamp
	}
	current, holder, err := a.desk.Thread(ctx, ch, thread)
	if !ok || err != nil || current != conv {
		say(a.staffText("slack.staff.stale_escalation", nil))
		return
	}
	switch holder {
	case user:
		say(a.staffText("slack.staff.you_have_it", nil))
		return
	case "":
		say(a.staffText("slack.staff.nobody_has_it", nil))
		return
	case from:
	default:
		say(a.staffText("slack.staff.holder_changed", map[string]any{"Holder": holder}))
		return
	}
	if holder, err = a.desk.Reassign(ctx, conv, from, user); err != nil {
		a.log.ErrorContext(ctx, "slack: take-over from failed", "conversation", conv.String(), "err", err)
		say(a.staffText("slack.staff.failed", nil))
		return
	}
	if holder != user {
		say(a.staffText("slack.staff.holder_changed", map[string]any{"Holder": holder}))
		return
	}
	name := a.displayName(ctx, user)
	if err := a.engine.TakeOver(ctx, conv, name); err != nil {
		if errors.Is(err, bot.ErrNotActive) {
			if rerr := a.desk.Release(ctx, conv); rerr != nil {
				a.log.ErrorContext(ctx, "slack: release failed", "conversation", conv.String(), "err", rerr)
			}
			say(a.staffText("slack.staff.not_active", nil))
			return
		}
		// The customer still talks to the previous agent: give it back.
		if _, rerr := a.desk.Reassign(ctx, conv, user, from); rerr != nil {
			a.log.ErrorContext(ctx, "slack: reassign back failed", "conversation", conv.String(), "err", rerr)
		}
		a.log.ErrorContext(ctx, "slack: take-over from failed", "conversation", conv.String(), "err", err)
		say(a.staffText("slack.staff.failed", nil))
		return
	}
	if ts := ic.Container.MessageTs; ts != "" {
		done := a.staffText("slack.staff.took_over_moved", map[string]any{"User": from, "To": user})
		err := a.call(ctx, func() error {
			_, _, _, err := a.api.UpdateMessageContext(ctx, ch, ts, slackapi.MsgOptionText(done, false),
				slackapi.MsgOptionBlocks(mrkdwnSection(done)))
			return err
		})
		if err != nil {
			a.log.WarnContext(ctx, "slack: take-over-from buttons not removed", "err", err)
		}
	}
	text := a.staffText("slack.staff.took_over_from", map[string]any{"User": user, "From": from, "Name": escape(name)})
	a.postHolderNote(ctx, ch, thread, conv, user, name, text)
	a.desk.Record(ctx, user, a.account(ctx, conv), "takeover_from", "took over "+conv.String()+" from "+from+" as "+name, true)
}

// handBack handles the "Hand back" button: the engine returns the
// conversation to the flow at the step where the customer left it. Only
// the agent holding the escalation may press it; anyone else is refused
// (and audited).
func (a *Adapter) handBack(ctx context.Context, ic slackapi.InteractionCallback, value string) {
	user, ch := ic.User.ID, containerChannel(ic)
	say := func(text string) { a.ephemeral(ctx, ch, user, text) }
	conv, ok := parseConv(value)
	if !a.checkStaffFor(ctx, user, a.targetAccount(ctx, conv, ok), "handback", "hand a conversation back", say) {
		return
	}
	if !ok {
		say(a.staffText("slack.staff.stale_escalation", nil))
		return
	}
	thread := ic.Container.ThreadTs
	if thread == "" {
		thread = ic.Message.ThreadTimestamp
	}
	holder := user
	if _, h, err := a.desk.Thread(ctx, ch, thread); err == nil && h != "" {
		holder = h
	}
	if holder != user {
		// Only the agent who took the conversation over hands it back
		// (issue 11 item 10); the refusal is audited under the account.
		a.desk.Record(ctx, user, a.account(ctx, conv), "handback", "refused: "+conv.String()+" is held by "+holder, true)
		say(a.staffText("slack.staff.not_your_hand_back", map[string]any{"Holder": holder}))
		return
	}
	err := a.engine.HandBack(ctx, conv)
	if err == nil || errors.Is(err, bot.ErrNotTakenOver) || errors.Is(err, bot.ErrNotActive) {
		if rerr := a.desk.Release(ctx, conv); rerr != nil {
			a.log.ErrorContext(ctx, "slack: release failed", "conversation", conv.String(), "err", rerr)
		}
	}
	switch {
	case errors.Is(err, bot.ErrNotTakenOver):
		say(a.staffText("slack.staff.not_taken_over", nil))
		return
	case errors.Is(err, bot.ErrNotActive):
		say(a.staffText("slack.staff.not_active", nil))
		return
	case err != nil:
		a.log.ErrorContext(ctx, "slack: hand-back failed", "conversation", conv.String(), "err", err)
		say(a.staffText("slack.staff.failed", nil))
		return
	}
	// The note with the Hand back button loses its button.
	if ts := ic.Container.MessageTs; ts != "" {
		done := a.staffText("slack.staff.took_over_done", map[string]any{"User": holder})
		err := a.call(ctx, func() error {
			_, _, _, err := a.api.UpdateMessageContext(ctx, ch, ts, slackapi.MsgOptionText(done, false),
				slackapi.MsgOptionBlocks(mrkdwnSection(done)))
			return err
		})
		if err != nil {
			a.log.WarnContext(ctx, "slack: hand-back button not removed", "err", err)
		}
	}
	if thread != "" {
		text := a.staffText("slack.staff.handed_back", map[string]any{"User": user})
		if _, _, err := a.postSupport(ctx, ch, thread, text, false, mrkdwnSection(text)); err != nil {
			a.log.ErrorContext(ctx, "slack: hand-back note failed", "conversation", conv.String(), "err", err)
		}
	}
	a.desk.Record(ctx, user, a.account(ctx, conv), "handback", "handed "+conv.String()+" back to the guided steps", true)
}

// agentReply handles a message in a thread of the support channel: when
// the thread is a conversation's latest escalation and its author the
// agent who took it over, the text goes to the customer (Engine.AgentSay).
// Other people's messages in the thread stay among staff.
func (a *Adapter) agentReply(ctx context.Context, in *slackevents.MessageEvent) {
	conv, holder, err := a.desk.Thread(ctx, in.Channel, in.ThreadTimeStamp)
	if err != nil {
		return // a watch thread, an older escalation or any other thread
	}
	say := func(text string) { a.ephemeral(ctx, in.Channel, in.User, text) }
	switch holder {
	case in.User:
	case "":
		if ok, _ := a.isStaff(ctx, in.User); ok {
			say(a.staffText("slack.staff.take_over_first", nil))
		}
		return
	default:
		return
	}
	if !a.checkStaff(ctx, in.User, "agent_message", "write to customers", say) {
		return
	}
	if in.SubType == "file_share" || (in.Message != nil && len(in.Message.Files) > 0) {
		// Files never reach the customer (a chat platform's file may hold
		// anything); the words with it still do.
		defer say(a.staffText("slack.staff.file_not_relayed", nil))
	}
	text := strings.TrimSpace(relayText(in.Text))
	if text == "" {
		return
	}
	switch err := a.engine.AgentSay(ctx, conv, text); {
	case errors.Is(err, bot.ErrNotActive):
		say(a.staffText("slack.staff.not_delivered_ended", nil))
		return
	case errors.Is(err, bot.ErrNotTakenOver):
		say(a.staffText("slack.staff.not_delivered_handed_back", nil))
		return
	case err != nil:
		a.log.ErrorContext(ctx, "slack: agent message failed", "conversation", conv.String(), "err", err)
		say(a.staffText("slack.staff.failed", nil))
		return
	}
	a.desk.Record(ctx, in.User, a.account(ctx, conv), "agent_message", fmt.Sprintf("wrote to %s (%d characters)", conv, len([]rune(text))), true)
}

// isAgentReply reports whether in is a person's message in a thread of
// the support channel, which agentReply looks at.
func (a *Adapter) isAgentReply(in *slackevents.MessageEvent) bool {
	return a.desk != nil && a.supportChannel != "" && in.Channel == a.supportChannel &&
		in.ThreadTimeStamp != "" && in.ThreadTimeStamp != in.TimeStamp &&
		in.BotID == "" && in.User != "" && in.User != a.botUser &&
		(in.SubType == "" || in.SubType == "thread_broadcast" || in.SubType == "file_share")
}

// relayText turns an agent's Slack message text into what the customer
// reads: a labelled link <url|label> becomes "label (url)" (the label
// alone when it is the URL), a mailto link its address, other markup as
// plainText does it.
func relayText(s string) string {
	s = slackMarkup.ReplaceAllStringFunc(s, func(m string) string {
		sub := slackMarkup.FindStringSubmatch(m)
		target, label := sub[1], strings.TrimSpace(sub[2])
		if addr, ok := strings.CutPrefix(target, "mailto:"); ok {
			return addr
		}
		if label == "" || label == target || strings.HasPrefix(target, "@") || strings.HasPrefix(target, "#") || strings.HasPrefix(target, "!") {
			return plainText(m)
		}
		return label + " (" + target + ")"
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}

// displayName is the name the customer sees for agent user: the Slack
// display name, else the real name, else "Support".
func (a *Adapter) displayName(ctx context.Context, user string) string {
	var u *slackapi.User
	err := a.call(ctx, func() (err error) { u, err = a.api.GetUserInfoContext(ctx, user); return err })
	if err != nil {
		a.log.WarnContext(ctx, "slack: users.info failed; the agent is called Support", "user", user, "err", err)
		return "Support"
	}
	for _, n := range []string{u.Profile.DisplayName, u.Profile.RealName, u.RealName} {
		if n = strings.TrimSpace(n); n != "" {
			return n
		}
	}
	return "Support"
}

// targetAccount is a.account(ctx, conv) when ok (conv parsed), else "".
func (a *Adapter) targetAccount(ctx context.Context, conv bot.Conversation, ok bool) string {
	if !ok {
		return ""
	}
	return a.account(ctx, conv)
}

// account returns the portal account id of conv's session, "" if unknown.
func (a *Adapter) account(ctx context.Context, conv bot.Conversation) string {
	s, err := a.engine.Session(ctx, conv)
	if err != nil {
		return ""
	}
	return s.Tags[bot.TagAccount]
}

// parseConv parses a conversation written by bot.Conversation.String.
func parseConv(v string) (bot.Conversation, bool) {
	ch, id, ok := strings.Cut(v, ":")
	return bot.Conversation{Channel: ch, ID: id}, ok && ch != "" && id != ""
}

// containerChannel is the channel of the message holding a pressed button.
func containerChannel(ic slackapi.InteractionCallback) string {
	if ic.Container.ChannelID != "" {
		return ic.Container.ChannelID
	}
	return ic.Channel.ID
}

// auditLines makes stored audit lines (which may quote a ticket or a name
// typed by anybody) safe inside the code block: escape sequences removed
// and control characters, a line feed included, escaped
// (termsafe.Field), and backticks, which would close the block, as "'".
func auditLines(lines []string) []string {
	out := make([]string, len(lines))
	for i, l := range lines {
		out[i] = strings.ReplaceAll(termsafe.Field(l), "`", "'")
	}
	return out
}

// escape makes s literal in Slack mrkdwn: &, < and > become entities.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// staffLine runs the support channel's work (take-overs, hand-backs,
// agent replies) one at a time, in the order it arrived, so that an
// agent's quick replies reach the customer in order.
type staffLine struct {
	mu   sync.Mutex
	tail chan struct{}
}

// inLine runs f after the staff work queued before it, counted by a.work.
func (a *Adapter) inLine(f func(ctx context.Context)) {
	l := &a.staffLine
	l.mu.Lock()
	prev, done := l.tail, make(chan struct{})
	l.tail = done
	l.mu.Unlock()
	a.goWork(func(ctx context.Context) {
		defer close(done)
		if prev != nil {
			select {
			case <-prev:
			case <-ctx.Done():
				return
			}
		}
		f(ctx)
	})
}

// firstStored reports whether the staff delivery id (an event, action or
// command id) is new, also across restarts: it is recorded in the
// engine's session store (bot.Engine.FirstDelivery) before the work runs,
// so that a delivery Slack or anybody replays after a restart runs once.
// When the store fails the work does not run and the error is logged.
func (a *Adapter) firstStored(ctx context.Context, id string) bool {
	ok, err := a.engine.FirstDelivery(ctx, Channel, "staff:"+id)
	if err != nil {
		a.log.ErrorContext(ctx, "slack: staff delivery not recorded, so not run", "id", id, "err", err)
	}
	return ok
}

// maxRecent is how many delivery ids recentIDs remembers.
const maxRecent = 4096

// recentIDs remembers the ids of the staff side's latest deliveries
// (events, actions, commands), so that one redelivered by Slack while the
// first is still handled runs once; firstStored then records it durably.
// The engine de-duplicates the customers' events itself.
type recentIDs struct {
	mu    sync.Mutex
	seen  map[string]bool
	order []string
}

// first records id and reports whether it is new; "" is always new.
func (r *recentIDs) first(id string) bool {
	if id == "" {
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen[id] {
		return false
	}
	if r.seen == nil {
		r.seen = map[string]bool{}
	}
	r.seen[id] = true
	r.order = append(r.order, id)
	if len(r.order) > maxRecent {
		delete(r.seen, r.order[0])
		r.order = r.order[1:]
	}
	return true
}
