package support

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode"

	"guidedfix/bot"
	"guidedfix/internal/mail"
	"guidedfix/internal/mailtext"
	"guidedfix/internal/portal"
)

// ErrNoAccount is returned by HandOff when no portal account has the
// e-mail: staff are told plainly; customers never see it.
var ErrNoAccount = errors.New("support: no Customer Portal account has this e-mail")

// Notifier is where support staff watch: a support channel with one
// thread per hand-off or escalation (the Slack adapter implements it).
// Texts never contain a secret.
type Notifier interface {
	// OpenThread posts text as the start of a new thread in the support
	// channel and returns the channel and thread ids.
	OpenThread(ctx context.Context, text string) (channel, thread string, err error)
	// Post adds text to a thread.
	Post(ctx context.Context, channel, thread, text string) error
	// Escalate posts an escalation (who, where, step, last error) with a
	// "Take over" action for conversation conv. It calls record with the
	// escalation's thread before the action can be used (store first, then
	// offer it), so that a take-over at once finds it; an error of record
	// is returned and the action is not offered.
	Escalate(ctx context.Context, conv bot.Conversation, text string, record func(channel, thread string) error) error
}

// Accounts is the read-only part of the portal core the desk uses: it
// looks accounts up and cannot change one, so no staff action reaches a
// customer's 2FA (every change needs the customer's own password and
// current factor, in the flow).
type Accounts interface {
	// LookupAccount returns the account registered with email, or
	// portal.ErrNotFound.
	LookupAccount(ctx context.Context, email string) (portal.Account, error)
	// Account returns the account with id.
	Account(ctx context.Context, accountID string) (portal.Account, error)
}

// PasswordChecker finds an account's password inside a text without
// counting a failure (portal.Core.PasswordInText).
type PasswordChecker interface {
	// PasswordInText reports whether text contains the password of
	// accountID; see portal.Core.PasswordInText.
	PasswordInText(ctx context.Context, accountID, text string) (bool, error)
}

// Desk is the support service: hand-offs, watching, escalations and the
// audit log. It implements bot.Support and, with Observe, the engine's
// observer. All methods are safe for concurrent use.
type Desk struct {
	// Store keeps hand-offs and the audit log (required).
	Store Records
	// Core looks up accounts (required); the desk never changes one.
	Core Accounts
	// Passwords, when set, checks each message relayed to an agent for
	// the account's password (portal.Core.PasswordInText): a message that
	// contains it is withheld.
	Passwords PasswordChecker
	// Mail sends the hand-off link to the customer (required for HandOff).
	Mail mail.Sender
	// BotUsername is the Telegram bot's username for deep links.
	BotUsername string
	// Notifier posts to the support channel; nil keeps only the log.
	Notifier Notifier
	// CoreAudit, if set, returns the newest limit entries of the portal
	// core's own record of factor changes for an account (2FA disabled,
	// TOTP activated, SMS restored), newest first; AuditFor merges them in.
	CoreAudit func(ctx context.Context, accountID string, limit int) ([]Entry, error)
	// Logger receives operator logs; default slog.Default().
	Logger *slog.Logger
	// SupportContact ends the hand-off e-mail (mail.support_contact).
	SupportContact string
	// HandoffTTL is how long a hand-off link can be opened
	// (slack.handoff_ttl); ≤ 0 means DefaultHandoffTTL (10 min).
	HandoffTTL time.Duration
	// Flows describe the guided fixes staff can hand off and watch
	// (bot.Engine.Flows): the first is the default of HandOff; hand-off
	// links carry a flow's Descriptor.PayloadPrefix, watch threads and
	// audit outcomes name states by its Descriptor.States. Empty: HandOff
	// refuses (ErrUnknownFlow) and states show by their names.
	Flows []bot.Descriptor
	// Texts renders the descriptors' catalog ids (bot.Engine.Catalog);
	// nil shows states by their names.
	Texts *bot.Catalog
	// Locale is the staff's locale of state names ("" is the catalog's
	// default, English).
	Locale string
	// HandoffMail names the mailtext kind of the hand-off e-mail of each
	// flow by flow name; a flow without one gets mailtext.Handoff.
	HandoffMail map[string]string
}

// ErrUnknownFlow is returned by HandOffFlow for a flow the desk has no
// descriptor of (not among Desk.Flows).
var ErrUnknownFlow = errors.New("support: no such guided fix")

var _ bot.Support = (*Desk)(nil)

func (d *Desk) log() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}

// DeepLink returns the Telegram deep link that starts the bot with token
// (core.telegram.org/bots/features#deep-linking): https://t.me/<bot>?start=<token>.
func (d *Desk) DeepLink(token string) string {
	return "https://t.me/" + d.BotUsername + "?start=" + url.QueryEscape(token)
}

// HandOff creates a hand-off of the default flow (the first of
// Desk.Flows); see HandOffFlow.
func (d *Desk) HandOff(ctx context.Context, email, ticket, staffChannel, staffUser string) (string, Handoff, error) {
	return d.HandOffFlow(ctx, "", email, ticket, staffChannel, staffUser)
}

// flow returns the descriptor named name among d.Flows ("" for the
// default, the first) and whether there is one.
func (d *Desk) flow(name string) (bot.Descriptor, bool) {
	for i, f := range d.Flows {
		if f.Name == name || (name == "" && i == 0) {
			return f, true
		}
	}
	return bot.Descriptor{}, false
}

// FlowFor returns the name of the flow that name picks for a hand-off:
// a flow's name or one of its start commands (Descriptor.Commands), ""
// for the default flow; ok is false when name picks none.
func (d *Desk) FlowFor(name string) (flow string, ok bool) {
	if strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(name), "/")) == "" {
		if len(d.Flows) == 0 {
			return "", false
		}
		return d.Flows[0].Name, true
	}
	f, ok := bot.FlowByWord(d.Flows, name)
	return f.Name, ok
}

// HandOffFlow creates a hand-off of the guided fix flow ("" for the
// default flow, the first of Desk.Flows) for the account registered with
// email, on behalf of staff (e.g. "slack:U123"): the hand-off record names
// the flow, the deep link carries the flow's Descriptor.PayloadPrefix
// before the token (the engine starts that flow for it), the customer is
// e-mailed the link (HandoffMail's kind for the flow), the audit log
// records it and the watch thread opens. It returns the link (for the
// agent's ticket) and the hand-off. It returns ErrUnknownFlow for a flow
// not among Desk.Flows, ErrNoAccount when no account has the e-mail,
// ErrWrongMethod (a *WrongMethodError) when the account's 2FA method is
// not the flow's Descriptor.NeedsMethod (nothing is created or sent), and
// an error when the e-mail cannot be sent (the hand-off then stays
// unused).
func (d *Desk) HandOffFlow(ctx context.Context, flow, email, ticket, staffChannel, staffUser string) (string, Handoff, error) {
	desc, ok := d.flow(flow)
	if !ok {
		return "", Handoff{}, fmt.Errorf("%w: %q", ErrUnknownFlow, flow)
	}
	if d.BotUsername == "" {
		return "", Handoff{}, errors.New("support: telegram.bot_username is not configured, so no link can be made")
	}
	acc, err := d.Core.LookupAccount(ctx, email)
	if errors.Is(err, portal.ErrNotFound) {
		d.audit(ctx, Entry{Channel: staffChannel, UserID: staffUser, Action: "handoff_created", Outcome: d.say(msgAuditRefused, nil), Staff: true})
		return "", Handoff{}, ErrNoAccount
	}
	if err != nil {
		return "", Handoff{}, err
	}
	if err := d.checkHandoffMethod(ctx, desc, acc, staffChannel, staffUser); err != nil {
		return "", Handoff{}, err
	}
	h, token, err := d.Store.CreateHandoff(ctx, Handoff{AccountID: acc.ID, Email: acc.Email, Flow: desc.Name,
		CreatedBy: staffChannel + ":" + staffUser, Ticket: ticket}, d.HandoffTTL)
	if err != nil {
		return "", Handoff{}, err
	}
	link := d.DeepLink(desc.PayloadPrefix + token)
	holder := acc.Name
	if holder == "" {
		holder = acc.Email
	}
	kind := d.HandoffMail[desc.Name]
	if kind == "" {
		kind = mailtext.Handoff
	}
	subject, text, err := mailtext.RenderIn(acc.Locale, kind, mailtext.Data{Holder: holder, Email: acc.Email, Link: link,
		Expires: h.ExpiresAt.UTC().Format("2006-01-02 15:04"), Support: d.SupportContact})
	if err != nil {
		return "", Handoff{}, err
	}
	msg := mail.Message{ID: "handoff-" + strings.TrimPrefix(h.ID, "ho_"), To: acc.Email, Subject: subject, Text: text}
	if err := d.Mail.Send(ctx, msg); err != nil {
		return "", Handoff{}, fmt.Errorf("e-mail the link: %w", err)
	}
	other := ""
	if desc.Name != d.Flows[0].Name {
		other = desc.Name
	}
	outcome := d.say(msgAuditMailed, map[string]any{"Flow": other, "Ticket": ticket})
	d.audit(ctx, Entry{Channel: staffChannel, UserID: staffUser, AccountID: acc.ID, Action: "handoff_created", Outcome: outcome, Staff: true})
	if d.Notifier != nil {
		text := d.say(msgHandoffCreated, map[string]any{"ID": h.ID, "Flow": d.title(desc), "Email": acc.Email,
			"Staff": staffUser, "Ticket": ticket})
		ch, th, err := d.Notifier.OpenThread(ctx, text)
		if err != nil {
			d.log().Warn("support thread not opened", "handoff", h.ID, "err", err)
		} else if h, err = d.Store.Update(ctx, h.ID, func(h *Handoff) error { h.WatchChannel, h.WatchThread = ch, th; return nil }); err != nil {
			d.log().Warn("support thread not recorded", "handoff", h.ID, "err", err)
		}
	}
	return link, h, nil
}

// title is the staff's name of the guided fix desc (its Descriptor.Title
// in Desk.Locale), "" when it has none or the desk has no catalog.
func (d *Desk) title(desc bot.Descriptor) string {
	if desc.Title == "" || d.Texts == nil {
		return ""
	}
	return d.Texts.Text(d.Locale, desc.Title, nil)
}

// Observe records every state change of a guided fix in the audit log and
// posts it to the hand-off's watch thread, ending with the outcome. It is
// the engine's Options.Observer.
func (d *Desk) Observe(ctx context.Context, tr bot.Transition) {
	account := tr.Tags[bot.TagAccount]
	outcome := d.StepName(tr.Flow, tr.To)
	d.audit(ctx, Entry{At: tr.At, Channel: tr.Conversation.Channel, UserID: tr.UserID, AccountID: account,
		Action: "step", Outcome: outcome})
	if tr.Done {
		d.alertTags(ctx, tr)
		d.endEscalation(ctx, tr)
	}
	id := tr.Tags[bot.TagHandoff]
	if id == "" {
		return
	}
	h, err := d.Store.Handoff(ctx, id)
	if err != nil {
		d.log().Warn("hand-off not found", "handoff", id, "err", err)
		return
	}
	if tr.Done {
		if h, err = d.Store.Update(ctx, id, func(h *Handoff) error { h.Outcome = OutcomeValue(tr.To); return nil }); err != nil {
			d.log().Warn("hand-off outcome not recorded", "handoff", id, "err", err)
		}
	}
	if d.Notifier != nil && h.WatchThread != "" {
		data := map[string]any{"Time": staffTime(tr.At), "Step": outcome}
		text := d.say(msgWatchStep, data)
		if tr.Done {
			data["Outcome"] = d.Outcome(tr.Flow, tr.To)
			text = d.say(msgWatchFinished, data)
		}
		if err := d.Notifier.Post(ctx, h.WatchChannel, h.WatchThread, text); err != nil {
			d.log().Warn("watch post failed", "handoff", id, "err", err)
		}
	}
}

// endEscalation tells the thread of the escalation asked for in the
// session that ended with tr (if any) that the guided fix has ended and
// how (cancelled, completed, expired, …), so that the agent who took it
// over, or who is about to, knows their replies no longer reach the
// customer.
func (d *Desk) endEscalation(ctx context.Context, tr bot.Transition) {
	if d.Notifier == nil {
		return
	}
	ch, th, agent, err := d.Store.SessionEscalation(ctx, tr.Conversation.String(), tr.SessionID)
	if err != nil {
		return
	}
	id := msgEscalationEndTaken
	if agent == "" {
		id = msgEscalationEndOpen
	}
	text := d.say(id, map[string]any{"Time": staffTime(tr.At), "Outcome": d.Outcome(tr.Flow, tr.To)})
	if err := d.Notifier.Post(ctx, ch, th, text); err != nil {
		d.log().Warn("escalation end not posted", "conversation", tr.Conversation.String(), "err", err)
	}
}

// alertTags raises the alerts of the flow's descriptor
// (bot.Descriptor.TagAlerts) for the tags set on the session that ended
// with tr, in the order of Descriptor.Tags: each is an audit entry
// (action "alert:<tag>", the alert's text as outcome) and, with a
// Notifier, a new thread in the support channel, so that someone can
// follow up. The text is the flow's catalog text in Desk.Locale.
func (d *Desk) alertTags(ctx context.Context, tr bot.Transition) {
	desc, ok := d.flow(tr.Flow)
	if !ok || len(desc.TagAlerts) == 0 {
		return
	}
	for _, tag := range desc.Tags {
		id := desc.TagAlerts[tag]
		if id == "" || tr.Tags[tag] == "" {
			continue
		}
		d.alertTag(ctx, tr, tag, id)
	}
}

func (d *Desk) alertTag(ctx context.Context, tr bot.Transition, tag, id string) {
	email := d.say(msgUnknownAccount, nil)
	if acc, err := d.Core.Account(ctx, tr.Tags[bot.TagAccount]); err == nil {
		email = acc.Email
	}
	data := map[string]any{"Email": email, "Channel": tr.Conversation.Channel, "Step": d.StepName(tr.Flow, tr.From),
		"Outcome": d.Outcome(tr.Flow, tr.To), "Value": tr.Tags[tag]}
	text := ""
	if d.Texts != nil && d.Texts.Has(id) {
		text = d.Texts.Text(d.Locale, id, data)
	} else {
		data["Flow"], data["Tag"] = tr.Flow, tag
		text = d.say(msgAlertFallback, data)
	}
	d.audit(ctx, Entry{At: tr.At, Channel: tr.Conversation.Channel, UserID: tr.UserID, AccountID: tr.Tags[bot.TagAccount],
		Action: "alert:" + tag, Outcome: text})
	if d.Notifier == nil {
		return
	}
	if _, _, err := d.Notifier.OpenThread(ctx, text); err != nil {
		d.log().Warn("alert not posted", "flow", tr.Flow, "tag", tag, "err", err)
	}
}

// Escalate implements bot.Support: it posts the account, channel, step and
// last error to the support channel with a "Take over" action.
func (d *Desk) Escalate(ctx context.Context, s bot.Session) error {
	account := s.Tags[bot.TagAccount]
	email := d.say(msgUnknownAccount, nil)
	if account != "" {
		if acc, err := d.Core.Account(ctx, account); err == nil {
			email = acc.Email
		}
	}
	lastErr := s.Tags[bot.TagLastError]
	if lastErr == "" {
		lastErr = d.say(msgLastErrorNone, nil)
	}
	d.audit(ctx, Entry{Channel: s.Conversation.Channel, UserID: s.UserID, AccountID: account, Action: "escalated",
		Outcome: d.say(msgAuditEscalated, map[string]any{"Step": d.StepName(s.Flow, s.State)})})
	if d.Notifier == nil {
		return errors.New("support: no support channel is configured")
	}
	verified := d.say(msgVerifiedNotYet, nil)
	if v := s.Tags[bot.TagVerified]; v != "" {
		verified = d.say(msgVerifiedBy, map[string]any{"Proof": v})
	}
	if account == "" {
		verified = d.say(msgVerifiedNoAccount, nil)
	}
	title := ""
	if desc, ok := d.flow(s.Flow); ok {
		title = d.title(desc)
	}
	text := d.say(msgEscalation, map[string]any{"Email": email, "Verified": verified, "Channel": s.Conversation.Channel,
		"Step": d.StepName(s.Flow, s.State), "LastError": lastErr, "Flow": title})
	return d.Notifier.Escalate(ctx, s.Conversation, text, func(ch, th string) error {
		return d.Store.SetSessionEscalation(ctx, s.Conversation.String(), s.ID, ch, th)
	})
}

// Relay implements bot.Support: it posts the customer's text to the
// escalation thread of the conversation, as the desk's catalog text
// support.desk.relay in Desk.Locale ("Customer: <text>"). The engine never
// relays an answer to a secret prompt (it sends bot.WithheldNote instead,
// posted as support.desk.relay_withheld); as a second line of defence,
// any run of 6 or more digits (a code the customer might type to the
// agent despite the warning) is withheld (support.desk.number_withheld,
// see WithholdCodes).
func (d *Desk) Relay(ctx context.Context, s bot.Session, text string) error {
	if d.Notifier == nil {
		return errors.New("support: no support channel is configured")
	}
	ch, th, err := d.Store.Escalation(ctx, s.Conversation.String())
	if err != nil {
		return fmt.Errorf("support: no escalation thread for this conversation: %w", err)
	}
	if account := s.Tags[bot.TagAccount]; account != "" && d.Passwords != nil {
		found, err := d.Passwords.PasswordInText(ctx, account, text)
		if err != nil {
			// Fail closed: a message that could not be checked is not
			// relayed.
			d.log().Warn("support: password check of a relayed message failed; withheld", "err", err)
		}
		if found || err != nil {
			if err := d.Notifier.Post(ctx, ch, th, d.say(msgRelayWithheld, nil)); err != nil {
				return err
			}
			return bot.ErrSecretWithheld
		}
	}
	if text == bot.WithheldNote {
		return d.Notifier.Post(ctx, ch, th, d.say(msgRelayWithheld, nil))
	}
	return d.Notifier.Post(ctx, ch, th, d.say(msgRelay, map[string]any{"Text": withholdCodes(text, d.say(msgNumberWithheld, nil))}))
}

// WithholdCodes replaces by "[number withheld]" every run of 6 or more
// decimal digits (any script) that may be separated by what the core's
// code normaliser drops (portal.IsCodeSeparator: any white space, hyphens
// and dashes), so that whatever portal.NormalizeCode would take for a
// code ("123 456", "123\u00a0456", "123–456", "１２３４５６") never reaches
// an agent. Separators around a withheld run are kept.
func WithholdCodes(text string) string {
	return withholdCodes(text, "[number withheld]")
}

// withholdCodes is WithholdCodes with mark for each withheld run.
func withholdCodes(text, mark string) string {
	rs := []rune(text)
	var b strings.Builder
	for i := 0; i < len(rs); {
		if !unicode.Is(unicode.Nd, rs[i]) {
			b.WriteRune(rs[i])
			i++
			continue
		}
		// A run: digits with separators between them, ending at a digit.
		end, digits := i, 0
		for j := i; j < len(rs); j++ {
			if unicode.Is(unicode.Nd, rs[j]) {
				digits++
				end = j + 1
			} else if !portal.IsCodeSeparator(rs[j]) {
				break
			}
		}
		if digits >= portal.CodeDigits {
			b.WriteString(mark)
		} else {
			b.WriteString(string(rs[i:end]))
		}
		i = end
	}
	return b.String()
}

// RecordStaff appends a staff action to the audit log.
func (d *Desk) RecordStaff(ctx context.Context, channel, user, account, action, outcome string) {
	d.audit(ctx, Entry{Channel: channel, UserID: user, AccountID: account, Action: action, Outcome: outcome, Staff: true})
}

func (d *Desk) audit(ctx context.Context, e Entry) {
	if err := d.Store.Append(ctx, e); err != nil {
		d.log().Error("audit log append failed", "action", e.Action, "err", err)
	}
}

// AuditFor returns the newest limit audit entries of the account with
// email, newest first, merged with CoreAudit's when set; ErrNoAccount when
// there is none, an error for a limit below 1.
func (d *Desk) AuditFor(ctx context.Context, email string, limit int) ([]Entry, error) {
	if limit < 1 {
		return nil, fmt.Errorf("support: audit limit %d: want 1 or more", limit)
	}
	acc, err := d.Core.LookupAccount(ctx, email)
	if errors.Is(err, portal.ErrNotFound) {
		return nil, ErrNoAccount
	}
	if err != nil {
		return nil, err
	}
	entries, err := d.Store.Audit(ctx, acc.ID, limit)
	if err != nil || d.CoreAudit == nil {
		return entries, err
	}
	changes, err := d.CoreAudit(ctx, acc.ID, limit)
	if err != nil {
		return nil, err
	}
	entries = append(entries, changes...)
	slices.SortStableFunc(entries, func(a, b Entry) int { return b.At.Compare(a.At) })
	return entries[:min(limit, len(entries))], nil
}

// FormatEntry renders an audit entry as one line:
// "2026-11-29 10:00:00 UTC  telegram:42  step  Identity verified".
func FormatEntry(e Entry) string {
	who := e.Channel + ":" + e.UserID
	if e.Staff {
		who += " (staff)"
	}
	return fmt.Sprintf("%s  %-22s %-16s %s", e.At.UTC().Format(time.DateTime+" UTC"), who, e.Action, e.Outcome)
}

// StepName is the human name of state s of flow ("" for the default
// flow) for staff, in Desk.Locale: the catalog text of the flow's
// Descriptor.States entry ("Verify SMS code"), or the state's own name
// when the desk has no descriptor, catalog or entry for it.
func (d *Desk) StepName(flow string, s bot.State) string {
	desc, ok := d.flow(flow)
	if !ok || d.Texts == nil {
		return string(s)
	}
	if id := desc.StateName(s); id != "" && d.Texts.Has(id) {
		return d.Texts.Text(d.Locale, id, nil)
	}
	return string(s)
}

// Outcome is the staff's words, in Desk.Locale, for how a guided fix of
// flow ended in terminal state s: the desk's catalog text
// support.desk.outcome.<completed|cancelled|expired|blocked> for the
// states done, cancelled, expired and blocked (the customer blocked the
// bot), or support.desk.outcome.failed ("failed: <StepName>") for any
// other. It is for posts and alerts; the stored Handoff.Outcome is
// OutcomeValue.
func (d *Desk) Outcome(flow string, s bot.State) string {
	if id, ok := outcomeTexts[s]; ok {
		return d.say(id, nil)
	}
	return d.say(msgOutcomeFailed, map[string]any{"Step": d.StepName(flow, s)})
}

// OutcomeValue is the stable, untranslated outcome of terminal state s
// stored in Handoff.Outcome (Store.Redeem refuses a hand-off whose value
// is "completed"): "completed" for done, "cancelled", "expired" and
// "blocked" as they are, "failed:<state>" for any other state (the
// flow's own state name, not a text), whatever Desk.Locale is.
func OutcomeValue(s bot.State) string {
	switch {
	case s == stateDone:
		return outcomeCompleted
	case outcomeTexts[s] != "":
		return string(s)
	default:
		return outcomeFailedPrefix + string(s)
	}
}
