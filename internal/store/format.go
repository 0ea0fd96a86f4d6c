package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"guidedfix/bot"
)

// Bucket names. They are part of the on-disk format: never rename them.
const (
	bucketSessions = "sessions"
	bucketDue      = "due"
	bucketSeen     = "seen"
	bucketInbox    = "inbox"
)

// sep separates the channel from the conversation or update id in keys. A
// channel never contains it, so the first sep in a key ends the channel.
const sep = "\x00"

// errBadKey is wrapped by the key constructors' errors.
var errBadKey = errors.New("store: invalid key")

// conversationKey returns channel + "\x00" + id, the key of c in the
// sessions bucket. Channel and ID must not be empty and Channel must not
// contain "\x00".
func conversationKey(c bot.Conversation) ([]byte, error) {
	if err := checkChannel(c.Channel); err != nil {
		return nil, err
	}
	if c.ID == "" {
		return nil, fmt.Errorf("%w: empty conversation id on channel %q", errBadKey, c.Channel)
	}
	return []byte(c.Channel + sep + c.ID), nil
}

// seenKey returns channel + "\x00" + updateID, the key of a processed update
// in the seen bucket.
func seenKey(channel, updateID string) ([]byte, error) {
	if err := checkChannel(channel); err != nil {
		return nil, err
	}
	if updateID == "" {
		return nil, fmt.Errorf("%w: empty update id on channel %q", errBadKey, channel)
	}
	return []byte(channel + sep + updateID), nil
}

func checkChannel(channel string) error {
	if channel == "" {
		return fmt.Errorf("%w: empty channel", errBadKey)
	}
	if strings.Contains(channel, sep) {
		return fmt.Errorf("%w: channel %q contains NUL", errBadKey, channel)
	}
	return nil
}

// parseConversationKey splits a sessions key back into a Conversation.
func parseConversationKey(k []byte) (bot.Conversation, bool) {
	i := bytes.IndexByte(k, 0)
	if i <= 0 || i == len(k)-1 {
		return bot.Conversation{}, false
	}
	return bot.Conversation{Channel: string(k[:i]), ID: string(k[i+1:])}, true
}

// nanos returns t as unix nanoseconds for an 8-byte big-endian key prefix,
// clamped to [0, MaxInt64] so that byte order is time order for every
// instant: before 1970 sorts as 1970, after 2262 as the end of 2262.
func nanos(t time.Time) uint64 {
	if t.Before(time.Unix(0, 0)) {
		return 0
	}
	if t.After(time.Unix(0, math.MaxInt64)) {
		return math.MaxInt64
	}
	return uint64(t.UnixNano())
}

// putNanos returns the 8-byte big-endian encoding of nanos(t).
func putNanos(t time.Time) []byte {
	return binary.BigEndian.AppendUint64(make([]byte, 0, 8), nanos(t))
}

// dueKey returns the due-index key of a session stored under key with the
// given deadline: 8-byte big-endian unix nanos + key. It returns nil for a
// zero deadline (done session: no index entry).
func dueKey(deadline time.Time, key []byte) []byte {
	if deadline.IsZero() {
		return nil
	}
	k := make([]byte, 0, 8+len(key))
	k = binary.BigEndian.AppendUint64(k, nanos(deadline))
	return append(k, key...)
}
