package slack

import (
	"context"
	"encoding/json"
	"errors"
	"regexp"
	"strings"
	"sync"
	"time"

	slackapi "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"

	"guidedfix/bot"
)

// Block Kit ids the adapter sets and reads back.
const (
	actionSecret   = "guidedfix_secret"  // Enter password/code: opens the modal
	actionStart    = "guidedfix_start"   // the App Home Start button
	actionButton   = "guidedfix_button_" // + index: a bot.Button
	callbackSecret = "guidedfix_secret"  // the modal's callback_id
	blockSecret    = "secret"            // the modal's input block_id
	inputSecret    = "value"             // the modal's input action_id
)

// modalText is the catalog id of a secret modal's title or label (part)
// for field f: the adapter's "slack.modal.<part>.<f>" for the engine's
// secrets, else the flow's own "secret.<f>.<part>" (a flow that asks for
// a secret of its own kind, such as a recovery code, names it).
func (a *Adapter) modalText(part, f string) string {
	if id := "slack.modal." + part + "." + f; a.engine.Catalog().Has(id) {
		return id
	}
	return "secret." + f + "." + part
}

// isCommand reports whether w is one of the engine's commands
// (bot.Engine.Commands: the start commands of every registered flow,
// "cancel" and "help"), which become a KindCommand when typed in the DM or
// after the slash command.
func (a *Adapter) isCommand(w string) bool {
	for _, c := range a.engine.Commands() {
		if c == w {
			return true
		}
	}
	return false
}

// modalRef names the secret a modal collects: the DM it belongs to, the
// field, the nonce of the session step that asked (bot.Engine.Nonce) and
// the locale. It travels as JSON in the Enter button's value and in the
// modal's private_metadata, so a stale modal is recognised by the engine.
type modalRef struct {
	Chan   string          `json:"c"`
	Field  bot.SecretField `json:"f"`
	Nonce  string          `json:"n"`
	Locale string          `json:"l,omitempty"`
}

func (m modalRef) encode() string {
	b, _ := json.Marshal(m)
	return string(b)
}

func decodeRef(s string) (modalRef, bool) {
	var m modalRef
	err := json.Unmarshal([]byte(s), &m)
	return m, err == nil && isDM(m.Chan) && m.Field != bot.SecretNone && m.Nonce != ""
}

// prompt is a secret prompt reply with the modal it opens.
type prompt struct {
	reply bot.Reply
	ref   modalRef
}

// onEvent handles an Events API event: a DM message, an agent's reply in
// an escalation thread of the support channel, or the App Home tab being
// opened. It returns at once; the work goes on in the engine.
func (a *Adapter) onEvent(ev slackevents.EventsAPIEvent) {
	cb, ok := ev.Data.(*slackevents.EventsAPICallbackEvent)
	if !ok {
		return
	}
	switch in := ev.InnerEvent.Data.(type) {
	case *slackevents.MessageEvent:
		if a.isAgentReply(in) {
			if id := "ev:" + cb.EventID; cb.EventID == "" || a.staffEvents.first(id) {
				a.inLine(func(ctx context.Context) {
					if a.firstStored(ctx, id) {
						a.agentReply(ctx, in)
					}
				})
			}
			return
		}
		if in.ChannelType != "im" || !isDM(in.Channel) || in.BotID != "" || in.User == "" || in.User == a.botUser {
			return
		}
		e := bot.Event{Conversation: conv(in.Channel), UserID: in.User, UpdateID: "ev:" + cb.EventID, MessageID: in.TimeStamp}
		switch in.SubType {
		case "":
			text := plainText(in.Text)
			if w := strings.TrimPrefix(strings.ToLower(strings.TrimSpace(text)), "/"); a.isCommand(w) {
				e.Kind, e.Command = bot.KindCommand, w
			} else {
				// A bot token cannot delete what the user wrote: text at a
				// secret prompt is never used (the modal is the only way).
				e.Kind, e.Text, e.Undeletable = bot.KindText, text, true
			}
		case "file_share":
			e.Kind = bot.KindUnsupported
		default: // edits, deletions, joins: nothing to read
			return
		}
		a.route(e)
	case *slackevents.AppHomeOpenedEvent:
		if in.Tab == "home" && in.User != "" {
			a.goWork(func(ctx context.Context) { a.publishHome(ctx, in.User) })
		}
	}
}

// onCommand handles the slash command and returns the acknowledgement's
// body: an ephemeral note when the command was typed outside a DM (the
// conversation moves to the DM), else nil. The staff commands "handoff"
// and "audit" (with a Desk) are acknowledged with nothing and answered
// ephemerally through the command's response_url once done.
func (a *Adapter) onCommand(cmd slackapi.SlashCommand) *commandReply {
	reply := a.commandAck(cmd)
	a.handleCommand(cmd)
	return reply
}

// commandAck returns the acknowledgement's body of the slash command cmd
// without doing any work: the "moved to your DM" note for a flow command
// typed outside a DM, else nil.
func (a *Adapter) commandAck(cmd slackapi.SlashCommand) *commandReply {
	if cmd.Command != a.command || cmd.UserID == "" || isDM(cmd.ChannelID) {
		return nil
	}
	if f := strings.Fields(cmd.Text); len(f) > 0 && a.desk != nil {
		if w := strings.ToLower(f[0]); w == "handoff" || w == "audit" {
			return nil
		}
	}
	return &commandReply{ResponseType: slackapi.ResponseTypeEphemeral, Text: a.text("", "slack.moved_to_dm")}
}

// handleCommand starts the work of the slash command cmd (see onCommand).
func (a *Adapter) handleCommand(cmd slackapi.SlashCommand) {
	if cmd.Command != a.command || cmd.UserID == "" {
		return
	}
	if f := strings.Fields(cmd.Text); len(f) > 0 && a.desk != nil {
		if w := strings.ToLower(f[0]); w == "handoff" || w == "audit" {
			if id := "cmd:" + cmd.TriggerID; cmd.TriggerID == "" || a.staffEvents.first(id) {
				a.goWork(func(ctx context.Context) {
					if cmd.TriggerID == "" || a.firstStored(ctx, id) {
						a.staffCommand(ctx, cmd, w, f[1:])
					}
				})
			}
			return
		}
	}
	name := a.engine.Commands()[0] // the default flow's first start command
	if f := strings.Fields(strings.ToLower(cmd.Text)); len(f) > 0 {
		name = f[0]
		if !a.isCommand(name) {
			name = "help"
		}
	}
	e := bot.Event{UserID: cmd.UserID, Kind: bot.KindCommand, Command: name}
	if cmd.TriggerID != "" {
		e.UpdateID = "cmd:" + cmd.TriggerID
	}
	a.route(e)
}

// commandReply is the body of a slash command's acknowledgement: a
// message shown to the user only ("ephemeral").
type commandReply struct {
	ResponseType string `json:"response_type"`
	Text         string `json:"text"`
}

// onAction handles block_actions: the Enter button opens the modal, the
// App Home button starts the flow, Take over and Hand back (support
// channel) go to the staff side, the other buttons go to the engine.
func (a *Adapter) onAction(ic slackapi.InteractionCallback) {
	for _, act := range ic.ActionCallback.BlockActions {
		id := "act:" + act.ActionID + ":" + act.ActionTs
		switch {
		case act.ActionID == actionSecret:
			if ref, ok := decodeRef(act.Value); ok {
				trigger := ic.TriggerID
				a.goWork(func(ctx context.Context) { a.openModal(ctx, trigger, ref) })
			}
		case (act.ActionID == actionTakeOver || act.ActionID == actionHandBack || act.ActionID == actionTakeOverFrom) && a.desk != nil:
			staffID := id + ":" + ic.User.ID
			if !a.staffEvents.first(staffID) {
				continue
			}
			f, value := a.takeOver, act.Value
			switch act.ActionID {
			case actionHandBack:
				f = a.handBack
			case actionTakeOverFrom:
				f = a.takeOverFrom
			}
			a.inLine(func(ctx context.Context) {
				if a.firstStored(ctx, staffID) {
					f(ctx, ic, value)
				}
			})
		case act.ActionID == actionStart:
			a.route(bot.Event{UserID: ic.User.ID, UpdateID: id, Kind: bot.KindStart})
		case strings.HasPrefix(act.ActionID, actionButton):
			ch := ic.Container.ChannelID
			if ch == "" {
				ch = ic.Channel.ID
			}
			if isDM(ch) {
				// The pressed message is replaced by the turn's first
				// reply, or loses its buttons (join.go).
				a.dispatchPressed(bot.Event{Conversation: conv(ch), UserID: ic.User.ID, UpdateID: id, Kind: bot.KindButton, Data: act.Value},
					ic.Container.MessageTs, ic.Message.Text)
			}
		}
	}
}

// route hands e to the engine. An event that starts the flow first gets
// the user's profile e-mail and locale (users.info), and an event without
// a conversation the user's DM (conversations.open); those run in their
// own goroutine, the others are queued at once, in arrival order.
func (a *Adapter) route(e bot.Event) {
	lookup := e.Kind == bot.KindStart || (e.Kind == bot.KindCommand && a.engine.IsStartCommand(e.Command))
	if !lookup && e.Conversation.ID != "" {
		a.dispatch(e, nil, nil)
		return
	}
	a.goWork(func(ctx context.Context) {
		if e.Conversation.ID == "" {
			var ch *slackapi.Channel
			err := a.call(ctx, func() (err error) {
				ch, _, _, err = a.api.OpenConversationContext(ctx, &slackapi.OpenConversationParameters{Users: []string{e.UserID}})
				return err
			})
			if err != nil {
				a.log.ErrorContext(ctx, "slack: conversations.open failed", "user", e.UserID, "err", err)
				return
			}
			e.Conversation = conv(ch.ID)
		}
		if lookup {
			var u *slackapi.User
			err := a.call(ctx, func() (err error) { u, err = a.api.GetUserInfoContext(ctx, e.UserID); return err })
			if err != nil {
				a.log.WarnContext(ctx, "slack: users.info failed; the flow asks the e-mail", "user", e.UserID, "err", err)
			} else {
				e.Email, e.Locale = u.Profile.Email, u.Locale
			}
		}
		a.dispatch(e, nil, nil)
	})
}

// openModal opens the modal for ref with the interaction's trigger_id
// (views.open). When the trigger has expired (it lives about 3 seconds)
// the user gets a message with a button that opens the modal again.
func (a *Adapter) openModal(ctx context.Context, trigger string, ref modalRef) {
	if id := a.staleRef(ctx, ref); id != "" {
		text := a.engine.Text(ref.Locale, Channel, id, nil)
		if _, err := a.post(ctx, ref.Chan, text, nil, nil); err != nil {
			a.log.WarnContext(ctx, "slack: stale form answer failed", "err", err)
		}
		return
	}
	err := a.call(ctx, func() error {
		_, err := a.api.OpenViewContext(ctx, trigger, a.modal(ref, ""))
		return err
	})
	switch slackError(err) {
	case "":
		if err != nil {
			a.log.ErrorContext(ctx, "slack: views.open failed", "err", err)
		}
	case "expired_trigger_id", "exchanged_trigger_id":
		p := &prompt{ref: ref}
		if _, err := a.post(ctx, ref.Chan, a.text(ref.Locale, "slack.trigger_expired"), nil, p); err != nil {
			a.log.ErrorContext(ctx, "slack: reopen button failed", "err", err)
		}
	default:
		a.log.ErrorContext(ctx, "slack: views.open failed", "err", err)
	}
}

// staleRef checks, before a modal opens, that ref's question is still
// the open one: it returns "" when it is (or when the session cannot be
// read: the engine checks the submission again), else the id of the
// answer to give instead of the form: bot.MsgWithAgent while an agent
// has the conversation, bot.MsgStaleButton when the step has passed or
// the guided change has ended.
func (a *Adapter) staleRef(ctx context.Context, ref modalRef) string {
	s, err := a.engine.Session(ctx, conv(ref.Chan))
	switch {
	case errors.Is(err, bot.ErrNoSession):
		return bot.MsgStaleButton
	case err != nil:
		a.log.WarnContext(ctx, "slack: session not read before opening the form", "err", err)
		return ""
	case s.Done:
		return bot.MsgStaleButton
	case s.Agent != "":
		return bot.MsgWithAgent
	case s.Expect != ref.Field || a.engine.Nonce(s) != ref.Nonce:
		return bot.MsgStaleButton
	}
	return ""
}

// modal returns the modal that collects ref's secret, with text (the
// question, or why it is asked again) above the input when not empty.
func (a *Adapter) modal(ref modalRef, text string) slackapi.ModalViewRequest {
	l, f := ref.Locale, string(ref.Field)
	var blocks []slackapi.Block
	if text != "" {
		blocks = append(blocks, slackapi.NewSectionBlock(plain(text), nil, nil))
	}
	in := slackapi.NewPlainTextInputBlockElement(nil, inputSecret)
	in.FocusOnLoad = true
	blocks = append(blocks, slackapi.NewInputBlock(blockSecret, plain(a.text(l, a.modalText("label", f))), nil, in))
	return slackapi.ModalViewRequest{
		Type:            slackapi.VTModal,
		CallbackID:      callbackSecret,
		Title:           plain(a.text(l, a.modalText("title", f))),
		Submit:          plain(a.text(l, "slack.modal.submit")),
		Close:           plain(a.text(l, "slack.modal.close")),
		PrivateMetadata: ref.encode(),
		Blocks:          slackapi.Blocks{BlockSet: blocks},
	}
}

// publishHome shows the App Home tab with its Start button (views.publish).
func (a *Adapter) publishHome(ctx context.Context, user string) {
	start := slackapi.NewButtonBlockElement(actionStart, "start", plain(a.text("", "slack.home.start")))
	start.Style = slackapi.StylePrimary
	view := slackapi.HomeTabViewRequest{Type: slackapi.VTHomeTab, Blocks: slackapi.Blocks{BlockSet: []slackapi.Block{
		slackapi.NewSectionBlock(plain(a.text("", "slack.home.intro")), nil, nil),
		slackapi.NewActionBlock("", start),
	}}}
	err := a.call(ctx, func() error {
		_, err := a.api.PublishViewContext(ctx, slackapi.PublishViewContextRequest{UserID: user, View: view})
		return err
	})
	if err != nil {
		a.log.ErrorContext(ctx, "slack: views.publish failed", "user", user, "err", err)
	}
}

// submit hands a view submission of the secret modal to the engine as a
// KindSecret event (Data = the modal's nonce) and returns a function that
// waits for the answer to the submission: at most a.ackBudget, so that
// Slack gets it within its 3 seconds. The event is queued before submit
// returns, so it keeps its place among the conversation's events.
func (a *Adapter) submit(ic slackapi.InteractionCallback) (wait func() *slackapi.ViewSubmissionResponse) {
	ref, ok := decodeRef(ic.View.PrivateMetadata)
	if ic.View.CallbackID != callbackSecret || !ok || ic.View.State == nil {
		return func() *slackapi.ViewSubmissionResponse { return nil }
	}
	ev := bot.Event{Conversation: conv(ref.Chan), UserID: ic.User.ID, Kind: bot.KindSecret,
		Secret: bot.Secret(ic.View.State.Values[blockSecret][inputSecret].Value), Data: ref.Nonce}
	if ic.TriggerID != "" {
		ev.UpdateID = "view:" + ic.View.ID + ":" + ic.TriggerID
	}
	c := &capture{want: ref, done: make(chan struct{})}
	a.dispatch(ev, c, func(ctx context.Context) {
		if p := c.finish(); p != nil {
			if _, err := a.send(ctx, ref.Chan, p.reply, p); err != nil {
				a.log.WarnContext(ctx, "slack: deliver failed", "reply", p.reply, "err", err)
			}
		}
		close(c.done)
	})
	return func() *slackapi.ViewSubmissionResponse {
		t := time.NewTimer(a.ackBudget)
		defer t.Stop()
		select {
		case <-c.done:
		case <-t.C:
			if c.release() {
				return nil // close the modal; the replies follow in the DM
			}
			<-c.done
		}
		return a.answer(c)
	}
}

// captureKey is the context key of a view submission's capture.
type captureKey struct{}

// capture watches the replies of the turn that handles a view submission,
// so that the modal can answer for them: when the turn asks the same
// question again (a wrong code: same field, same step), the prompt is held
// back and shown as an error on the modal's input; when it ends with
// another question, the modal turns into that question's modal. Replies
// are delivered by the engine's goroutine; release and the answer run in
// the request's goroutine.
type capture struct {
	want modalRef      // the submitted modal
	done chan struct{} // closed when the turn is over

	mu       sync.Mutex
	released bool    // the submission was answered before the turn ended
	finished bool    // the turn ended
	held     *prompt // a repeated question not posted (yet)
	last     *prompt // the turn's last reply so far, if a secret prompt
	settled  bool    // the turn's first posted reply was seen (join.go)
}

// add records the next reply of the turn (p is the reply's prompt, nil
// when it is not a secret prompt). It returns a held prompt to post before
// the reply (nil if none) and whether the reply is held instead of posted.
func (c *capture) add(p *prompt) (flush *prompt, hold bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	flush, c.held, c.last = c.held, nil, p
	if p != nil && !c.released && p.ref.Field == c.want.Field && p.ref.Nonce == c.want.Nonce {
		c.held = p
		return flush, true
	}
	return flush, false
}

// release gives up waiting: later replies are posted. It reports false
// when the turn had already ended, so the answer can still use it.
func (c *capture) release() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished {
		return false
	}
	c.released = true
	return true
}

// finish marks the turn over and returns the held prompt if the
// submission was answered without it, so that it is posted after all.
func (c *capture) finish() *prompt {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.finished = true
	if !c.released {
		return nil
	}
	p := c.held
	c.held = nil
	return p
}

// answer returns the response to the submission once the turn is over:
// response_action "errors" with the repeated question on the input,
// "update" to the next question's modal, or nil, which closes the modal.
func (a *Adapter) answer(c *capture) *slackapi.ViewSubmissionResponse {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.held != nil:
		return slackapi.NewErrorsViewSubmissionResponse(map[string]string{blockSecret: a.inModal(c.held.ref.Locale, c.held.reply.Text)})
	case c.last != nil:
		v := a.modal(c.last.ref, a.inModal(c.last.ref.Locale, c.last.reply.Text))
		return slackapi.NewUpdateViewSubmissionResponse(&v)
	}
	return nil
}

// inModal returns a question's text as shown inside the open modal: the
// platform word for where to type (slack.words.here, "in the private form
// (tap the button below to open it)", which fits the DM message with the
// Enter button) becomes "slack.modal.here" ("in the box below"), in
// locale.
func (a *Adapter) inModal(locale, text string) string {
	here := a.text(locale, "slack.words.here")
	if here == "" || !strings.Contains(text, here) {
		return text
	}
	return strings.ReplaceAll(text, here, a.text(locale, "slack.modal.here"))
}

// slackMarkup matches Slack's link markup in message text: <url>,
// <url|label>, <mailto:a@b|a@b>, <@U123>.
var slackMarkup = regexp.MustCompile(`<([^<>|]*)(?:\|([^<>]*))?>`)

// plainText turns Slack message text back into what the user typed: links
// become their label (an e-mail address arrives as <mailto:a@b|a@b>) and
// &amp; &lt; &gt; are unescaped.
func plainText(s string) string {
	s = slackMarkup.ReplaceAllStringFunc(s, func(m string) string {
		sub := slackMarkup.FindStringSubmatch(m)
		if sub[2] != "" {
			return sub[2]
		}
		return strings.TrimPrefix(sub[1], "mailto:")
	})
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(s)
}
