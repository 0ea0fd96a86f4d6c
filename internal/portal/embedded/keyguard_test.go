package embedded

import (
	"errors"
	"os"
	"strings"
	"testing"
)

// TestMissingKeyFileRefusedWhenDataExists (fixcore item 1): deleting
// portal.key next to a portal.db holding a TOTP account must not create a
// new key; Open fails naming the key file, and the file stays absent.
// An empty database (its buckets only) still gets a new key.
func TestMissingKeyFileRefusedWhenDataExists(t *testing.T) {
	e := newEnv(t)
	e.totpAccount(t)
	e.core.Close()
	if err := os.Remove(e.opts.KeyFile); err != nil {
		t.Fatal(err)
	}
	_, err := Open(e.opts)
	if !errors.Is(err, ErrKeyFileMissing) || !strings.Contains(err.Error(), e.opts.KeyFile) {
		t.Fatalf("Open without key file: %v, want ErrKeyFileMissing naming %s", err, e.opts.KeyFile)
	}
	if _, err := os.Stat(e.opts.KeyFile); !os.IsNotExist(err) {
		t.Fatalf("key file after refused Open: %v, want still missing", err)
	}
	// An explicit key bypasses the file (the operator's choice).
	e.opts.Key = make([]byte, keySize)
	c, err := Open(e.opts)
	if err != nil {
		t.Fatalf("Open with explicit key: %v", err)
	}
	c.Close()

	// A new, empty database may create its key.
	f := newEnv(t)
	f.core.Close()
	if err := os.Remove(f.opts.KeyFile); err != nil {
		t.Fatal(err)
	}
	f.open(t)
	if info, err := os.Stat(f.opts.KeyFile); err != nil || info.Size() != keySize {
		t.Fatalf("key file of an empty database: %v %v", info, err)
	}
}
