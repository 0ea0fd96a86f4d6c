package bot

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// The reply outbox (DESIGN.md "persist, then call", applied to chat
// messages). A turn's replies are written into Session.Outbox by the same
// Save that records the new state and the processed update id; then they
// are delivered one by one, and once the last one is delivered the
// session is saved again without them, with the ids of the messages sent
// (their delivered marks): one fsync'd commit for the turn's replies, not
// one per message (issue 14). A process killed anywhere in a turn
// therefore never loses a reply (the restarted engine delivers what is
// left: before the conversation's next event, when a redelivered update
// comes, or by the sweeper), and sends a message twice only in the window
// that no client of a chat API without idempotency keys can close:
// between the platform accepting a send and the save of its delivered
// mark. The trade-off: that window is the delivery of the turn's replies,
// so a kill during it sends again the messages of that one unfinished
// turn that were already out (at most the few a turn sends, never those
// of an earlier turn), where a save per message limited it to one message
// at the cost of an fsync per message. One exception keeps a secret's
// message deletable: a Sensitive message (QR code, manual key, recovery
// codes) that is not the turn's last reply has its delivered mark saved
// at once, so that the id needed to delete it is on disk before anything
// else goes out. Edits and deletes are idempotent and never duplicate.
// A delivery cut short by the end of ctx (shutdown) saves the progress
// made so far, best effort.
//
// A Sensitive reply (QR code, manual key, recovery codes) is stored
// without its content: the session store never holds a secret. If a crash
// leaves one undelivered, the engine asks the flow to render it again
// (Rerenderer); a flow that cannot drops it.

// redeliveryGrace is how long the engine leaves a turn a crash interrupted
// to the platform's redelivery of its update before the sweeper finishes
// it itself: the sweeper delivers replies left in the outbox this long
// after their turn, and resumes a checkpointed step this long after the
// checkpoint. The redelivered update is better: it carries the input
// (a typed code) that the session store never holds. A turn that was not
// interrupted finishes long before.
const redeliveryGrace = 10 * time.Second

// Pending is one reply of a saved turn that is not delivered yet
// (Session.Outbox): the stored form of a Reply.
type Pending struct {
	Op          Op          `json:"op"`
	ID          string      `json:"id,omitempty"`
	Text        string      `json:"text,omitempty"`
	Buttons     []Button    `json:"buttons,omitempty"`
	Image       []byte      `json:"image,omitempty"`
	QR          string      `json:"qr,omitempty"`
	Code        []string    `json:"code,omitempty"`
	Protected   bool        `json:"protected,omitempty"`
	Sensitive   bool        `json:"sensitive,omitempty"`
	Secret      SecretField `json:"secret,omitempty"`
	Ref         string      `json:"ref,omitempty"`
	MessageID   string      `json:"message_id,omitempty"`
	ButtonsStep int         `json:"buttons_step,omitempty"`
	// Redacted marks a Sensitive reply stored without its text, image and
	// QR; it is rendered again before delivery (Rerenderer).
	Redacted bool `json:"redacted,omitempty"`
}

// pendingOf returns the stored form of r, without its content when r is
// Sensitive.
func pendingOf(r Reply) Pending {
	p := Pending{Op: r.Op, ID: r.ID, Text: r.Text, Buttons: r.Buttons, Image: r.Image, QR: r.QR, Code: r.Code,
		Protected: r.Protected, Sensitive: r.Sensitive, Secret: r.Secret, Ref: r.Ref,
		MessageID: r.MessageID, ButtonsStep: r.ButtonsStep}
	if r.Sensitive {
		p.Text, p.Image, p.QR, p.Code, p.Redacted = "", nil, "", nil, true
	}
	return p
}

// Reply returns the reply p stores (without content when Redacted).
func (p Pending) Reply() Reply {
	return Reply{Op: p.Op, ID: p.ID, Text: p.Text, Buttons: p.Buttons, Image: p.Image, QR: p.QR, Code: p.Code,
		Protected: p.Protected, Sensitive: p.Sensitive, Secret: p.Secret, Ref: p.Ref,
		MessageID: p.MessageID, ButtonsStep: p.ButtonsStep}
}

// Rerenderer is implemented by flows that send Sensitive replies. When a
// crash left such a reply undelivered, the engine calls Rerender with the
// stored reply (ID, Ref, Buttons and flags kept; Text, Image and QR empty)
// and delivers the reply it returns. t.Session is the session as saved
// with that reply; Rerender must not change it (it may read its data and
// use t.Key and t.T). An error drops the reply.
type Rerenderer interface {
	Rerender(ctx context.Context, t *Turn, r Reply) (Reply, error)
}

// stage stamps the buttons of the replies queued so far with the current
// step's nonce and moves them into the session's outbox (stored by the
// next Save) and, with their content, into t.staged for delivery by this
// process.
func (e *Engine) stage(t *Turn) {
	s := t.Session
	nonce := e.nonce(s)
	if s.OfferedStep != s.Step {
		s.Offered, s.OfferedStep = nil, s.Step
	}
	for i := range t.replies {
		r := &t.replies[i]
		if len(r.Buttons) > 0 {
			r.ButtonsStep = s.Step
			for j := range r.Buttons {
				if !slices.Contains(s.Offered, r.Buttons[j].Data) {
					s.Offered = append(s.Offered, r.Buttons[j].Data)
				}
				r.Buttons[j].Data = r.Buttons[j].Data + "|" + nonce
			}
		}
		s.Outbox = append(s.Outbox, pendingOf(*r))
	}
	t.staged = append(t.staged, t.replies...)
	t.replies = nil
}

// deliverOutbox delivers the session's outbox in order and saves the
// session once after the last reply (and right after a Sensitive message
// that is not the last), so that a restart resends at most the messages of
// this delivery whose marks were not saved yet (see the outbox comment
// above).
// live holds the content of the last len(live) entries (this turn's
// replies); earlier entries, left by a crash, are delivered from their
// stored form. It returns the store's error, or ctx's when ctx ended
// before the outbox was delivered (the rest stays for later).
func (e *Engine) deliverOutbox(ctx context.Context, s *Session, live []Reply) error {
	if len(s.Outbox) == 0 {
		return nil
	}
	conv := s.Conversation.String()
	e.meter.Pending(conv, len(s.Outbox))
	defer func() { e.meter.Pending(conv, len(s.Outbox)) }()
	d := e.deliverer(s.Conversation.Channel)
	if d == nil {
		e.log.ErrorContext(ctx, "no deliverer for channel; replies kept", "channel", s.Conversation.Channel, "session", s.ID)
		return nil
	}
	entries := s.Outbox
	stored := len(entries) - len(live)
	type rendering struct {
		r  Reply
		ok bool
	}
	rendered := map[int]rendering{}
	// render returns entry i with its content: this turn's from live, a
	// redacted one rendered again (once).
	render := func(i int) (Reply, bool) {
		if x, done := rendered[i]; done {
			return x.r, x.ok
		}
		r, ok := entries[i].Reply(), true
		switch {
		case i >= stored:
			r = live[i-stored]
		case entries[i].Redacted:
			r, ok = e.rerender(ctx, s, r)
		}
		rendered[i] = rendering{r, ok}
		return r, ok
	}
	dirty := false
	for i := 0; i < len(entries); i++ {
		if s.Parked {
			// The user blocked the bot: nothing more is delivered.
			s.Outbox, dirty = nil, true
			break
		}
		r, ok := render(i)
		if n := e.deleteRun(d, entries[i:]); n > 1 {
			// Consecutive deletions of the bot's own messages (the end
			// of a flow) go out as one call.
			if err := e.deliverDeletes(ctx, d, s, entries[i:i+n]); err != nil {
				return e.saveProgress(ctx, s, dirty, err)
			}
			i += n - 1
			ok = false
		}
		parts := []Reply{r}
		for ok && i+1 < len(entries) {
			// Sends the deliverer shows as one message (Joiner) go out as
			// one, and are marked delivered together.
			next, nok := render(i + 1)
			if !nok || !joinable(d, r, next) {
				break
			}
			r = JoinReplies(r, next)
			parts = append(parts, next)
			i++
		}
		if ok {
			id, err := e.deliverOne(ctx, d, s, r)
			if err != nil {
				return e.saveProgress(ctx, s, dirty, err)
			}
			if refs := joinRefs(parts); id != "" && len(refs) > 1 {
				// Every part's ref names the one message.
				for _, ref := range refs[1:] {
					s.Messages[ref] = id
				}
			}
		}
		s.Outbox, dirty = entries[i+1:], true
		if ok && r.Op == OpSend && r.Sensitive && i < len(entries)-1 {
			// The secret's message id goes to disk before anything else
			// is sent: a crash must not leave it undeletable.
			if err := e.store.Save(ctx, s, ""); err != nil {
				return fmt.Errorf("save delivered replies %s: %w", s.ID, err)
			}
			dirty = false
		}
	}
	if dirty {
		if len(s.Outbox) == 0 {
			s.Outbox = nil
		}
		if err := e.store.Save(ctx, s, ""); err != nil {
			return fmt.Errorf("save delivered replies %s: %w", s.ID, err)
		}
	}
	return nil
}

// saveProgress saves the delivered marks of a delivery that stopped with
// err (ctx ended) when there are unsaved ones, on a context that is not
// cancelled, so that a shutdown does not resend what was delivered; a
// failure of that save is logged. It returns err.
func (e *Engine) saveProgress(ctx context.Context, s *Session, dirty bool, err error) error {
	if !dirty {
		return err
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if serr := e.store.Save(sctx, s, ""); serr != nil {
		e.log.WarnContext(ctx, "delivered replies not saved; a restart may send them again", "session", s.ID, "err", serr)
	}
	return err
}

// BatchDeleter is a Deliverer that deletes several messages in one OpDelete
// (Telegram deleteMessages): the engine then joins consecutive deletions by
// Ref into one reply whose Ref and MessageID list every ref and message
// id, separated by ",". A deletion of the user's message that held a
// secret (ID MsgDeleteUserSecret, by MessageID) right before them joins
// the same call, so that the typed TOTP code and the QR code it answered
// go in one call, still in the turn that read the code (issue 14).
type BatchDeleter interface {
	Deliverer
	// BatchDelete returns the most refs one such reply may carry (> 1).
	BatchDelete() int
}

// userSecretDelete reports whether p deletes the user's message that held
// a secret.
func userSecretDelete(p Pending) bool {
	return p.Op == OpDelete && p.Ref == "" && p.ID == MsgDeleteUserSecret && p.MessageID != "" && !strings.Contains(p.MessageID, ",")
}

// deleteRun returns how many entries from the start of es are deletions
// of the bot's own messages (OpDelete by Ref), after at most one deletion
// of the user's secret message first, that d takes as one batched
// OpDelete; 0 when d is no BatchDeleter.
func (e *Engine) deleteRun(d Deliverer, es []Pending) int {
	bd, ok := d.(BatchDeleter)
	if !ok {
		return 0
	}
	n := 0
	for k, p := range es {
		if n == bd.BatchDelete() {
			break
		}
		if k == 0 && userSecretDelete(p) {
			n++
			continue
		}
		if p.Op != OpDelete || p.Ref == "" || p.MessageID != "" || p.Redacted {
			break
		}
		n++
	}
	if n == 1 && userSecretDelete(es[0]) {
		return 0 // alone: delivered as usual
	}
	return n
}

// deliverDeletes performs the deletions es (see deleteRun) as one OpDelete
// whose MessageID joins every message id of their refs with ",", and drops
// the refs from s.Messages once done (or the messages are gone). Refs
// with no delivered message are skipped; ids are deleted once. A user's
// secret message among them is deleted in the same call; when the call
// fails (not "gone") the user is asked to delete it, as deliverOne does.
// Errors are handled as in deliverOne.
func (e *Engine) deliverDeletes(ctx context.Context, d Deliverer, s *Session, es []Pending) error {
	var refs, ids []string
	var user *Reply
	for _, p := range es {
		if userSecretDelete(p) {
			r := p.Reply()
			user = &r
			continue
		}
		ref := p.Reply().Ref
		if id, ok := s.Messages[ref]; ok {
			refs = append(refs, ref)
			if !slices.Contains(ids, id) {
				ids = append(ids, id)
			}
		}
	}
	if len(ids) == 0 {
		if user != nil {
			_, err := e.deliverOne(ctx, d, s, *user)
			return err
		}
		return nil
	}
	if user != nil {
		ids = append([]string{user.MessageID}, ids...)
	}
	r := Reply{Op: OpDelete, Ref: strings.Join(refs, ","), MessageID: strings.Join(ids, ",")}
	_, err := d.Deliver(ctx, s.Conversation, r)
	switch {
	case errors.Is(err, ErrBlocked):
		e.log.Info("user unreachable; session parked", "session", s.ID)
		s.Parked = true
	case err != nil && !errors.Is(err, ErrMessageGone) && ctx.Err() != nil:
		return ctx.Err()
	case err != nil && !errors.Is(err, ErrMessageGone):
		e.log.Warn("deliver failed", "session", s.ID, "reply", r, "err", err)
		if user != nil {
			e.warnDeleteFailed(ctx, d, s)
		}
	default:
		for _, ref := range refs {
			delete(s.Messages, ref)
		}
	}
	e.hooks.fire(HookDelivered, s)
	return nil
}

// deliverOne performs r and records what it changed in s (message refs,
// parking). A reply that fails for another reason is logged and counts as
// done; only the end of ctx is returned, so that the reply stays. It
// returns the id of the message sent under r.Ref ("" if none).
func (e *Engine) deliverOne(ctx context.Context, d Deliverer, s *Session, r Reply) (string, error) {
	if r.Op != OpSend && r.MessageID == "" {
		id, ok := s.Messages[r.Ref]
		if !ok {
			return "", nil
		}
		r.MessageID = id
	}
	id, err := d.Deliver(ctx, s.Conversation, r)
	sent := ""
	switch {
	case errors.Is(err, ErrBlocked):
		e.log.InfoContext(ctx, "user unreachable; session parked", "session", s.ID)
		s.Parked = true
	case errors.Is(err, ErrMessageGone):
		if r.Ref != "" && r.Op == OpDelete {
			delete(s.Messages, r.Ref)
		}
	case err != nil && ctx.Err() != nil:
		return "", ctx.Err()
	case err != nil:
		e.log.WarnContext(ctx, "deliver failed", "session", s.ID, "reply", r, "err", err)
		if r.Op == OpDelete && r.Ref == "" {
			// The user's own message held a secret and is still there.
			e.warnDeleteFailed(ctx, d, s)
		}
	default:
		switch {
		case r.Op == OpSend && r.Ref != "":
			if s.Messages == nil {
				s.Messages = map[string]string{}
			}
			s.Messages[r.Ref] = id
			sent = id
		case r.Op == OpDelete && r.Ref != "":
			delete(s.Messages, r.Ref)
		}
	}
	e.hooks.fire(HookDelivered, s)
	return sent, nil
}

// rerender asks the session's flow to render a Redacted reply again.
func (e *Engine) rerender(ctx context.Context, s *Session, r Reply) (Reply, bool) {
	f, ok := e.flows[s.Flow].(Rerenderer)
	if !ok {
		e.log.WarnContext(ctx, "undelivered sensitive reply dropped: the flow cannot render it again", "session", s.ID, "reply", r)
		return r, false
	}
	t := &Turn{Event: Event{Conversation: s.Conversation, UserID: s.UserID, Kind: KindTimer}, Now: e.now().UTC(), Session: s, engine: e, from: s.State}
	out, err := f.Rerender(ctx, t, r)
	if err != nil {
		e.log.WarnContext(ctx, "undelivered sensitive reply dropped", "session", s.ID, "reply", r, "err", err)
		return r, false
	}
	out.Op, out.Ref, out.Sensitive = r.Op, r.Ref, true
	if out.Buttons == nil {
		out.Buttons, out.ButtonsStep = r.Buttons, r.ButtonsStep
	}
	return out, true
}

// flushStored delivers what a crash left in the stored session of c, if
// anything. The caller holds c's place in the queue.
func (e *Engine) flushStored(ctx context.Context, c Conversation) error {
	s, err := e.store.Load(ctx, c)
	switch {
	case errors.Is(err, ErrNoSession):
		return nil
	case err != nil:
		return fmt.Errorf("load session %s: %w", c, err)
	}
	return e.deliverOutbox(ctx, s, nil)
}

// warnDeleteFailed asks the user of s to delete their own message that
// held a secret (MsgDeleteFailed), after its deletion failed; a failed
// warning is logged.
func (e *Engine) warnDeleteFailed(ctx context.Context, d Deliverer, s *Session) {
	warn := Reply{Op: OpSend, ID: MsgDeleteFailed, Text: e.Text(s.Locale, s.Conversation.Channel, MsgDeleteFailed, nil)}
	if _, err := d.Deliver(ctx, s.Conversation, warn); err != nil {
		e.log.WarnContext(ctx, "deliver failed", "session", s.ID, "reply", warn, "err", err)
	}
}
