package embedded

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"guidedfix/internal/portal"
	"guidedfix/internal/testfill"
)

// TestAccountCloneSharesNothing: with every field of accountRec set
// (internal/testfill, maps and slices with two elements, then empty), its
// clone is equal, and mutating everything reachable from the clone
// (testfill.Mutate) leaves the original as filled: a field added later
// with a slice or map and no copy in clone fails here.
func TestAccountCloneSharesNothing(t *testing.T) {
	for _, o := range []testfill.Options{{}, {Empty: true}} {
		var a, want accountRec
		// Every field is set, each at least once (collections empty or not).
		if n, fields := testfill.Fill(&a, o).Values, reflect.TypeOf(a).NumField(); n < fields-6 || (!o.Empty && n < fields) {
			t.Fatalf("Fill(%+v) set %d values for %d fields (the filler missed fields)", o, n, fields)
		}
		testfill.Fill(&want, o) // the same values: Fill is deterministic
		c := a.clone()
		if !reflect.DeepEqual(a, c) {
			t.Fatalf("clone (%+v) differs:\n%+v\n%+v", o, a, c)
		}
		testfill.Mutate(&c)
		if reflect.DeepEqual(c, want) {
			t.Fatalf("Mutate (%+v) changed nothing in the clone; the test cannot fail", o)
		}
		for i := range reflect.TypeOf(a).NumField() {
			if !reflect.DeepEqual(reflect.ValueOf(a).Field(i).Interface(), reflect.ValueOf(want).Field(i).Interface()) {
				t.Errorf("clone (%+v) shares field %s: mutating the clone changed the original", o, reflect.TypeOf(a).Field(i).Name)
			}
		}
	}
}

// TestAccountCacheMatchesDecode: a record that decodesToItself is equal
// to the decoder's result for its JSON, the records the core writes do
// (else put would cache nothing), and each kind of record the decoder
// would change does not.
func TestAccountCacheMatchesDecode(t *testing.T) {
	now := time.Date(2026, 12, 3, 9, 0, 0, 123456789, time.UTC)
	typical := accountRec{ID: "acc_1", Email: "a@example.com", Name: "Ana <a&b>", Phone: "+60123456789", Method: portal.MethodSMS, CreatedAt: now,
		PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdA$aGFzaA", SMSSent: []time.Time{now}, Challenge: "chl_1",
		Consecutive: map[string]int{factorSMS: 1}, Sources: map[string]sourceRec{"src": {Failures: []time.Time{now}, LockedUntil: now, Locks: 1}},
		TOTPSecret: []byte{1, 2, 3}, RecoveryCodes: []string{"$argon2id$r"}, LockedUntil: now.Add(time.Hour), Locale: "ms"}
	filled := func(o testfill.Options) accountRec {
		var a accountRec
		testfill.Fill(&a, o)
		return a
	}
	cases := []struct {
		name string
		a    accountRec
		same bool
	}{
		{"typical", typical, true},
		{"every field set", filled(testfill.Options{}), true},
		{"every field set, collections empty", filled(testfill.Options{Empty: true}), false},
		{"every field set, one string invalid UTF-8", filled(testfill.Options{BadString: 3}), false},
		{"every field set, one time in another zone", filled(testfill.Options{OddTime: 2, OddLocation: time.FixedZone("MYT", 8*3600)}), false},
		{"zero", accountRec{}, true},
		{"empty slice", func() accountRec { a := typical.clone(); a.SMSSent = []time.Time{}; return a }(), false},
		{"empty map", func() accountRec { a := typical.clone(); a.Consecutive = map[string]int{}; return a }(), false},
		{"empty source failures", func() accountRec {
			a := typical.clone()
			a.Sources = map[string]sourceRec{"src": {Failures: []time.Time{}}}
			return a
		}(), false},
		{"invalid UTF-8", func() accountRec { a := typical.clone(); a.Name = "A\xffna"; return a }(), false},
		{"monotonic time", func() accountRec { a := typical.clone(); a.LockedUntil = time.Now(); return a }(), false},
		{"other zone", func() accountRec { a := typical.clone(); a.CreatedAt = now.In(time.FixedZone("MYT", 8*3600)); return a }(), false},
	}
	for _, c := range cases {
		data, err := json.Marshal(c.a)
		if err != nil {
			t.Fatal(err)
		}
		var d accountRec
		if err := json.Unmarshal(data, &d); err != nil {
			t.Fatal(err)
		}
		equal := reflect.DeepEqual(c.a, d)
		if got := c.a.decodesToItself(); got != c.same || (got && !equal) {
			t.Errorf("%s: decodesToItself %v, want %v; the decoder's result equal: %v", c.name, got, c.same, equal)
		}
	}
}

// TestAccountCacheNeverStale: loadAccount returns the stored record,
// also when it was changed behind the cache (another process on the
// file, a rolled-back write), and a caller changing its copy changes
// nothing cached.
func TestAccountCacheNeverStale(t *testing.T) {
	e := newEnv(t)
	a := e.alice(t)
	load := func() accountRec {
		t.Helper()
		var r accountRec
		if err := e.core.db.View(func(tx *bbolt.Tx) error {
			var err error
			r, err = e.core.loadAccount(tx, a.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return r
	}
	r := load()
	r.Consecutive = map[string]int{factorPassword: 7}
	r.Name = "changed in memory"
	if got := load(); got.Name != "Test" || got.Consecutive != nil {
		t.Fatalf("a caller's change reached the cache: %+v", got)
	}
	// Written behind the cache: raw JSON with another name.
	r = load()
	r.Name = "Written elsewhere"
	data, _ := json.Marshal(r)
	if err := e.core.db.Update(func(tx *bbolt.Tx) error { return tx.Bucket(bAccounts).Put([]byte(a.ID), data) }); err != nil {
		t.Fatal(err)
	}
	if got := load(); got.Name != "Written elsewhere" {
		t.Fatalf("stale record: name %q", got.Name)
	}
	// A rolled-back put leaves the committed record.
	_ = e.core.db.Update(func(tx *bbolt.Tx) error {
		r.Name = "rolled back"
		if err := e.core.putAccount(tx, r); err != nil {
			return err
		}
		return errRollback
	})
	if got := load(); got.Name != "Written elsewhere" {
		t.Fatalf("after a rollback: name %q", got.Name)
	}
	if got, err := e.core.Account(context.Background(), a.ID); err != nil || got.Name != "Written elsewhere" {
		t.Fatalf("Account: %+v, %v", got, err)
	}
}

// TestAccountCachePerCore: the cache belongs to its Core: the account a
// Core wrote is cached in that Core only, Close empties it, and the Core
// opened next on the file starts with an empty cache of its own.
func TestAccountCachePerCore(t *testing.T) {
	e := newEnv(t)
	a := e.alice(t)
	first := e.core
	// entries returns how many records c caches and whether a's is one.
	entries := func(c *Core) (int, bool) {
		c.accounts.mu.Lock()
		defer c.accounts.mu.Unlock()
		_, ok := c.accounts.m[a.ID]
		return len(c.accounts.m), ok
	}
	if n, ok := entries(first); n != 1 || !ok {
		t.Fatalf("after AddAccount: %d entries (the account's: %v), want 1", n, ok)
	}
	e.reopen(t)
	if n, _ := entries(first); n != 0 {
		t.Fatalf("closed Core's cache has %d entries, want 0", n)
	}
	if first.accounts == e.core.accounts {
		t.Fatal("two Cores share one cache")
	}
	if n, _ := entries(e.core); n != 0 {
		t.Fatalf("new Core's cache has %d entries, want 0", n)
	}
	if _, err := e.core.Account(context.Background(), a.ID); err != nil {
		t.Fatal(err)
	}
	if n, ok := entries(e.core); n != 1 || !ok {
		t.Fatalf("after Account: %d entries (the account's: %v), want 1", n, ok)
	}
}
