package store

import (
	"encoding/json"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/testfill"
)

// filledSession returns a session with every field set (testfill) under
// the conversation telegram:42, its stored encoding and its key.
func filledSession(tb testing.TB) (*bot.Session, []byte, []byte) {
	var s bot.Session
	testfill.Fill(&s, testfill.Options{})
	s.Conversation = bot.Conversation{Channel: "telegram", ID: "42"}
	s.Done = false
	raw, err := json.Marshal(&s)
	if err != nil {
		tb.Fatal(err)
	}
	key, err := conversationKey(s.Conversation)
	if err != nil {
		tb.Fatal(err)
	}
	return &s, raw, key
}

// BenchmarkSaveStamp measures how Save's write transaction learns the
// stored version and due key of a session: from the cache (the stored
// bytes compared with the cached ones) or by decodeStamp.
func BenchmarkSaveStamp(b *testing.B) {
	s, raw, key := filledSession(b)
	b.Run("cached", func(b *testing.B) {
		c := newSessionCache(cacheEntries)
		c.put(key, &cached{raw: append([]byte(nil), raw...), version: s.Version, due: dueKey(s.Deadline(), key)}, false)
		b.ReportAllocs()
		for b.Loop() {
			if e := c.lookup(key, raw); e == nil || e.version != s.Version {
				b.Fatal("miss")
			}
		}
	})
	b.Run("decoded", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			st, err := decodeStamp(key, raw)
			if err != nil || st.Version != s.Version || dueKey(st.deadline(), key) == nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkCacheSaved measures what Save adds after its commit to keep
// the session it wrote: a clone made canonical, and the cache entry.
func BenchmarkCacheSaved(b *testing.B) {
	s, raw, key := filledSession(b)
	st := &Bolt{cache: newSessionCache(cacheEntries)}
	due := dueKey(s.Deadline(), key)
	b.ReportAllocs()
	for b.Loop() {
		st.cacheSaved(key, s, raw, due)
	}
	if st.cache.get(key).session == nil {
		b.Fatal("the filled session was not cached")
	}
}
