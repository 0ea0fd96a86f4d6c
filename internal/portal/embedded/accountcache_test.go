package embedded

import (
	"context"
	"encoding/json"
	"reflect"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"guidedfix/internal/portal"
)

// fill sets every field of the struct v points to to a non-zero value:
// slices and maps get one element (themselves filled).
func fill(t *testing.T, v reflect.Value) {
	t.Helper()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	for i := range v.NumField() {
		f := v.Field(i)
		switch {
		case f.Type() == reflect.TypeOf(time.Time{}):
			f.Set(reflect.ValueOf(now))
		case f.Kind() == reflect.String:
			f.SetString("x")
		case f.Kind() == reflect.Bool:
			f.SetBool(true)
		case f.CanInt():
			f.SetInt(1)
		case f.Kind() == reflect.Slice:
			s := reflect.MakeSlice(f.Type(), 1, 1)
			fillValue(t, s.Index(0))
			f.Set(s)
		case f.Kind() == reflect.Map:
			m := reflect.MakeMap(f.Type())
			k, e := reflect.New(f.Type().Key()).Elem(), reflect.New(f.Type().Elem()).Elem()
			fillValue(t, k)
			fillValue(t, e)
			m.SetMapIndex(k, e)
			f.Set(m)
		case f.Kind() == reflect.Struct:
			fill(t, f)
		default:
			t.Fatalf("field %s: kind %s not handled by the test", v.Type().Field(i).Name, f.Kind())
		}
	}
}

func fillValue(t *testing.T, v reflect.Value) {
	t.Helper()
	switch {
	case v.Type() == reflect.TypeOf(time.Time{}):
		v.Set(reflect.ValueOf(time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)))
	case v.Kind() == reflect.Struct:
		fill(t, v)
	case v.Kind() == reflect.String:
		v.SetString("k")
	case v.CanInt():
		v.SetInt(2)
	case v.CanUint():
		v.SetUint(3)
	default:
		t.Fatalf("element kind %s not handled by the test", v.Kind())
	}
}

// shared reports whether a and b (same type) share a slice's or map's
// memory anywhere, struct fields and map values included.
func shared(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Slice:
		if a.Len() > 0 && a.UnsafePointer() == b.UnsafePointer() {
			return true
		}
		for i := range a.Len() {
			if shared(a.Index(i), b.Index(i)) {
				return true
			}
		}
	case reflect.Map:
		if a.Len() > 0 && a.UnsafePointer() == b.UnsafePointer() {
			return true
		}
		for _, k := range a.MapKeys() {
			if shared(a.MapIndex(k), b.MapIndex(k)) {
				return true
			}
		}
	case reflect.Struct:
		if a.Type() == reflect.TypeOf(time.Time{}) {
			return false
		}
		for i := range a.NumField() {
			if shared(a.Field(i), b.Field(i)) {
				return true
			}
		}
	}
	return false
}

// TestAccountCloneSharesNothing: with every field of accountRec set, its
// clone is equal and shares no slice or map (nor those of its source
// records); a field added later with a slice or map and no copy in clone
// fails here.
func TestAccountCloneSharesNothing(t *testing.T) {
	var a accountRec
	fill(t, reflect.ValueOf(&a).Elem())
	c := a.clone()
	if !reflect.DeepEqual(a, c) {
		t.Fatalf("clone differs:\n%+v\n%+v", a, c)
	}
	for i := range reflect.TypeOf(a).NumField() {
		if shared(reflect.ValueOf(a).Field(i), reflect.ValueOf(c).Field(i)) {
			t.Errorf("clone shares field %s", reflect.TypeOf(a).Field(i).Name)
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
	var full accountRec
	fill(t, reflect.ValueOf(&full).Elem())
	cases := []struct {
		name string
		a    accountRec
		same bool
	}{
		{"typical", typical, true},
		{"every field set", full, true},
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
