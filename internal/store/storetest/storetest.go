// Package storetest holds the conformance suite every bot.Store must pass
// (Run, in the manner of testing/slogtest) and test helpers for the bbolt
// store of package store: Open, which checks the file's invariants when the
// test ends, MustCheck and ScanFile.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"guidedfix/bot"
)

// base is the fixed instant the suite's sessions are built around.
var base = time.Date(2030, time.January, 2, 3, 4, 5, 0, time.UTC)

// Run runs the bot.Store conformance suite as subtests of t. open must
// return a new, empty store for the subtest it is given and arrange (with
// t.Cleanup) for it to be closed; the "Close" subtest closes the store
// itself, so that cleanup must accept a second Close (bot.Store
// implementations should return nil from it). Run checks:
//
//   - Load of a missing conversation returns an error wrapping
//     bot.ErrNoSession;
//   - Save round-trips every field and increments Version from 0;
//   - compare-and-swap: a Save from a stale copy returns bot.ErrConflict,
//     leaves the caller's Version unchanged and the stored session as the
//     first writer left it, and does not record its update id;
//   - Save with an update id records it as seen; MarkSeen and Seen, per
//     channel;
//   - Due returns not-done sessions with Deadline at or before now, earliest
//     first, at most limit, following Deadline changes; done sessions are
//     never due unless their outbox still holds replies;
//   - Delete removes the session and its due entry, and is idempotent;
//   - 20 goroutines saving distinct conversations concurrently all persist;
//   - a store that implements bot.LocaleStore keeps each user's language
//     per channel and user id, replaces and forgets it, and refuses an
//     empty user id and a tag that is no language tag (the others skip
//     that subtest);
//   - calls after Close fail.
func Run(t *testing.T, open func(t *testing.T) bot.Store) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, s bot.Store)
	}{
		{"LoadMissing", testLoadMissing},
		{"SaveLoadRoundTrip", testRoundTrip},
		{"VersionIncrements", testVersionIncrements},
		{"Conflict", testConflict},
		{"SaveMarksSeen", testSaveMarksSeen},
		{"MarkSeen", testMarkSeen},
		{"DueOrderAndLimit", testDueOrderAndLimit},
		{"DueFollowsDeadline", testDueFollowsDeadline},
		{"DoneNotDue", testDoneNotDue},
		{"OutboxDue", testOutboxDue},
		{"Delete", testDelete},
		{"ConcurrentSaves", testConcurrentSaves},
		{"UserLocale", testUserLocale},
		{"Close", testClose},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := open(t)
			if s == nil {
				t.Fatal("open returned a nil store")
			}
			tc.fn(t, s)
		})
	}
}

// newSession returns a version-0 session for conversation (channel, id) that
// expires at expires, with every optional field set.
func newSession(channel, id string, expires time.Time) *bot.Session {
	return &bot.Session{
		ID:           "sess-" + id,
		Conversation: bot.Conversation{Channel: channel, ID: id},
		UserID:       "user-" + id,
		Flow:         "testflow",
		FlowVersion:  1,
		State:        "step_one",
		Step:         1,
		Expect:       bot.SecretPassword,
		Locale:       "en",
		IssuedAt:     base,
		UpdatedAt:    base,
		ExpiresAt:    expires,
		Messages:     map[string]string{"qr": "1001"},
		Data:         json.RawMessage(`{"account":"a-1"}`),
	}
}

// canon returns s as JSON with times in UTC, for exact comparison.
func canon(t *testing.T, s *bot.Session) string {
	t.Helper()
	c := *s
	c.IssuedAt, c.UpdatedAt, c.ExpiresAt = c.IssuedAt.UTC(), c.UpdatedAt.UTC(), c.ExpiresAt.UTC()
	if !c.WakeAt.IsZero() {
		c.WakeAt = c.WakeAt.UTC()
	}
	b, err := json.Marshal(&c)
	if err != nil {
		t.Fatalf("encode session: %v", err)
	}
	return string(b)
}

func mustSave(t *testing.T, st bot.Store, s *bot.Session, updateID string) {
	t.Helper()
	if err := st.Save(context.Background(), s, updateID); err != nil {
		t.Fatalf("Save(%s, version %d, %q) = %v, want nil", s.Conversation, s.Version, updateID, err)
	}
}

func mustLoad(t *testing.T, st bot.Store, c bot.Conversation) *bot.Session {
	t.Helper()
	s, err := st.Load(context.Background(), c)
	if err != nil {
		t.Fatalf("Load(%s) = %v, want nil", c, err)
	}
	if s == nil {
		t.Fatalf("Load(%s) returned a nil session", c)
	}
	return s
}

func mustSeen(t *testing.T, st bot.Store, channel, updateID string, want bool) {
	t.Helper()
	got, err := st.Seen(context.Background(), channel, updateID)
	if err != nil {
		t.Fatalf("Seen(%q, %q) = %v", channel, updateID, err)
	}
	if got != want {
		t.Errorf("Seen(%q, %q) = %v, want %v", channel, updateID, got, want)
	}
}

func mustDue(t *testing.T, st bot.Store, now time.Time, limit int, want ...bot.Conversation) {
	t.Helper()
	got, err := st.Due(context.Background(), now, limit)
	if err != nil {
		t.Fatalf("Due(%v, %d) = %v", now, limit, err)
	}
	if len(got) == 0 && len(want) == 0 {
		return
	}
	if !slices.Equal(got, want) {
		t.Errorf("Due(%v, %d) = %v, want %v", now, limit, got, want)
	}
}

func testLoadMissing(t *testing.T, st bot.Store) {
	c := bot.Conversation{Channel: "telegram", ID: "404"}
	s, err := st.Load(context.Background(), c)
	if !errors.Is(err, bot.ErrNoSession) {
		t.Fatalf("Load(missing) = %v, %v; want an error wrapping bot.ErrNoSession", s, err)
	}
	if s != nil {
		t.Errorf("Load(missing) returned session %+v with the error, want nil", s)
	}
}

func testRoundTrip(t *testing.T, st bot.Store) {
	s := newSession("telegram", "42", base.Add(time.Hour))
	s.WakeAt = base.Add(30 * time.Minute)
	s.Parked = true
	mustSave(t, st, s, "")
	if s.Version != 1 {
		t.Fatalf("after first Save, Version = %d, want 1", s.Version)
	}
	got := mustLoad(t, st, s.Conversation)
	if g, w := canon(t, got), canon(t, s); g != w {
		t.Errorf("Load after Save:\n got %s\nwant %s", g, w)
	}
	// The loaded value must be a copy: changing it changes nothing stored.
	got.State = "changed"
	got.Messages["qr"] = "changed"
	again := mustLoad(t, st, s.Conversation)
	if again.State != s.State || again.Messages["qr"] != "1001" {
		t.Errorf("changing a loaded session changed the store: state %q, messages %v", again.State, again.Messages)
	}
}

func testVersionIncrements(t *testing.T, st bot.Store) {
	s := newSession("slack", "D1", base.Add(time.Hour))
	for want := uint64(1); want <= 3; want++ {
		s.Step = int(want)
		mustSave(t, st, s, "")
		if s.Version != want {
			t.Fatalf("after Save #%d, Version = %d, want %d", want, s.Version, want)
		}
	}
	got := mustLoad(t, st, s.Conversation)
	if got.Version != 3 || got.Step != 3 {
		t.Errorf("Load: Version %d Step %d, want 3 and 3", got.Version, got.Step)
	}
}

func testConflict(t *testing.T, st bot.Store) {
	ctx := context.Background()
	s := newSession("telegram", "7", base.Add(time.Hour))
	mustSave(t, st, s, "")

	a := mustLoad(t, st, s.Conversation)
	b := mustLoad(t, st, s.Conversation)
	a.State, a.Step = "step_two", 2
	mustSave(t, st, a, "upd-a")
	if a.Version != 2 {
		t.Fatalf("first writer: Version = %d, want 2", a.Version)
	}

	b.State, b.Step = "cancelled", 9
	b.ExpiresAt = base.Add(-time.Hour) // would make it due if written
	err := st.Save(ctx, b, "upd-b")
	if !errors.Is(err, bot.ErrConflict) {
		t.Fatalf("second writer: Save = %v, want an error wrapping bot.ErrConflict", err)
	}
	if b.Version != 1 {
		t.Errorf("second writer: Version after conflict = %d, want 1 (unchanged)", b.Version)
	}
	got := mustLoad(t, st, s.Conversation)
	if g, w := canon(t, got), canon(t, a); g != w {
		t.Errorf("stored after conflict:\n got %s\nwant the first writer's %s", g, w)
	}
	mustSeen(t, st, "telegram", "upd-a", true)
	mustSeen(t, st, "telegram", "upd-b", false)
	mustDue(t, st, base, 10) // the conflicting deadline was not indexed

	// A new session (Version 0) over an existing one conflicts too.
	fresh := newSession("telegram", "7", base.Add(time.Hour))
	if err := st.Save(ctx, fresh, ""); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("Save of a version-0 session over a stored one = %v, want bot.ErrConflict", err)
	}
	if fresh.Version != 0 {
		t.Errorf("version-0 session after conflict: Version = %d, want 0", fresh.Version)
	}
	// A version ahead of the stored one conflicts as well.
	ahead := mustLoad(t, st, s.Conversation)
	ahead.Version = 5
	if err := st.Save(ctx, ahead, ""); !errors.Is(err, bot.ErrConflict) {
		t.Errorf("Save with Version 5 over stored version 2 = %v, want bot.ErrConflict", err)
	}
	if got := mustLoad(t, st, s.Conversation); got.Version != 2 || got.State != "step_two" {
		t.Errorf("after conflicts: Version %d State %q, want 2 and step_two", got.Version, got.State)
	}
}

func testSaveMarksSeen(t *testing.T, st bot.Store) {
	s := newSession("telegram", "8", base.Add(time.Hour))
	mustSeen(t, st, "telegram", "1001", false)
	mustSave(t, st, s, "1001")
	mustSeen(t, st, "telegram", "1001", true)
	mustSeen(t, st, "slack", "1001", false) // ids are per channel
	mustSeen(t, st, "telegram", "1002", false)
	// Saving without an update id records nothing new.
	mustSave(t, st, s, "")
	mustSeen(t, st, "telegram", "1002", false)
}

func testMarkSeen(t *testing.T, st bot.Store) {
	ctx := context.Background()
	mustSeen(t, st, "slack", "Ev01", false)
	for i := range 2 { // marking twice is no error
		if err := st.MarkSeen(ctx, "slack", "Ev01"); err != nil {
			t.Fatalf("MarkSeen #%d = %v", i+1, err)
		}
	}
	mustSeen(t, st, "slack", "Ev01", true)
	mustSeen(t, st, "telegram", "Ev01", false)
	mustSeen(t, st, "slack", "Ev02", false)
	if n := mustCount(t, st); n >= 0 && n != 0 {
		t.Errorf("MarkSeen created %d sessions, want 0", n)
	}
}

// mustCount returns the number of sessions if st has a Count method, else -1.
func mustCount(t *testing.T, st bot.Store) int {
	t.Helper()
	c, ok := st.(interface {
		Count(context.Context) (int, error)
	})
	if !ok {
		return -1
	}
	n, err := c.Count(context.Background())
	if err != nil {
		t.Fatalf("Count = %v", err)
	}
	return n
}

func testDueOrderAndLimit(t *testing.T, st bot.Store) {
	a := newSession("telegram", "a", base.Add(3*time.Minute))
	b := newSession("telegram", "b", base.Add(1*time.Minute))
	c := newSession("slack", "c", base.Add(10*time.Minute))
	c.WakeAt = base.Add(2 * time.Minute) // earlier than ExpiresAt: c is due at +2m
	d := newSession("telegram", "d", base.Add(5*time.Minute))
	e := newSession("console", "e", base.Add(10*time.Minute))
	e.WakeAt = base.Add(20 * time.Minute) // later than ExpiresAt: e is due at +10m
	for _, s := range []*bot.Session{a, b, c, d, e} {
		mustSave(t, st, s, "")
	}
	now := base.Add(3 * time.Minute) // exactly a's deadline: a is due
	mustDue(t, st, now, 10, b.Conversation, c.Conversation, a.Conversation)
	mustDue(t, st, now, 2, b.Conversation, c.Conversation)
	mustDue(t, st, now, 1, b.Conversation)
	mustDue(t, st, now, 0)
	mustDue(t, st, base, 10)
	mustDue(t, st, base.Add(time.Minute-time.Nanosecond), 10)
	mustDue(t, st, base.Add(time.Hour), 10, b.Conversation, c.Conversation, a.Conversation, d.Conversation, e.Conversation)
}

func testDueFollowsDeadline(t *testing.T, st bot.Store) {
	s := newSession("telegram", "f", base.Add(time.Minute))
	mustSave(t, st, s, "")
	mustDue(t, st, base.Add(2*time.Minute), 10, s.Conversation)

	s.ExpiresAt = base.Add(time.Hour) // the user wrote: expiry pushed forward
	mustSave(t, st, s, "")
	mustDue(t, st, base.Add(2*time.Minute), 10)
	mustDue(t, st, base.Add(time.Hour), 10, s.Conversation)

	s.WakeAt = base.Add(30 * time.Second) // a reminder before expiry
	mustSave(t, st, s, "")
	mustDue(t, st, base.Add(time.Minute), 10, s.Conversation)

	s.WakeAt = time.Time{}
	mustSave(t, st, s, "")
	mustDue(t, st, base.Add(time.Minute), 10)
	// Exactly one entry remains: due once, not once per past deadline.
	mustDue(t, st, base.Add(2*time.Hour), 10, s.Conversation)
}

func testDoneNotDue(t *testing.T, st bot.Store) {
	s := newSession("telegram", "g", base.Add(time.Minute))
	other := newSession("telegram", "h", base.Add(2*time.Minute))
	mustSave(t, st, s, "")
	mustSave(t, st, other, "")
	mustDue(t, st, base.Add(time.Hour), 10, s.Conversation, other.Conversation)

	s.Done = true
	s.State = "done"
	mustSave(t, st, s, "")
	mustDue(t, st, base.Add(time.Hour), 10, other.Conversation)
	got := mustLoad(t, st, s.Conversation)
	if !got.Done || got.Version != 2 {
		t.Errorf("done session: Done %v Version %d, want true and 2", got.Done, got.Version)
	}

	// A session saved done from the start is never due either.
	born := newSession("slack", "i", base.Add(-time.Hour))
	born.Done = true
	mustSave(t, st, born, "")
	mustDue(t, st, base.Add(time.Hour), 10, other.Conversation)
}

// testOutboxDue: replies left in the outbox make a session due 10 s after
// its turn, done or not, until they are delivered.
func testOutboxDue(t *testing.T, st bot.Store) {
	s := newSession("telegram", "o", base.Add(time.Hour))
	s.UpdatedAt = base
	s.Done = true
	s.Outbox = []bot.Pending{{Op: bot.OpSend, ID: "m", Text: "hello"}}
	mustSave(t, st, s, "")
	mustDue(t, st, base.Add(9*time.Second), 10)
	mustDue(t, st, base.Add(10*time.Second), 10, s.Conversation)
	if got := mustLoad(t, st, s.Conversation); len(got.Outbox) != 1 || got.Outbox[0].Text != "hello" {
		t.Errorf("outbox %+v after a round trip", got.Outbox)
	}
	s.Outbox = nil
	mustSave(t, st, s, "")
	mustDue(t, st, base.Add(time.Hour), 10)
}

func testDelete(t *testing.T, st bot.Store) {
	ctx := context.Background()
	s := newSession("telegram", "j", base.Add(time.Minute))
	keep := newSession("telegram", "k", base.Add(2*time.Minute))
	mustSave(t, st, s, "u-j")
	mustSave(t, st, keep, "")

	if err := st.Delete(ctx, s.Conversation); err != nil {
		t.Fatalf("Delete = %v", err)
	}
	if _, err := st.Load(ctx, s.Conversation); !errors.Is(err, bot.ErrNoSession) {
		t.Errorf("Load after Delete = %v, want bot.ErrNoSession", err)
	}
	mustDue(t, st, base.Add(time.Hour), 10, keep.Conversation)
	if got := mustLoad(t, st, keep.Conversation); got.Version != 1 {
		t.Errorf("other session after Delete: Version %d, want 1", got.Version)
	}
	if err := st.Delete(ctx, s.Conversation); err != nil {
		t.Errorf("second Delete = %v, want nil", err)
	}
	if err := st.Delete(ctx, bot.Conversation{Channel: "telegram", ID: "never"}); err != nil {
		t.Errorf("Delete of a never-stored conversation = %v, want nil", err)
	}
	if n := mustCount(t, st); n >= 0 && n != 1 {
		t.Errorf("Count after Delete = %d, want 1", n)
	}

	// The conversation starts over at version 0.
	again := newSession("telegram", "j", base.Add(3*time.Minute))
	mustSave(t, st, again, "")
	if again.Version != 1 {
		t.Errorf("Save after Delete: Version %d, want 1", again.Version)
	}
	mustDue(t, st, base.Add(time.Hour), 10, keep.Conversation, again.Conversation)
}

func testConcurrentSaves(t *testing.T, st bot.Store) {
	const workers, saves = 20, 5
	var wg sync.WaitGroup
	errs := make(chan error, workers*saves)
	for w := range workers {
		wg.Go(func() {
			// Distinct deadlines, in the reverse of worker order.
			s := newSession("telegram", fmt.Sprintf("c%02d", w), base.Add(time.Duration(workers-w)*time.Minute))
			for i := 1; i <= saves; i++ {
				s.Step = i
				if err := st.Save(context.Background(), s, fmt.Sprintf("w%d-%d", w, i)); err != nil {
					errs <- fmt.Errorf("worker %d save %d: %w", w, i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	var want []bot.Conversation
	for w := workers - 1; w >= 0; w-- {
		c := bot.Conversation{Channel: "telegram", ID: fmt.Sprintf("c%02d", w)}
		want = append(want, c)
		got := mustLoad(t, st, c)
		if got.Version != saves || got.Step != saves {
			t.Errorf("%s: Version %d Step %d, want %d and %d", c, got.Version, got.Step, saves, saves)
		}
		mustSeen(t, st, "telegram", fmt.Sprintf("w%d-%d", w, saves), true)
	}
	mustDue(t, st, base.Add(time.Hour), 100, want...)
	if n := mustCount(t, st); n >= 0 && n != workers {
		t.Errorf("Count = %d, want %d", n, workers)
	}
}

func testClose(t *testing.T, st bot.Store) {
	ctx := context.Background()
	s := newSession("telegram", "z", base.Add(time.Minute))
	mustSave(t, st, s, "")
	if err := st.Close(); err != nil {
		t.Fatalf("Close = %v", err)
	}
	if _, err := st.Load(ctx, s.Conversation); err == nil {
		t.Error("Load after Close succeeded, want an error")
	}
	if err := st.Save(ctx, s, ""); err == nil {
		t.Error("Save after Close succeeded, want an error")
	}
	if s.Version != 1 {
		t.Errorf("failed Save after Close changed Version to %d, want 1", s.Version)
	}
	if err := st.MarkSeen(ctx, "telegram", "late"); err == nil {
		t.Error("MarkSeen after Close succeeded, want an error")
	}
	if _, err := st.Seen(ctx, "telegram", "late"); err == nil {
		t.Error("Seen after Close succeeded, want an error")
	}
	if _, err := st.Due(ctx, base.Add(time.Hour), 10); err == nil {
		t.Error("Due after Close succeeded, want an error")
	}
	if err := st.Delete(ctx, s.Conversation); err == nil {
		t.Error("Delete after Close succeeded, want an error")
	}
}

func testUserLocale(t *testing.T, st bot.Store) {
	ls, ok := st.(bot.LocaleStore)
	if !ok {
		t.Skip("the store does not implement bot.LocaleStore")
	}
	ctx := context.Background()
	get := func(channel, user, want string) {
		t.Helper()
		got, err := ls.UserLocale(ctx, channel, user)
		if err != nil || got != want {
			t.Fatalf("UserLocale(%q, %q) = %q, %v; want %q", channel, user, got, err, want)
		}
	}
	get("telegram", "42", "")
	if err := ls.SetUserLocale(ctx, "telegram", "42", "ms"); err != nil {
		t.Fatal(err)
	}
	get("telegram", "42", "ms")
	get("slack", "42", "")     // per channel
	get("telegram", "420", "") // not a prefix match
	if err := ls.SetUserLocale(ctx, "slack", "U42", "ms-MY"); err != nil {
		t.Fatal(err)
	}
	if err := ls.SetUserLocale(ctx, "telegram", "42", "en"); err != nil {
		t.Fatal(err)
	}
	get("telegram", "42", "en")
	get("slack", "U42", "ms-MY")
	for _, bad := range [][3]string{{"telegram", "", "ms"}, {"", "42", "ms"}, {"telegram", "42", "ms\x00"}, {"telegram", "42", "<b>"}} {
		if err := ls.SetUserLocale(ctx, bad[0], bad[1], bad[2]); err == nil {
			t.Errorf("SetUserLocale(%q, %q, %q) accepted", bad[0], bad[1], bad[2])
		}
	}
	get("telegram", "42", "en")
	if err := ls.SetUserLocale(ctx, "telegram", "42", ""); err != nil {
		t.Fatal(err)
	}
	get("telegram", "42", "")
	get("slack", "U42", "ms-MY")
}
