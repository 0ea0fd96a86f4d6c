package store_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"guidedfix/bot"
	"guidedfix/internal/store"
	"guidedfix/internal/store/storetest"
	"guidedfix/internal/testfill"
)

// fullSession returns a session shaped like the engine's in the middle of
// a flow (about 900 bytes of JSON): tags, message ids, offered buttons, an
// outbox with buttons and a code, flow data.
func fullSession(id string) *bot.Session {
	s := session("telegram", id, t0.Add(time.Hour))
	s.State = "awaiting_totp_code"
	s.Step = 6
	s.Offered = []string{"cancel", "show_qr", "help"}
	s.OfferedStep = 6
	s.Expect = bot.SecretTOTPCode
	s.Locale = "ms"
	s.WakeAt = t0.Add(10 * time.Minute)
	s.Tags = map[string]string{"account": "acct-123", "method": "sms", "outcome": "pending"}
	s.Messages = map[string]string{"welcome": "101", "qr": "102", "code_prompt": "103", "disabled": "104"}
	s.Outbox = []bot.Pending{
		{Op: bot.OpSend, ID: "totpswitch.code_prompt", Text: "Type the 6-digit code your authenticator app shows for this account.",
			Buttons: []bot.Button{{Label: "Show the QR code again", Data: "show_qr|6"}, {Label: "Cancel", Data: "cancel|6"}}, Ref: "code_prompt", ButtonsStep: 6},
		{Op: bot.OpSend, ID: "totpswitch.qr", Sensitive: true, Redacted: true, Protected: true, Ref: "qr", Code: []string{"ABCD"}},
	}
	s.Data = json.RawMessage(`{"account_id":"acct-123","email":"alice@example.com","grant_expires":"2030-03-04T05:16:07Z","enrollment":"enr-42","attempts":1,"key":"sess-` + id + `-step-6"}`)
	return s
}

// storedRaw returns the bytes stored for c, read behind the store.
func storedRaw(t testing.TB, b *store.Bolt, c bot.Conversation) []byte {
	t.Helper()
	var raw []byte
	err := store.RawDB(b).View(func(tx *bolt.Tx) error {
		raw = append([]byte(nil), tx.Bucket([]byte("sessions")).Get([]byte(c.Channel+"\x00"+c.ID))...)
		return nil
	})
	if err != nil || raw == nil {
		t.Fatalf("read %s behind the store: %v (raw %q)", c, err, raw)
	}
	return raw
}

// decoded is what decoding the stored bytes of c gives.
func decoded(t testing.TB, b *store.Bolt, c bot.Conversation) *bot.Session {
	t.Helper()
	var s bot.Session
	if err := json.Unmarshal(storedRaw(t, b, c), &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

// putBehind writes v as the stored value of c directly in bbolt.
func putBehind(t testing.TB, b *store.Bolt, c bot.Conversation, v []byte) {
	t.Helper()
	err := store.RawDB(b).Update(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("sessions")).Put([]byte(c.Channel+"\x00"+c.ID), v)
	})
	if err != nil {
		t.Fatal(err)
	}
}

func wantCounts(t testing.TB, b *store.Bolt, hits, misses uint64) {
	t.Helper()
	if h, m := store.CacheCounts(b); h != hits || m != misses {
		t.Fatalf("cache hits, misses = %d, %d, want %d, %d", h, m, hits, misses)
	}
}

func TestCacheLoadAfterSave(t *testing.T) {
	ctx := context.Background()
	b := storetest.Open(t, store.Options{Path: dbPath(t)})
	s := fullSession("42")
	if err := b.Save(ctx, s, "u1"); err != nil {
		t.Fatal(err)
	}
	got, err := b.Load(ctx, s.Conversation)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, b, 1, 0)
	if want := decoded(t, b, s.Conversation); !reflect.DeepEqual(got, want) {
		t.Fatalf("cached Load = %+v\nwant (decoded) %+v", got, want)
	}
	if got.Version != 1 || got.State != "awaiting_totp_code" || got.Messages["qr"] != "102" || got.Outbox[0].Buttons[1].Data != "cancel|6" {
		t.Fatalf("Load = %+v", got)
	}
	// The caller owns what Load returns: mutating it changes no later Load.
	got.Tags["account"] = "changed"
	got.Messages["new"] = "999"
	got.Outbox[0].Buttons[0].Label = "changed"
	got.Outbox[1].Code[0] = "changed"
	got.Offered[0] = "changed"
	got.Data[2] = 'X'
	got.State = "changed"
	again, err := b.Load(ctx, s.Conversation)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, b, 2, 0)
	if want := decoded(t, b, s.Conversation); !reflect.DeepEqual(again, want) {
		t.Fatalf("Load after mutating the previous one = %+v\nwant %+v", again, want)
	}
	// Saving the caller's session and mutating it afterwards does not
	// reach the cache either.
	again.Step = 7
	if err := b.Save(ctx, again, "u2"); err != nil {
		t.Fatal(err)
	}
	again.Tags["account"] = "after save"
	again.Outbox[0].Buttons[0].Label = "after save"
	third, err := b.Load(ctx, s.Conversation)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, b, 3, 0)
	if third.Version != 2 || third.Step != 7 || third.Tags["account"] != "acct-123" || third.Outbox[0].Buttons[0].Label != "Show the QR code again" {
		t.Fatalf("Load after Save = %+v", third)
	}
	if want := decoded(t, b, s.Conversation); !reflect.DeepEqual(third, want) {
		t.Fatalf("Load after Save = %+v\nwant %+v", third, want)
	}
}

func TestCacheRewrittenBehind(t *testing.T) {
	ctx := context.Background()
	b := storetest.Open(t, store.Options{Path: dbPath(t)})
	s := fullSession("7")
	c := s.Conversation
	if err := b.Save(ctx, s, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx, c); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, b, 1, 0)

	// Same version, other state: Load decodes the new bytes.
	behind := decoded(t, b, c)
	behind.State, behind.Step, behind.Tags = "awaiting_password", 9, map[string]string{"outcome": "rewritten"}
	v, err := json.Marshal(behind)
	if err != nil {
		t.Fatal(err)
	}
	putBehind(t, b, c, v)
	got, err := b.Load(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, b, 1, 1)
	if got.State != "awaiting_password" || got.Step != 9 || got.Version != 1 || len(got.Tags) != 1 || got.Tags["outcome"] != "rewritten" {
		t.Fatalf("Load after a write behind the cache = %+v", got)
	}
	if _, err := b.Load(ctx, c); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, b, 2, 1)

	// A version moved behind the cache: a Save of the cached version
	// conflicts and writes nothing.
	behind.Version = 5
	v, _ = json.Marshal(behind)
	putBehind(t, b, c, v)
	stale := fullSession("7")
	stale.Version = 1
	if err := b.Save(ctx, stale, ""); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("Save over a version rewritten behind the cache = %v, want ErrConflict", err)
	}
	if stale.Version != 1 {
		t.Fatalf("conflicting Save changed Version to %d", stale.Version)
	}
	if got := storedRaw(t, b, c); string(got) != string(v) {
		t.Fatalf("conflicting Save wrote %s", got)
	}
	stale.Version = 5
	if err := b.Save(ctx, stale, ""); err != nil || stale.Version != 6 {
		t.Fatalf("Save of the rewritten version = %v (version %d)", err, stale.Version)
	}
	got, err = b.Load(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	wantCounts(t, b, 3, 1)
	if got.Version != 6 || got.State != "awaiting_totp_code" || got.Step != 6 {
		t.Fatalf("Load = %+v", got)
	}

	// Deleted behind the cache: Load says so.
	err = store.RawDB(b).Update(func(tx *bolt.Tx) error {
		var dues [][]byte
		_ = tx.Bucket([]byte("due")).ForEach(func(k, _ []byte) error {
			if strings.HasSuffix(string(k), "telegram\x007") {
				dues = append(dues, append([]byte(nil), k...))
			}
			return nil
		})
		for _, k := range dues {
			if err := tx.Bucket([]byte("due")).Delete(k); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("sessions")).Delete([]byte("telegram\x007"))
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Load(ctx, c); !errors.Is(err, bot.ErrNoSession) {
		t.Fatalf("Load after a delete behind the cache = %v, want ErrNoSession", err)
	}
}

func TestCacheConflict(t *testing.T) {
	ctx := context.Background()
	b := storetest.Open(t, store.Options{Path: dbPath(t)})
	s := fullSession("1")
	if err := b.Save(ctx, s, ""); err != nil {
		t.Fatal(err)
	}
	x, err := b.Load(ctx, s.Conversation)
	if err != nil {
		t.Fatal(err)
	}
	y, err := b.Load(ctx, s.Conversation)
	if err != nil {
		t.Fatal(err)
	}
	x.Step = 10
	if err := b.Save(ctx, x, ""); err != nil || x.Version != 2 {
		t.Fatalf("first Save = %v (version %d)", err, x.Version)
	}
	y.Step = 20
	if err := b.Save(ctx, y, ""); !errors.Is(err, bot.ErrConflict) || y.Version != 1 {
		t.Fatalf("second Save of version 1 = %v (version %d), want ErrConflict", err, y.Version)
	}
	fresh := fullSession("1")
	if err := b.Save(ctx, fresh, ""); !errors.Is(err, bot.ErrConflict) || fresh.Version != 0 {
		t.Fatalf("Save of a new session over a stored one = %v, want ErrConflict", err)
	}
	got, err := b.Load(ctx, s.Conversation)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != 2 || got.Step != 10 {
		t.Fatalf("Load = version %d step %d, want 2 and 10", got.Version, got.Step)
	}
	if err := b.Delete(ctx, s.Conversation); err != nil {
		t.Fatal(err)
	}
	if n := store.CacheLen(b); n != 0 {
		t.Fatalf("cache holds %d entries after Delete, want 0", n)
	}
	// After Delete the conversation starts again at version 0.
	if err := b.Save(ctx, x, ""); !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("Save of version 2 after Delete = %v, want ErrConflict", err)
	}
	if err := b.Save(ctx, fullSession("1"), ""); err != nil {
		t.Fatal(err)
	}
}

func TestCacheBound(t *testing.T) {
	ctx := context.Background()
	b := storetest.Open(t, store.Options{Path: dbPath(t)})
	n := store.CacheEntries + 100
	for i := range n {
		if err := b.Save(ctx, fullSession(fmt.Sprint(i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	if got := store.CacheLen(b); got != store.CacheEntries {
		t.Fatalf("cache holds %d entries after %d sessions, want %d", got, n, store.CacheEntries)
	}
	// The least recently used went first: the oldest session is decoded,
	// the newest answered from the cache.
	if _, err := b.Load(ctx, bot.Conversation{Channel: "telegram", ID: "0"}); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, b, 0, 1)
	if _, err := b.Load(ctx, bot.Conversation{Channel: "telegram", ID: fmt.Sprint(n - 1)}); err != nil {
		t.Fatal(err)
	}
	wantCounts(t, b, 1, 1)
	if got := store.CacheLen(b); got != store.CacheEntries {
		t.Fatalf("cache holds %d entries, want %d", got, store.CacheEntries)
	}
	// A done session is dropped, and not cached again by Load.
	s, err := b.Load(ctx, bot.Conversation{Channel: "telegram", ID: fmt.Sprint(n - 2)})
	if err != nil {
		t.Fatal(err)
	}
	s.Done = true
	if err := b.Save(ctx, s, ""); err != nil {
		t.Fatal(err)
	}
	if got := store.CacheLen(b); got != store.CacheEntries-1 {
		t.Fatalf("cache holds %d entries after a session finished, want %d", got, store.CacheEntries-1)
	}
	if _, err := b.Load(ctx, s.Conversation); err != nil {
		t.Fatal(err)
	}
	if got := store.CacheLen(b); got != store.CacheEntries-1 {
		t.Fatalf("cache holds %d entries after loading a done session, want %d", got, store.CacheEntries-1)
	}
	wantCounts(t, b, 2, 2)
}

// TestCacheMatchesDecode fills every field of a session by reflection
// (so a field added later is covered), saves it and requires Load, whether
// the cache answers or not, to return exactly what decoding the stored
// bytes returns, with empty collections, invalid UTF-8, times outside UTC
// or with a monotonic reading, and flow data json.Marshal rewrites.
func TestCacheMatchesDecode(t *testing.T) {
	ctx := context.Background()
	b := storetest.Open(t, store.Options{Path: dbPath(t)})
	type variant struct {
		name   string
		o      testfill.Options
		edit   func(*bot.Session)
		cached bool // Save keeps the decoded session
	}
	variants := []variant{
		{name: "filled", cached: true},
		{name: "empty", o: testfill.Options{Empty: true}, cached: true},
		{name: "spaced data", edit: func(s *bot.Session) { s.Data = json.RawMessage(` { "a" : [1, 2] } `) }},
		{name: "html data", edit: func(s *bot.Session) { s.Data = json.RawMessage(`{"a":"<b>&"}`) }},
		{name: "line separator in data", edit: func(s *bot.Session) { s.Data = json.RawMessage("{\"a\":\"\u2028\"}") }},
		{name: "data with spaces in strings", edit: func(s *bot.Session) { s.Data = json.RawMessage(`{"a":"b c\"d e"}`) }, cached: true},
	}
	var probe bot.Session
	st := testfill.Fill(&probe, testfill.Options{})
	// One variant per string with an invalid UTF-8 byte, and per time in
	// another location, so that each field needs its own check in
	// canonical. Strings 2 and 3 are the conversation, set below.
	for n := 1; n <= st.Strings; n++ {
		if n != 2 && n != 3 {
			variants = append(variants, variant{name: fmt.Sprintf("bad utf-8 in string %d", n), o: testfill.Options{BadString: n}})
		}
	}
	for n := 1; n <= st.Times; n++ {
		variants = append(variants,
			variant{name: fmt.Sprintf("time %d in a fixed zone", n), o: testfill.Options{OddTime: n, OddLocation: time.FixedZone("X", 8*3600)}},
			variant{name: fmt.Sprintf("time %d local", n), o: testfill.Options{OddTime: n}})
	}
	for i, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			var s bot.Session
			testfill.Fill(&s, v.o)
			s.Conversation = bot.Conversation{Channel: "telegram", ID: fmt.Sprint(i)}
			s.Version, s.Done = 0, false
			if v.edit != nil {
				v.edit(&s)
			}
			if err := b.Save(ctx, &s, ""); err != nil {
				t.Fatal(err)
			}
			for load, wantHit := range []bool{v.cached, true} {
				h0, _ := store.CacheCounts(b)
				got, err := b.Load(ctx, s.Conversation)
				if err != nil {
					t.Fatal(err)
				}
				if want := decoded(t, b, s.Conversation); !reflect.DeepEqual(got, want) {
					t.Fatalf("Load %d = %#v\nwant (decoded) %#v", load+1, got, want)
				}
				if h1, _ := store.CacheCounts(b); (h1 > h0) != wantHit {
					t.Fatalf("Load %d answered by the cache: %v, want %v", load+1, h1 > h0, wantHit)
				}
			}
		})
	}
}

// TestCacheConcurrent runs Load-modify-Save loops of several goroutines on
// the same conversations, retrying on ErrConflict: every increment that a
// Save acknowledged must be in the final session, none twice (run with
// -race).
func TestCacheConcurrent(t *testing.T) {
	ctx := context.Background()
	b := storetest.Open(t, store.Options{Path: dbPath(t)})
	const convs, workers, increments = 3, 4, 15
	for i := range convs {
		if err := b.Save(ctx, fullSession(fmt.Sprint(i)), ""); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, convs*workers)
	for i := range convs {
		for w := range workers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := bot.Conversation{Channel: "telegram", ID: fmt.Sprint(i)}
				for done := 0; done < increments; {
					s, err := b.Load(ctx, c)
					if err != nil {
						errs <- err
						return
					}
					s.Step++
					s.Tags[fmt.Sprintf("w%d-%d", w, done)] = "x"
					switch err := b.Save(ctx, s, ""); {
					case errors.Is(err, bot.ErrConflict):
					case err != nil:
						errs <- err
						return
					default:
						done++
					}
				}
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i := range convs {
		c := bot.Conversation{Channel: "telegram", ID: fmt.Sprint(i)}
		s, err := b.Load(ctx, c)
		if err != nil {
			t.Fatal(err)
		}
		if want := 6 + workers*increments; s.Step != want || s.Version != uint64(1+workers*increments) || len(s.Tags) != 3+workers*increments {
			t.Errorf("%s: step %d version %d tags %d, want %d, %d, %d", c, s.Step, s.Version, len(s.Tags), want, 1+workers*increments, 3+workers*increments)
		}
		if want := decoded(t, b, c); !reflect.DeepEqual(s, want) {
			t.Errorf("%s: Load differs from the stored bytes", c)
		}
	}
}
