package main

import (
	"errors"
	"fmt"
	"path/filepath"

	"guidedfix/internal/store"
)

// errSessionsKeyMissing is returned (wrapped, naming the files) when
// DATA/sessions.key is missing but DATA/sessions.db holds updates sealed
// under it: a new key would silently drop them, so none is created.
var errSessionsKeyMissing = errors.New("sessions.key missing for a sessions.db that holds sealed updates")

// checkSessionsKeyCreatable returns nil when a new sessions.key may be
// created in dir (sessions.db absent or holding no held updates), else
// errSessionsKeyMissing naming both files and README's restore step, or
// the error of reading sessions.db.
func checkSessionsKeyCreatable(dir string) error {
	db := filepath.Join(dir, "sessions.db")
	n, err := store.HeldCount(db)
	if err != nil {
		return fmt.Errorf("%s is missing and %s cannot be checked for sealed updates: %w", filepath.Join(dir, sessionsKeyFile), db, err)
	}
	if n == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s is missing but %s holds %d updates sealed under it; restore the key file from your backup "+
		"(README, \"Backup and restore\"); guidedfix will not create a new key, which would drop them",
		errSessionsKeyMissing, filepath.Join(dir, sessionsKeyFile), db, n)
}
