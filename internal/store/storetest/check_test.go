package storetest_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"guidedfix/bot"
	"guidedfix/internal/store"
	"guidedfix/internal/store/storetest"
)

// recorder is a testing.TB that records failures instead of failing.
type recorder struct {
	testing.TB
	mu     sync.Mutex
	msgs   []string
	failed bool
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.failed = true
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func (r *recorder) Fatalf(format string, args ...any) {
	r.Errorf(format, args...)
	runtime.Goexit()
}

// capture runs fn with a recorder in its own goroutine (so Fatalf can stop
// it) and returns what fn reported.
func capture(t *testing.T, fn func(tb testing.TB)) []string {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r.msgs
}

func TestScanFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(path, []byte("xx\x00hunter2\x00yy"), 0o600); err != nil {
		t.Fatal(err)
	}
	msgs := capture(t, func(tb testing.TB) { storetest.ScanFile(tb, path, "absent", "", "hunter2") })
	if len(msgs) != 1 {
		t.Fatalf("ScanFile reported %q, want one failure", msgs)
	}
	if want := "forbidden string #2 (7 bytes) found at offset 3"; !strings.Contains(msgs[0], want) {
		t.Errorf("ScanFile report %q does not contain %q", msgs[0], want)
	}
	if strings.Contains(msgs[0], "hunter2") {
		t.Errorf("ScanFile report %q repeats the forbidden string", msgs[0])
	}
	if msgs := capture(t, func(tb testing.TB) { storetest.ScanFile(tb, path, "", "absent") }); len(msgs) != 0 {
		t.Errorf("ScanFile of absent and empty strings reported %q", msgs)
	}
	if msgs := capture(t, func(tb testing.TB) { storetest.ScanFile(tb, path+".missing", "x") }); len(msgs) != 1 {
		t.Errorf("ScanFile of a missing file reported %q, want one failure", msgs)
	}
}

// brokenFile writes a valid store with one due session, then applies
// corrupt to it with raw bbolt.
func brokenFile(t *testing.T, corrupt func(tx *bolt.Tx) error) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sessions.db")
	b, err := store.Open(store.Options{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	s := &bot.Session{
		Conversation: bot.Conversation{Channel: "telegram", ID: "42"},
		ExpiresAt:    time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	if err := b.Save(context.Background(), s, "u1"); err != nil {
		t.Fatal(err)
	}
	if err := b.Close(); err != nil {
		t.Fatal(err)
	}
	if corrupt == nil {
		return path
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(corrupt); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestMustCheck(t *testing.T) {
	firstKey := func(tx *bolt.Tx, bucket string) []byte {
		k, _ := tx.Bucket([]byte(bucket)).Cursor().First()
		return k
	}
	cases := []struct {
		name    string
		corrupt func(tx *bolt.Tx) error
		want    string // substring of the one expected report; "" = clean
	}{
		{"clean", nil, ""},
		{"missing due entry", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("due")).Delete(firstKey(tx, "due"))
		}, "has no due entry"},
		{"stale due entry", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("due")).Put(append([]byte{0, 0, 0, 0, 0, 0, 0, 1}, "telegram\x0042"...), nil)
		}, "matches no session's Deadline"},
		{"undecodable session", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("sessions")).Put([]byte("telegram\x0043"), []byte("{"))
		}, "does not decode"},
		{"session under wrong key", func(tx *bolt.Tx) error {
			b := tx.Bucket([]byte("sessions"))
			v := b.Get([]byte("telegram\x0042"))
			return b.Put([]byte("telegram\x0099"), append([]byte(nil), v...))
		}, "stored under the wrong key"},
		{"short seen value", func(tx *bolt.Tx) error {
			return tx.Bucket([]byte("seen")).Put([]byte("telegram\x00u2"), []byte{1})
		}, "has 1 bytes, want 8"},
		{"extra bucket", func(tx *bolt.Tx) error {
			_, err := tx.CreateBucket([]byte("extra"))
			return err
		}, "buckets"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			path := brokenFile(t, tc.corrupt)
			msgs := capture(t, func(tb testing.TB) { storetest.MustCheck(tb, path) })
			switch {
			case tc.want == "" && len(msgs) != 0:
				t.Errorf("MustCheck of a clean file reported %q", msgs)
			case tc.want != "" && (len(msgs) != 1 || !strings.Contains(msgs[0], tc.want)):
				t.Errorf("MustCheck reported %q, want one report containing %q", msgs, tc.want)
			}
		})
	}
}

func TestMustCheckWhileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions.db")
	b := storetest.Open(t, store.Options{Path: path})
	_ = b
	start := time.Now()
	msgs := capture(t, func(tb testing.TB) { storetest.MustCheck(tb, path) })
	if len(msgs) != 1 || !strings.Contains(msgs[0], "timeout") {
		t.Errorf("MustCheck of a file in use reported %q, want one timeout failure", msgs)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("MustCheck took %v", d)
	}
}
