package bot

import (
	"slices"
	"strconv"
	"strings"
)

// checkButton splits button data "action|nonce" and reports whether the
// nonce is the session's current one and the action one that the current
// step's replies offered (Session.Offered): a client may send any
// callback data (Bot API), so an action never offered is refused like a
// stale button (issue 11 item 6).
func (e *Engine) checkButton(s *Session, data string) (string, bool) {
	action, nonce, ok := strings.Cut(data, "|")
	if !ok || nonce != e.nonce(s) {
		return "", false
	}
	if s.OfferedStep != s.Step || !slices.Contains(s.Offered, action) {
		e.log.Warn("button action not offered by the current step refused", "session", s.ID, "step", s.Step)
		return "", false
	}
	return action, true
}

// nonce identifies the session's current step in button data: 4 characters
// of the session id and the step number in base 36.
func (e *Engine) nonce(s *Session) string {
	id := s.ID
	if len(id) > 4 {
		id = id[:4]
	}
	return id + strconv.FormatInt(int64(s.Step), 36)
}

// Nonce returns the current step's nonce of s, the value adapters that
// keep their own state (Slack modals) put in Event.Data of a KindSecret
// event so a stale modal is recognised.
func (e *Engine) Nonce(s *Session) string { return e.nonce(s) }
