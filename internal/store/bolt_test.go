package store_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"guidedfix/bot"
	"guidedfix/internal/store"
	"guidedfix/internal/store/storetest"
)

var t0 = time.Date(2030, time.March, 4, 5, 6, 7, 0, time.UTC)

// clock is an injectable Options.Now.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func dbPath(t testing.TB) string { return filepath.Join(t.TempDir(), "sessions.db") }

func session(channel, id string, expires time.Time) *bot.Session {
	return &bot.Session{
		ID:           "sess-" + id,
		Conversation: bot.Conversation{Channel: channel, ID: id},
		UserID:       "user-" + id,
		Flow:         "totpswitch",
		FlowVersion:  1,
		State:        "awaiting_password",
		Step:         1,
		IssuedAt:     t0,
		UpdatedAt:    t0,
		ExpiresAt:    expires,
		Data:         json.RawMessage(`{"n":1}`),
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bot.Store {
		return storetest.Open(t, store.Options{Path: dbPath(t)})
	})
}

func TestPersistenceAcrossReopen(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	clk := &clock{now: t0}
	b := storetest.Open(t, store.Options{Path: path, Now: clk.Now})
	s := session("telegram", "42", t0.Add(time.Hour))
	s.WakeAt = t0.Add(10 * time.Minute)
	s.Messages = map[string]string{"qr": "555"}
	if err := b.Save(ctx, s, "upd-1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Save(ctx, s, "upd-2"); err != nil {
		t.Fatal(err)
	}
	if err := b.MarkSeen(ctx, "slack", "Ev9"); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	b2 := storetest.Open(t, store.Options{Path: path, Now: clk.Now})
	got, err := b2.Load(ctx, s.Conversation)
	if err != nil {
		t.Fatalf("Load after reopen: %v", err)
	}
	gj, _ := json.Marshal(got)
	wj, _ := json.Marshal(s)
	if string(gj) != string(wj) {
		t.Errorf("after reopen:\n got %s\nwant %s", gj, wj)
	}
	if got.Version != 2 {
		t.Errorf("Version after reopen = %d, want 2", got.Version)
	}
	for _, u := range [][2]string{{"telegram", "upd-1"}, {"telegram", "upd-2"}, {"slack", "Ev9"}} {
		if ok, err := b2.Seen(ctx, u[0], u[1]); err != nil || !ok {
			t.Errorf("Seen(%q, %q) after reopen = %v, %v; want true, nil", u[0], u[1], ok, err)
		}
	}
	due, err := b2.Due(ctx, t0.Add(10*time.Minute), 10)
	if err != nil || !slices.Equal(due, []bot.Conversation{s.Conversation}) {
		t.Errorf("Due after reopen = %v, %v; want [%s]", due, err, s.Conversation)
	}
	if n, err := b2.Count(ctx); err != nil || n != 1 {
		t.Errorf("Count after reopen = %d, %v; want 1", n, err)
	}
	// Saving continues from the stored version.
	if err := b2.Save(ctx, got, ""); err != nil || got.Version != 3 {
		t.Errorf("Save after reopen = %v, Version %d; want nil, 3", err, got.Version)
	}
}

func TestSecondOpenTimesOut(t *testing.T) {
	path := dbPath(t)
	storetest.Open(t, store.Options{Path: path})

	start := time.Now()
	b, err := store.Open(store.Options{Path: path, Timeout: 200 * time.Millisecond})
	elapsed := time.Since(start)
	if err == nil {
		b.Close()
		t.Fatal("second Open succeeded while the first holds the file")
	}
	if !errors.Is(err, bberrors.ErrTimeout) {
		t.Errorf("second Open error %q does not wrap bbolt errors.ErrTimeout", err)
	}
	if want := "session store " + path + " is in use by another guidedfix process"; !strings.Contains(err.Error(), want) {
		t.Errorf("second Open error %q does not say %q", err, want)
	}
	// bbolt gives up about 50ms before Timeout; allow scheduling slack.
	if elapsed < 100*time.Millisecond || elapsed > 1200*time.Millisecond {
		t.Errorf("second Open failed after %v, want about 200ms", elapsed)
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: t0}
	b := storetest.Open(t, store.Options{Path: dbPath(t), Now: clk.Now}) // default SeenTTL: 7 days
	day := 24 * time.Hour

	mark := func(at time.Time, channel, id string) {
		t.Helper()
		clk.Set(at)
		if err := b.MarkSeen(ctx, channel, id); err != nil {
			t.Fatal(err)
		}
	}
	mark(t0, "telegram", "old-1")
	mark(t0.Add(time.Second), "slack", "old-2")
	mark(t0.Add(2*time.Second), "telegram", "edge") // exactly SeenTTL old at prune time: kept
	mark(t0.Add(3*day), "telegram", "young")
	clk.Set(t0.Add(time.Hour))
	s := session("telegram", "42", t0.Add(time.Minute)) // due, and old enough to be "old"
	if err := b.Save(ctx, s, "via-save"); err != nil {
		t.Fatal(err)
	}

	clk.Set(t0.Add(7*day + 2*time.Second))
	n, err := b.Prune(ctx, 1)
	if err != nil || n != 1 {
		t.Fatalf("Prune(limit 1) = %d, %v; want 1, nil", n, err)
	}
	n, err = b.Prune(ctx, 0)
	if err != nil || n != 1 {
		t.Fatalf("Prune(no limit) = %d, %v; want 1 (the other old record), nil", n, err)
	}
	if n, err := b.Prune(ctx, 0); err != nil || n != 0 {
		t.Fatalf("third Prune = %d, %v; want 0, nil", n, err)
	}
	want := map[[2]string]bool{
		{"telegram", "old-1"}: false, {"slack", "old-2"}: false,
		{"telegram", "edge"}: true, {"telegram", "young"}: true, {"telegram", "via-save"}: true,
	}
	for k, w := range want {
		if got, err := b.Seen(ctx, k[0], k[1]); err != nil || got != w {
			t.Errorf("Seen(%q, %q) after Prune = %v, %v; want %v", k[0], k[1], got, err, w)
		}
	}
	// Sessions are untouched, even one whose deadline is long past.
	if n, err := b.Count(ctx); err != nil || n != 1 {
		t.Errorf("Count after Prune = %d, %v; want 1", n, err)
	}
	if due, err := b.Due(ctx, clk.Now(), 10); err != nil || !slices.Equal(due, []bot.Conversation{s.Conversation}) {
		t.Errorf("Due after Prune = %v, %v; want [%s]", due, err, s.Conversation)
	}

	// One nanosecond later "edge" is older than SeenTTL; the Save record
	// (t0+1h) is still young.
	clk.Set(t0.Add(7*day + 2*time.Second + time.Nanosecond))
	if n, err := b.Prune(ctx, 0); err != nil || n != 1 {
		t.Errorf("Prune after the edge ages = %d, %v; want 1, nil", n, err)
	}
}

func TestPruneCustomTTL(t *testing.T) {
	ctx := context.Background()
	clk := &clock{now: t0}
	b := storetest.Open(t, store.Options{Path: dbPath(t), Now: clk.Now, SeenTTL: time.Minute})
	for _, id := range []string{"a", "b", "c"} {
		if err := b.MarkSeen(ctx, "telegram", id); err != nil {
			t.Fatal(err)
		}
	}
	clk.Set(t0.Add(time.Minute))
	if n, err := b.Prune(ctx, 0); err != nil || n != 0 {
		t.Errorf("Prune at exactly SeenTTL = %d, %v; want 0", n, err)
	}
	clk.Set(t0.Add(time.Minute + 1))
	if n, err := b.Prune(ctx, 0); err != nil || n != 3 {
		t.Errorf("Prune past SeenTTL = %d, %v; want 3", n, err)
	}
}

// TestOnDiskFormat pins the bucket names and the key and value encodings:
// they are the file format, and existing files must stay readable.
func TestOnDiskFormat(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	recorded := t0.Add(42 * time.Second)
	b, err := store.Open(store.Options{Path: path, Now: func() time.Time { return recorded }})
	if err != nil {
		t.Fatal(err)
	}
	s := session("telegram", "42", t0.Add(time.Hour))
	if err := b.Save(ctx, s, "upd-7"); err != nil {
		t.Fatal(err)
	}
	if err := b.MarkSeen(ctx, "slack", "Ev1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}

	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	type kv struct{ k, v string }
	dump := func(tx *bolt.Tx, name string) []kv {
		var out []kv
		bk := tx.Bucket([]byte(name))
		if bk == nil {
			t.Fatalf("bucket %q missing", name)
		}
		_ = bk.ForEach(func(k, v []byte) error {
			out = append(out, kv{string(k), string(v)})
			return nil
		})
		return out
	}
	be := func(tm time.Time) string { return string(binary.BigEndian.AppendUint64(nil, uint64(tm.UnixNano()))) }
	err = db.View(func(tx *bolt.Tx) error {
		var names []string
		_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
		if want := []string{"due", "inbox", "seen", "sessions"}; !slices.Equal(names, want) {
			t.Errorf("buckets = %q, want %q", names, want)
		}
		sessions := dump(tx, "sessions")
		if len(sessions) != 1 || sessions[0].k != "telegram\x0042" {
			t.Fatalf("sessions bucket = %q, want one key \"telegram\\x0042\"", sessions)
		}
		var got bot.Session
		if err := json.Unmarshal([]byte(sessions[0].v), &got); err != nil || got.Version != 1 || got.ID != "sess-42" {
			t.Errorf("sessions value %s: decode %v, Version %d ID %q; want JSON of the session, version 1", sessions[0].v, err, got.Version, got.ID)
		}
		if !strings.Contains(sessions[0].v, `"conversation":{"Channel":"telegram","ID":"42"}`) {
			t.Errorf("sessions value %s does not hold the bot.Session JSON conversation", sessions[0].v)
		}
		if due, want := dump(tx, "due"), []kv{{be(t0.Add(time.Hour)) + "telegram\x0042", ""}}; !slices.Equal(due, want) {
			t.Errorf("due bucket = %q, want %q", due, want)
		}
		if seen, want := dump(tx, "seen"), []kv{{"slack\x00Ev1", be(recorded)}, {"telegram\x00upd-7", be(recorded)}}; !slices.Equal(seen, want) {
			t.Errorf("seen bucket = %q, want %q", seen, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "nested")
	path := filepath.Join(dir, "sessions.db")
	storetest.Open(t, store.Options{Path: path})
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{path, 0o600}, {dir, 0o700 | os.ModeDir}, {filepath.Dir(dir), 0o700 | os.ModeDir}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode() != c.want {
			t.Errorf("mode of %s = %v, want %v", c.path, fi.Mode(), c.want)
		}
	}
}

func TestCount(t *testing.T) {
	ctx := context.Background()
	b := storetest.Open(t, store.Options{Path: dbPath(t)})
	for i, id := range []string{"1", "2", "3"} {
		if n, err := b.Count(ctx); err != nil || n != i {
			t.Fatalf("Count = %d, %v; want %d", n, err, i)
		}
		s := session("telegram", id, t0)
		s.Done = id == "2" // done sessions count too
		if err := b.Save(ctx, s, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Delete(ctx, bot.Conversation{Channel: "telegram", ID: "1"}); err != nil {
		t.Fatal(err)
	}
	if n, err := b.Count(ctx); err != nil || n != 2 {
		t.Errorf("Count after Delete = %d, %v; want 2", n, err)
	}
}

func TestDeadlineOutsideNanosRange(t *testing.T) {
	ctx := context.Background()
	b := storetest.Open(t, store.Options{Path: dbPath(t)}) // MustCheck verifies the index at cleanup
	early := session("telegram", "early", time.Date(1960, 1, 1, 0, 0, 0, 0, time.UTC))
	late := session("telegram", "late", time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC))
	mid := session("telegram", "mid", t0)
	for _, s := range []*bot.Session{late, mid, early} {
		if err := b.Save(ctx, s, ""); err != nil {
			t.Fatal(err)
		}
	}
	got, err := b.Due(ctx, time.Unix(0, 0), 10)
	if err != nil || !slices.Equal(got, []bot.Conversation{early.Conversation}) {
		t.Errorf("Due(1970) = %v, %v; want [%s]", got, err, early.Conversation)
	}
	got, err = b.Due(ctx, time.Unix(0, math.MaxInt64-1), 10)
	if err != nil || !slices.Equal(got, []bot.Conversation{early.Conversation, mid.Conversation}) {
		t.Errorf("Due(2262) = %v, %v; want [%s %s]", got, err, early.Conversation, mid.Conversation)
	}
	got, err = b.Due(ctx, time.Date(3001, 1, 1, 0, 0, 0, 0, time.UTC), 10)
	want := []bot.Conversation{early.Conversation, mid.Conversation, late.Conversation}
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Due(3001) = %v, %v; want %v", got, err, want)
	}
	// Moving the far-future session removes its clamped entry.
	late.ExpiresAt = t0.Add(time.Hour)
	if err := b.Save(ctx, late, ""); err != nil {
		t.Fatal(err)
	}
	got, err = b.Due(ctx, time.Date(3001, 1, 1, 0, 0, 0, 0, time.UTC), 10)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Due(3001) after move = %v, %v; want %v", got, err, want)
	}
}

func TestInvalidArguments(t *testing.T) {
	ctx := context.Background()
	b := storetest.Open(t, store.Options{Path: dbPath(t)})
	bad := []bot.Conversation{{}, {Channel: "telegram"}, {ID: "42"}, {Channel: "tele\x00gram", ID: "42"}}
	for _, c := range bad {
		s := session(c.Channel, c.ID, t0)
		s.Conversation = c
		if err := b.Save(ctx, s, ""); err == nil || errors.Is(err, bot.ErrConflict) {
			t.Errorf("Save(%q) = %v, want a non-conflict error", c, err)
		}
		if s.Version != 0 {
			t.Errorf("failed Save(%q) set Version %d", c, s.Version)
		}
		if _, err := b.Load(ctx, c); err == nil || errors.Is(err, bot.ErrNoSession) {
			t.Errorf("Load(%q) = %v, want an argument error", c, err)
		}
		if err := b.Delete(ctx, c); err == nil {
			t.Errorf("Delete(%q) succeeded, want an error", c)
		}
	}
	if err := b.Save(ctx, nil, ""); err == nil {
		t.Error("Save(nil) succeeded")
	}
	for _, args := range [][2]string{{"", "u"}, {"telegram", ""}, {"a\x00b", "u"}} {
		if err := b.MarkSeen(ctx, args[0], args[1]); err == nil {
			t.Errorf("MarkSeen(%q, %q) succeeded", args[0], args[1])
		}
		if _, err := b.Seen(ctx, args[0], args[1]); err == nil {
			t.Errorf("Seen(%q, %q) succeeded", args[0], args[1])
		}
	}
	// A bad update id makes Save fail before writing anything.
	s := session("telegram", "42", t0)
	if err := b.Save(ctx, s, ""); err != nil {
		t.Fatal(err)
	}
	s2 := session("tele\x00gram", "42", t0)
	if err := b.Save(ctx, s2, "u"); err == nil {
		t.Error("Save with a NUL channel and an update id succeeded")
	}
	if n, err := b.Count(ctx); err != nil || n != 1 {
		t.Errorf("Count = %d, %v; want 1 (only the valid session)", n, err)
	}
	if _, err := store.Open(store.Options{}); err == nil {
		t.Error("Open with an empty Path succeeded")
	}
	if got, err := b.Due(ctx, t0.Add(time.Hour), -1); err != nil || len(got) != 0 {
		t.Errorf("Due(limit -1) = %v, %v; want none", got, err)
	}
}

// IDs may contain NUL (only the channel may not), and keys stay distinct.
func TestConversationIDWithNUL(t *testing.T) {
	ctx := context.Background()
	b := storetest.Open(t, store.Options{Path: dbPath(t)})
	a := session("telegram", "x\x00y", t0)
	if err := b.Save(ctx, a, ""); err != nil {
		t.Fatal(err)
	}
	got, err := b.Due(ctx, t0, 10)
	if err != nil || !slices.Equal(got, []bot.Conversation{a.Conversation}) {
		t.Errorf("Due = %q, %v; want [%q]", got, err, a.Conversation)
	}
	if _, err := b.Load(ctx, bot.Conversation{Channel: "telegram", ID: "x"}); !errors.Is(err, bot.ErrNoSession) {
		t.Errorf("Load(telegram:x) = %v, want ErrNoSession", err)
	}
}

func TestCancelledContext(t *testing.T) {
	b := storetest.Open(t, store.Options{Path: dbPath(t)})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := session("telegram", "42", t0)
	c := s.Conversation
	checks := map[string]error{
		"Save":     b.Save(ctx, s, "u"),
		"Delete":   b.Delete(ctx, c),
		"MarkSeen": b.MarkSeen(ctx, "telegram", "u"),
	}
	_, checks["Load"] = b.Load(ctx, c)
	_, checks["Seen"] = b.Seen(ctx, "telegram", "u")
	_, checks["Due"] = b.Due(ctx, t0, 10)
	_, checks["Prune"] = b.Prune(ctx, 0)
	_, checks["Count"] = b.Count(ctx)
	for name, err := range checks {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a cancelled context = %v, want context.Canceled", name, err)
		}
	}
	if s.Version != 0 {
		t.Errorf("cancelled Save set Version %d", s.Version)
	}
	if n, err := b.Count(context.Background()); err != nil || n != 0 {
		t.Errorf("Count = %d, %v; want 0", n, err)
	}
}

func TestClosed(t *testing.T) {
	b, err := store.Open(store.Options{Path: dbPath(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	ctx := context.Background()
	if _, err := b.Load(ctx, bot.Conversation{Channel: "telegram", ID: "1"}); !errors.Is(err, bberrors.ErrDatabaseNotOpen) {
		t.Errorf("Load after Close = %v, want ErrDatabaseNotOpen", err)
	}
	if _, err := b.Prune(ctx, 0); !errors.Is(err, bberrors.ErrDatabaseNotOpen) {
		t.Errorf("Prune after Close = %v, want ErrDatabaseNotOpen", err)
	}
	if _, err := b.Count(ctx); !errors.Is(err, bberrors.ErrDatabaseNotOpen) {
		t.Errorf("Count after Close = %v, want ErrDatabaseNotOpen", err)
	}
}

func TestCorruptValue(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	b, err := store.Open(store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		sb := tx.Bucket([]byte("sessions"))
		if err := sb.Put([]byte("telegram\x00bad"), []byte("{not json")); err != nil {
			return err
		}
		// Valid JSON stored under another conversation's key.
		return sb.Put([]byte("telegram\x00moved"), []byte(`{"conversation":{"Channel":"telegram","ID":"other"},"version":1}`))
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, err = store.Open(store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for _, id := range []string{"bad", "moved"} {
		c := bot.Conversation{Channel: "telegram", ID: id}
		if _, err := b.Load(ctx, c); err == nil || errors.Is(err, bot.ErrNoSession) {
			t.Errorf("Load(%s) = %v, want a decode error", c, err)
		}
		s := session("telegram", id, t0)
		s.Version = 1
		if err := b.Save(ctx, s, ""); err == nil || errors.Is(err, bot.ErrConflict) {
			t.Errorf("Save over %s = %v, want a decode error", c, err)
		}
		if err := b.Delete(ctx, c); err == nil {
			t.Errorf("Delete(%s) succeeded over a corrupt value", c)
		}
	}
}

func TestNoSecretsInFile(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	b := storetest.Open(t, store.Options{Path: path})
	s := session("telegram", "42", t0)
	s.Expect = bot.SecretPassword
	if err := b.Save(ctx, s, "u1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	storetest.ScanFile(t, path, "hunter2", "", "JBSWY3DPEHPK3PXP")
}

// Due skips index entries that Save and Delete never leave behind (a
// missing or done session), should a file ever hold them.
func TestDueSkipsStaleEntries(t *testing.T) {
	ctx := context.Background()
	path := dbPath(t)
	b, err := store.Open(store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	live := session("telegram", "live", t0.Add(3*time.Second))
	done := session("telegram", "done", t0)
	done.Done = true
	for _, s := range []*bot.Session{live, done} {
		if err := b.Save(ctx, s, ""); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	be := func(tm time.Time) []byte { return binary.BigEndian.AppendUint64(nil, uint64(tm.UnixNano())) }
	err = db.Update(func(tx *bolt.Tx) error {
		due := tx.Bucket([]byte("due"))
		if err := due.Put(append(be(t0.Add(time.Second)), "telegram\x00done"...), nil); err != nil {
			return err
		}
		return due.Put(append(be(t0.Add(2*time.Second)), "telegram\x00gone"...), nil)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	b, err = store.Open(store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got, err := b.Due(ctx, t0.Add(time.Minute), 1)
	if err != nil || !slices.Equal(got, []bot.Conversation{live.Conversation}) {
		t.Errorf("Due = %v, %v; want [%s]", got, err, live.Conversation)
	}
}

// TestGroupCommitIsolatesConflicts saves from many goroutines at once,
// half of them with a stale version: the stale ones get bot.ErrConflict
// and write nothing, every other save persists, although they may share a
// transaction (group commit).
func TestGroupCommitIsolatesConflicts(t *testing.T) {
	ctx := context.Background()
	b, err := store.Open(store.Options{Path: dbPath(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	const n = 200
	sessions := make([]*bot.Session, n)
	for i := range sessions {
		sessions[i] = session("telegram", fmt.Sprint(i), t0.Add(time.Hour))
		if err := b.Save(ctx, sessions[i], ""); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	start := make(chan struct{})
	for i, s := range sessions {
		if i%2 == 1 {
			s.Version = 0 // stale: the stored one is version 1
		}
		s.State = "moved"
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			errs[i] = b.Save(ctx, s, fmt.Sprint("u", i))
		}()
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		got, lerr := b.Load(ctx, sessions[i].Conversation)
		if lerr != nil {
			t.Fatal(lerr)
		}
		seen, _ := b.Seen(ctx, "telegram", fmt.Sprint("u", i))
		switch {
		case i%2 == 1 && (!errors.Is(err, bot.ErrConflict) || got.State == "moved" || seen):
			t.Errorf("stale save %d: err %v, stored state %q, seen %v", i, err, got.State, seen)
		case i%2 == 0 && (err != nil || got.State != "moved" || got.Version != 2 || !seen):
			t.Errorf("save %d: err %v, stored state %q version %d, seen %v", i, err, got.State, got.Version, seen)
		}
	}
}
