package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"go.etcd.io/bbolt"
)

// HeldCount returns how many held updates (sealed under Options.InboxKey)
// the sessions database at path holds: 0 when the file does not exist or
// has no inbox bucket. It opens the file read-only, waiting at most one
// second for another process's lock, and fails when it cannot open or read
// it. guidedfix uses it to refuse creating a new sessions.key over held
// updates sealed under a lost one.
func HeldCount(path string) (int, error) {
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		return 0, fmt.Errorf("store: open %s: %w", path, err)
	}
	defer db.Close()
	n := 0
	err = db.View(func(tx *bbolt.Tx) error {
		if b := tx.Bucket([]byte(bucketInbox)); b != nil {
			n = b.Stats().KeyN
		}
		return nil
	})
	return n, err
}
