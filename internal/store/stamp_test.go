package store

import (
	"encoding/json"
	"testing"
	"time"

	"guidedfix/bot"
)

// TestStampDeadline: the stamp Save reads gives the same version and
// deadline as the whole session, for sessions that are done or not, with
// or without a wake-up time and replies left in the outbox; a stamp whose
// conversation does not match its key is refused.
func TestStampDeadline(t *testing.T) {
	t0 := time.Date(2026, 12, 3, 6, 0, 0, 0, time.UTC)
	conv := bot.Conversation{Channel: "telegram", ID: "42"}
	key, err := conversationKey(conv)
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range []bot.Session{
		{Conversation: conv, Version: 3, UpdatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{Conversation: conv, Version: 4, UpdatedAt: t0, ExpiresAt: t0.Add(time.Hour), WakeAt: t0.Add(time.Minute)},
		{Conversation: conv, Version: 5, UpdatedAt: t0, ExpiresAt: t0.Add(time.Hour), Outbox: []bot.Pending{{Op: bot.OpSend, Text: "x"}}},
		{Conversation: conv, Version: 6, UpdatedAt: t0, ExpiresAt: t0.Add(time.Hour), Done: true},
		{Conversation: conv, Version: 7, UpdatedAt: t0, Done: true, Outbox: []bot.Pending{{Op: bot.OpDelete, Ref: "qr"}}, Data: json.RawMessage(`{"a":[1,2]}`)},
	} {
		raw, err := json.Marshal(&s)
		if err != nil {
			t.Fatal(err)
		}
		st, err := decodeStamp(key, raw)
		if err != nil {
			t.Fatal(err)
		}
		if st.Version != s.Version || !st.deadline().Equal(s.Deadline()) {
			t.Errorf("session %d: stamp version %d deadline %v, want %d %v", i, st.Version, st.deadline(), s.Version, s.Deadline())
		}
	}
	other, _ := json.Marshal(&bot.Session{Conversation: bot.Conversation{Channel: "telegram", ID: "43"}})
	if _, err := decodeStamp(key, other); err == nil {
		t.Error("a stamp under another conversation's key was accepted")
	}
}
