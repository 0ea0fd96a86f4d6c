package storetest

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// maxProblems caps how many invariant violations MustCheck reports.
const maxProblems = 20

// Open opens a store.Bolt with opts (opts.Path is required; use a file in
// t.TempDir()) and fails the test at once if that fails. When the test
// ends it closes the store, reporting a Close error, and then runs
// MustCheck on the file. A store the test closed itself is fine: a second
// Close returns nil.
func Open(t testing.TB, opts store.Options) *store.Bolt {
	t.Helper()
	b, err := store.Open(opts)
	if err != nil {
		t.Fatalf("storetest: open %s: %v", opts.Path, err)
	}
	// Cleanups run last-registered first: Close, then the check.
	t.Cleanup(func() { MustCheck(t, opts.Path) })
	t.Cleanup(func() {
		if err := b.Close(); err != nil {
			t.Errorf("storetest: close %s: %v", opts.Path, err)
		}
	})
	return b
}

// MustCheck opens the closed store file at path read-only, with raw bbolt
// and an independent reading of the format documented in package store,
// and reports (t.Errorf, up to 20 lines) every broken invariant:
//
//   - the file has exactly the buckets "due", "inbox", "seen" and
//     "sessions", and maybe "entry_tokens" (the entry page's links: a
//     32-byte SHA-256 key, an 8-byte expiry first in the value), and
//     maybe "user_locales" (channel + "\x00" + user id → a language tag
//     of 1 to 35 bytes of letters, digits and '-');
//   - every session decodes as a bot.Session, is stored under its own
//     channel + "\x00" + id key, and has a Version of at least 1;
//   - the due bucket holds exactly one empty-valued entry, 8-byte
//     big-endian unix nanos + session key, for each session with a non-zero
//     Deadline, and nothing else;
//   - every seen key is channel + "\x00" + update id and every value an
//     8-byte time.
//
// It fails the test at once if the file cannot be opened within 1s, e.g.
// because a store still has it open.
func MustCheck(t testing.TB, path string) {
	t.Helper()
	problems, err := check(path)
	if err != nil {
		t.Fatalf("storetest: check %s: %v", path, err)
	}
	for i, p := range problems {
		if i == maxProblems {
			t.Errorf("storetest: check %s: %d more problems", path, len(problems)-maxProblems)
			break
		}
		t.Errorf("storetest: check %s: %s", path, p)
	}
}

func check(path string) ([]string, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return nil, err
	}
	defer db.Close()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	err = db.View(func(tx *bolt.Tx) error {
		var names []string
		_ = tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			names = append(names, string(name))
			return nil
		})
		if want := []string{"due", "inbox", "seen", "sessions"}; !slices.Equal(slices.DeleteFunc(slices.Clone(names),
			func(n string) bool { return n == "entry_tokens" || n == "user_locales" }), want) {
			bad("buckets %q, want %q (and maybe \"entry_tokens\", \"user_locales\")", names, want)
		}
		if ul := tx.Bucket([]byte("user_locales")); ul != nil {
			_ = ul.ForEach(func(k, v []byte) error {
				if ch, user, ok := strings.Cut(string(k), "\x00"); !ok || ch == "" || user == "" || !validTag(v) {
					bad("user locale record %q = %q: want channel NUL user id → a language tag", k, v)
				}
				return nil
			})
		}
		if et := tx.Bucket([]byte("entry_tokens")); et != nil {
			_ = et.ForEach(func(k, v []byte) error {
				if len(k) != 32 || len(v) < 8 {
					bad("entry token record %x: %d-byte key, %d-byte value; want a 32-byte hash and an 8-byte expiry first", k, len(k), len(v))
				}
				return nil
			})
		}
		sessions, due, seen, inbox := tx.Bucket([]byte("sessions")), tx.Bucket([]byte("due")), tx.Bucket([]byte("seen")), tx.Bucket([]byte("inbox"))
		if sessions == nil || due == nil || seen == nil || inbox == nil {
			return nil
		}

		wantDue := map[string]string{} // due key -> session key, for the report
		_ = sessions.ForEach(func(k, v []byte) error {
			var s bot.Session
			if err := json.Unmarshal(bytes.Clone(v), &s); err != nil {
				bad("session %q does not decode: %v", k, err)
				return nil
			}
			if want := s.Conversation.Channel + "\x00" + s.Conversation.ID; string(k) != want ||
				s.Conversation.Channel == "" || s.Conversation.ID == "" {
				bad("session %q stored under the wrong key (conversation %q)", k, s.Conversation)
				return nil
			}
			if s.Version < 1 {
				bad("session %q has Version %d, want at least 1", k, s.Version)
			}
			if d := s.Deadline(); !d.IsZero() {
				wantDue[string(deadlineKey(d, k))] = string(k)
			}
			return nil
		})
		_ = due.ForEach(func(k, v []byte) error {
			if len(v) != 0 {
				bad("due entry %q has a %d-byte value, want empty", k, len(v))
			}
			if _, ok := wantDue[string(k)]; !ok {
				bad("due entry %q matches no session's Deadline", k)
				return nil
			}
			delete(wantDue, string(k))
			return nil
		})
		for k, sk := range wantDue {
			bad("session %q has no due entry %q for its Deadline", sk, k)
		}
		_ = seen.ForEach(func(k, v []byte) error {
			if i := bytes.IndexByte(k, 0); i <= 0 || i == len(k)-1 {
				bad("seen key %q is not channel NUL update-id", k)
			}
			if len(v) != 8 {
				bad("seen value of %q has %d bytes, want 8", k, len(v))
			}
			return nil
		})
		_ = inbox.ForEach(func(k, v []byte) error {
			if i := bytes.IndexByte(k, 0); i <= 0 || len(k)-i-1 != 8 {
				bad("inbox key %q is not channel NUL 8-byte update id", k)
			}
			if len(v) < 12+16 || json.Valid(v) {
				bad("inbox value of %q is not a sealed update (nonce, ciphertext, tag)", k)
			}
			return nil
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(problems)
	return problems, nil
}

// deadlineKey is the due-bucket key of deadline d for session key k: unix
// nanos clamped to [0, MaxInt64], 8 bytes big-endian, then k.
func deadlineKey(d time.Time, k []byte) []byte {
	var n uint64
	switch {
	case d.Before(time.Unix(0, 0)):
		n = 0
	case d.After(time.Unix(0, math.MaxInt64)):
		n = math.MaxInt64
	default:
		n = uint64(d.UnixNano())
	}
	return append(binary.BigEndian.AppendUint64(nil, n), k...)
}

// ScanFile reads the raw bytes of the file at path, free pages included,
// and fails the test (t.Errorf) for each non-empty string of forbidden that
// occurs anywhere in them. The report gives the string's position in
// forbidden, its length and the first offset, never the string itself.
// Empty strings are skipped. It fails the test at once if the file cannot
// be read.
func ScanFile(t testing.TB, path string, forbidden ...string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("storetest: scan %s: %v", path, err)
	}
	for i, f := range forbidden {
		if f == "" {
			continue
		}
		if off := bytes.Index(data, []byte(f)); off >= 0 {
			t.Errorf("storetest: scan %s: forbidden string #%d (%d bytes) found at offset %d", path, i, len(f), off)
		}
	}
}

// validTag reports whether v is 1 to 35 bytes of ASCII letters, digits
// and '-' (a BCP 47 tag as store.CheckTag accepts it).
func validTag(v []byte) bool {
	if len(v) == 0 || len(v) > 35 {
		return false
	}
	for _, c := range v {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}
