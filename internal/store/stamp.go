package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"guidedfix/bot"
)

// sessionStamp is the part of a stored session that Save and Delete read
// inside the write transaction: the compare-and-swap version, the fields
// of bot.Session.Deadline (to move its due-index entry) and the
// conversation (checked against the key). Decoding only these, instead of
// the whole session with its outbox, message ids and flow data, keeps the
// single writer's critical section short (issue 14: the session decode in
// Save was a visible share of the server's CPU under load). The JSON
// names are bot.Session's.
type sessionStamp struct {
	Conversation bot.Conversation  `json:"conversation"`
	Version      uint64            `json:"version"`
	UpdatedAt    time.Time         `json:"updated_at"`
	ExpiresAt    time.Time         `json:"expires_at"`
	WakeAt       time.Time         `json:"wake_at,omitzero"`
	Done         bool              `json:"done,omitempty"`
	Outbox       []json.RawMessage `json:"outbox,omitempty"`
}

// decodeStamp decodes the stamp of the session stored under key as raw.
// It fails, as decodeSession does, for a value that does not decode or
// whose conversation does not match key.
func decodeStamp(key, raw []byte) (sessionStamp, error) {
	var st sessionStamp
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("decode session %q: %w", key, err)
	}
	if k, err := conversationKey(st.Conversation); err != nil || !bytes.Equal(k, key) {
		return st, fmt.Errorf("decode session %q: stored conversation %s does not match its key", key, st.Conversation)
	}
	return st, nil
}

// deadline is bot.Session.Deadline of the stamped session.
func (st sessionStamp) deadline() time.Time {
	s := bot.Session{UpdatedAt: st.UpdatedAt, ExpiresAt: st.ExpiresAt, WakeAt: st.WakeAt, Done: st.Done}
	if len(st.Outbox) > 0 {
		s.Outbox = make([]bot.Pending, 1) // only its length counts
	}
	return s.Deadline()
}
