package main

import (
	"hash/fnv"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"guidedfix/adapters/telegram/fakebotapi"
)

// floodControl answers 429 "retry after 1" to a share of the Bot API's
// calls, as Telegram's flood control does: a call picked by a hash of its
// method, chat, text and ids is refused up to repeat times in a row (the
// number of attempts the adapter used to give up after), then accepted.
type floodControl struct {
	share  float64
	repeat int
	n      atomic.Int64 // 429s answered
	mu     sync.Mutex
	seen   map[string]int
}

// ignoredByFlood are calls Telegram does not flood-limit per chat, or
// that the webhook mode makes once (registration).
var ignoredByFlood = map[string]bool{"getMe": true, "setWebhook": true, "deleteWebhook": true, "setMyCommands": true, "getFile": true}

func (f *floodControl) call(c fakebotapi.Call) int {
	if ignoredByFlood[c.Method] {
		return 0
	}
	fl := c.Fields
	key := c.Method + "|" + fl["chat_id"] + "|" + fl["text"] + fl["caption"] + "|" + fl["message_id"] + fl["message_ids"] + "|" + fl["callback_query_id"]
	h := fnv.New32a()
	h.Write([]byte(key))
	if float64(h.Sum32()%1000) >= f.share*1000 {
		return 0
	}
	// Flood runs under the fake's lock: this lock is only taken here.
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.seen == nil {
		f.seen = map[string]int{}
	}
	if f.seen[key] >= f.repeat {
		return 0
	}
	f.seen[key]++
	f.n.Add(1)
	return 1
}

// replyOrder compares the replies each chat received (accepted sendMessage
// and sendPhoto calls, in the order the fake applied them, each named by
// its method and the first 24 characters of its text) with the sequence
// most chats received. lost counts replies of that sequence missing from a
// chat; reordered counts chats whose replies (extras aside) came in another
// order;
// extra counts replies beyond the sequence (answers to inputs typed
// again).
func replyOrder(fake *fakebotapi.Server, chats []int64) (lost, reordered, extra int) {
	itoa := func(v int64) string { return strconv.FormatInt(v, 10) }
	want := map[string]bool{}
	for _, c := range chats {
		want[itoa(c)] = true
	}
	per := map[string][]string{}
	for _, c := range fake.Calls("sendMessage", "sendPhoto") {
		id := c.Fields["chat_id"]
		if !want[id] || c.ErrorCode != 0 {
			continue
		}
		text := c.Fields["text"] + c.Fields["caption"]
		per[id] = append(per[id], c.Method+":"+text[:min(len(text), 24)])
	}
	ids := make([]string, len(chats))
	for i, c := range chats {
		ids[i] = itoa(c)
	}
	return compareReplies(per, ids)
}

// compareReplies is replyOrder's comparison: per holds each chat's
// replies in order, chats the chats to compare (a chat missing from per
// received nothing).
func compareReplies(per map[string][]string, chats []string) (lost, reordered, extra int) {
	votes := map[string]int{}
	for _, s := range per {
		votes[strings.Join(s, "\x00")]++
	}
	var ref []string
	best := 0
	for k, v := range votes {
		if v > best {
			best, ref = v, strings.Split(k, "\x00")
		}
	}
	for _, c := range chats {
		got := per[c]
		if slices.Equal(got, ref) {
			continue
		}
		count := map[string]int{}
		for _, s := range got {
			count[s]++
		}
		var present []string // ref without the replies the chat lacks
		for _, s := range ref {
			if count[s] > 0 {
				count[s]--
				present = append(present, s)
			} else {
				lost++
			}
		}
		for _, n := range count {
			extra += n
		}
		// In order when present is a subsequence of got (extras aside).
		j := 0
		for _, s := range got {
			if j < len(present) && s == present[j] {
				j++
			}
		}
		if j < len(present) {
			reordered++
		}
	}
	return lost, reordered, extra
}
