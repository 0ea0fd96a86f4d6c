package main

import (
	"context"
	"fmt"
	"hash/fnv"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/internal/portal"
	"guidedfix/internal/simcustomer"
)

// floodCustomers is how many customers TestFloodControlLosesNoReply runs
// at once; GUIDEDFIX_FLOOD_CUSTOMERS overrides it (cmd/loadgen runs 500).
const floodCustomers = 50

// TestFloodControlLosesNoReply: a Bot API that answers one call in ten
// (sends, edits, keyboard removals, deletes, callback answers) five times
// in a row with 429 "retry after 1", and many customers at once on a real
// `guidedfix serve`. Every flow completes; every chat got the same replies in the
// same order as every other chat; every 429 was tried again.
func TestFloodControlLosesNoReply(t *testing.T) {
	n := floodCustomers
	if v, err := strconv.Atoi(os.Getenv("GUIDEDFIX_FLOOD_CUSTOMERS")); err == nil && v > 0 {
		n = v
	}
	dir := t.TempDir()
	var floods atomic.Int64
	var mu sync.Mutex
	refused := map[string]int{} // call -> 429s answered to it
	fake := fakebotapi.New(fakebotapi.Options{Token: procToken, BotUsername: procBot, Flood: func(c fakebotapi.Call) int {
		if ignored[c.Method] {
			return 0
		}
		// One call in ten is refused five times in a row (as many as the
		// attempts the adapter used to make), then accepted.
		f := c.Fields
		key := c.Method + "|" + f["chat_id"] + "|" + f["text"] + f["caption"] + "|" + f["message_id"] + f["message_ids"] + "|" + f["callback_query_id"]
		h := fnv.New32a()
		h.Write([]byte(key))
		if h.Sum32()%10 != 0 {
			return 0
		}
		mu.Lock()
		defer mu.Unlock()
		if refused[key] >= 5 {
			return 0
		}
		refused[key]++
		floods.Add(1)
		return 1
	}})
	t.Cleanup(fake.Close)
	accs := addAccounts(t, dir, "flood", n)
	// The order is set: the test counts the "2FA was disabled" alerts.
	srv := newServer(t, dir, fake, "GUIDEDFIX_FLOW__ORDER=disable-then-enroll")
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	inbox := &simcustomer.SMSInbox{Dir: filepath.Join(dir, "outbox", "sms")}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, a := range accs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := srv.customer(a, int64(7000+i), inbox)
			// Waits of a second or so must not look like a lost reply.
			c.Stall, c.Timeout = 60*time.Second, 3*time.Minute
			res, err := c.Run(ctx)
			if err == nil && res.Repeats != 0 {
				err = fmt.Errorf("typed %d inputs again: a reply did not come", res.Repeats)
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("customer %d: %v", i, err)
		}
	}
	if t.Failed() {
		t.Fatalf("server log:\n%s", srv.lastLog())
	}
	// The same replies, in the same order, in every chat: what each
	// customer was sent (accepted sends and their kind), in call order.
	replies := func(chat int64) []string {
		var out []string
		id := strconv.FormatInt(chat, 10)
		for _, c := range fake.Calls("sendMessage", "sendPhoto", "editMessageText") {
			if c.Fields["chat_id"] != id || c.ErrorCode != 0 {
				continue
			}
			text := c.Fields["text"] + c.Fields["caption"]
			out = append(out, c.Method+":"+text[:min(len(text), 24)])
		}
		return out
	}
	want := replies(7000)
	// 6 messages and 3 pressed messages edited into the next step
	// (issue 14).
	if len(want) != 9 {
		t.Fatalf("chat 7000 got %d replies: %q", len(want), want)
	}
	for i := 1; i < n; i++ {
		if got := replies(int64(7000 + i)); !slices.Equal(got, want) {
			t.Errorf("chat %d replies\n%q\nwant\n%q", 7000+i, got, want)
		}
	}
	if floods.Load() < int64(n) {
		t.Fatalf("only %d calls were answered 429", floods.Load())
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	for _, a := range accs {
		if e := accountEffects(t, dir, a.email); e.method != portal.MethodTOTP || e.alerts != 1 || e.confirmations != 1 {
			t.Errorf("%s: %+v", a.email, e)
		}
	}
	t.Logf("%d customers, %d calls answered 429, all flows completed", n, floods.Load())
}
