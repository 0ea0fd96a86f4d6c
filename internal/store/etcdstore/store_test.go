package etcdstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"guidedfix/bot"
	"guidedfix/internal/store/etcdstore"
	"guidedfix/internal/store/storetest"
)

var prefixes atomic.Int64

// openStore opens a store on the shared cluster under a prefix of its own
// (an empty store), closed when the test ends.
func openStore(t testing.TB, opts etcdstore.Options) *etcdstore.Store {
	t.Helper()
	if opts.Client == nil && opts.Endpoints == nil {
		opts.Endpoints = sharedCluster.clients
	}
	if opts.Prefix == "" {
		opts.Prefix = fmt.Sprintf("/t%d/", prefixes.Add(1))
	}
	if opts.InboxKey == nil {
		opts.InboxKey = bytes.Repeat([]byte{7}, 32)
	}
	if opts.LockTTL == 0 {
		opts.LockTTL = 2 * time.Second
	}
	s, err := etcdstore.Open(opts)
	if err != nil {
		t.Fatalf("open etcd store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s
}

// TestConformance runs the bot.Store conformance suite that the bbolt store
// passes against the three-member cluster.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) bot.Store { return openStore(t, etcdstore.Options{}) })
}

// TestSaveIsOneTransaction checks the keys a Save writes: the session, its
// due entry (moved, not copied) and the update id under the seen lease.
func TestSaveIsOneTransaction(t *testing.T) {
	st := openStore(t, etcdstore.Options{SeenTTL: time.Hour})
	cli := sharedCluster.client(t)
	ctx := context.Background()
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	s := &bot.Session{ID: "s1", Conversation: bot.Conversation{Channel: "telegram", ID: "42"}, ExpiresAt: at, UpdatedAt: at}
	if err := st.Save(ctx, s, "u1"); err != nil {
		t.Fatal(err)
	}
	s.ExpiresAt = at.Add(time.Minute)
	before, err := cli.Get(ctx, st.Prefix(), clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Save(ctx, s, "u2"); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.Get(ctx, st.Prefix(), clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	revs := map[int64]int{}
	for _, kv := range resp.Kvs {
		keys = append(keys, string(kv.Key[len(st.Prefix()):]))
		if kv.ModRevision > before.Header.Revision {
			revs[kv.ModRevision]++
		}
		if bytes.HasPrefix(kv.Key, []byte(st.Prefix()+"u/")) && kv.Lease == 0 {
			t.Errorf("seen key %q has no lease", kv.Key)
		}
	}
	want := []string{
		fmt.Sprintf("d/%016x/telegram\x0042", at.Add(time.Minute).UnixNano()),
		"s/telegram\x0042", "u/telegram\x00u1", "u/telegram\x00u2",
	}
	if fmt.Sprintf("%q", keys) != fmt.Sprintf("%q", want) {
		t.Fatalf("keys %q\nwant %q", keys, want)
	}
	// Session, due entry and update id of the second Save share one
	// revision: one transaction (the old due entry's delete is in it too).
	if len(revs) != 1 {
		t.Fatalf("second Save wrote at revisions %v, want one", revs)
	}
	for _, n := range revs {
		if n != 3 {
			t.Fatalf("second Save's revision holds %d keys, want 3", n)
		}
	}
	if got := resp.Header.Revision - before.Header.Revision; got != 1 {
		t.Fatalf("second Save took %d revisions, want 1", got)
	}
}

// TestTwoStoresRace has two stores (two replicas) save from the same
// version: exactly one wins and the other gets bot.ErrConflict, whichever
// process cached what.
func TestTwoStoresRace(t *testing.T) {
	a := openStore(t, etcdstore.Options{})
	b := openStore(t, etcdstore.Options{Prefix: a.Prefix()})
	ctx := context.Background()
	conv := bot.Conversation{Channel: "telegram", ID: "7"}
	s := &bot.Session{ID: "s", Conversation: conv, ExpiresAt: time.Now().Add(time.Hour)}
	if err := a.Save(ctx, s, ""); err != nil {
		t.Fatal(err)
	}
	for round := range 20 {
		sa, err := a.Load(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		sb, err := b.Load(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		sa.State, sb.State = "a", "b"
		errs := make(chan error, 2)
		go func() { errs <- a.Save(ctx, sa, fmt.Sprintf("ua%d", round)) }()
		go func() { errs <- b.Save(ctx, sb, fmt.Sprintf("ub%d", round)) }()
		e1, e2 := <-errs, <-errs
		won := 0
		for _, err := range []error{e1, e2} {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, bot.ErrConflict):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d saves won, want 1", round, won)
		}
		got, err := a.Load(ctx, conv)
		if err != nil {
			t.Fatal(err)
		}
		if got.Version != uint64(round+2) {
			t.Fatalf("round %d: version %d, want %d", round, got.Version, round+2)
		}
		winner := map[bot.State]*bot.Session{"a": sa, "b": sb}[got.State]
		if winner == nil || winner.Version != got.Version {
			t.Fatalf("round %d: stored state %q does not belong to the winner", round, got.State)
		}
		loserUpd := map[bot.State]string{"a": "ub", "b": "ua"}[got.State]
		if seen, err := a.Seen(ctx, "telegram", fmt.Sprintf("%s%d", loserUpd, round)); err != nil || seen {
			t.Fatalf("round %d: the loser's update id is recorded (%v, %v)", round, seen, err)
		}
	}
	if st := a.Stats(); st.Saves+b.Stats().Saves != 21 || st.Conflicts+b.Stats().Conflicts != 20 {
		t.Fatalf("stats a %+v b %+v", a.Stats(), b.Stats())
	}
}

// TestPollingLock: a second replica cannot take a process lock another
// one holds; once the holder dies without releasing (its lease not
// revoked), the lock is free again after the lease TTL.
func TestPollingLock(t *testing.T) {
	a := openStore(t, etcdstore.Options{})
	b := openStore(t, etcdstore.Options{Prefix: a.Prefix()})
	ctx := context.Background()
	if _, _, err := a.Acquire(ctx, "telegram-polling"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := b.Acquire(ctx, "telegram-polling"); !errors.Is(err, etcdstore.ErrHeld) {
		t.Fatalf("second Acquire = %v, want ErrHeld", err)
	}
	a.Abandon()
	deadline := time.Now().Add(15 * time.Second)
	for {
		release, _, err := b.Acquire(ctx, "telegram-polling")
		if err == nil {
			release()
			break
		}
		if !errors.Is(err, etcdstore.ErrHeld) || time.Now().After(deadline) {
			t.Fatalf("Acquire after the holder died = %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestInbox holds, lists and releases updates, sealed: the raw update is
// not in etcd in clear, and a store with another key cannot read it.
func TestInbox(t *testing.T) {
	st := openStore(t, etcdstore.Options{})
	ctx := context.Background()
	ups := []bot.Inbound{{ID: 5, Raw: []byte(`{"update_id":5,"text":"hunter2-password"}`)}, {ID: -1, Raw: []byte(`{"update_id":-1}`)}, {ID: 300, Raw: []byte(`{}`)}}
	if err := st.Hold(ctx, "telegram", ups); err != nil {
		t.Fatal(err)
	}
	if err := st.Release(ctx, "telegram", 300); err != nil {
		t.Fatal(err)
	}
	got, err := st.Held(ctx, "telegram")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != -1 || got[1].ID != 5 || string(got[1].Raw) != string(ups[0].Raw) {
		t.Fatalf("Held = %+v", got)
	}
	resp, err := sharedCluster.client(t).Get(ctx, st.Prefix(), clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	for _, kv := range resp.Kvs {
		if bytes.Contains(kv.Value, []byte("hunter2")) {
			t.Fatalf("held update stored in clear under %q", kv.Key)
		}
	}
	other := openStore(t, etcdstore.Options{Prefix: st.Prefix(), InboxKey: bytes.Repeat([]byte{9}, 32)})
	got, err = other.Held(ctx, "telegram")
	if err != nil || len(got) != 2 || got[0].Raw != nil || got[1].Raw != nil {
		t.Fatalf("Held with another key = %+v, %v; want two entries without Raw", got, err)
	}
	if held, err := st.Held(ctx, "slack"); err != nil || len(held) != 0 {
		t.Fatalf("Held(slack) = %v, %v", held, err)
	}
}
