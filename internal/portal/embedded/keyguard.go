package embedded

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"go.etcd.io/bbolt"
)

// ErrKeyFileMissing is returned by Open when Options.KeyFile does not
// exist but the database already holds data (accounts, e-mails,
// enrollments, queued mail, audit entries …) written under the key that
// file held. A new key would make every sealed TOTP secret undecryptable
// ("cannot decrypt secret (wrong key?)"), so Open never creates one then:
// the error names the key file and README's restore step. A key file is
// created only for a database that holds no data yet.
var ErrKeyFileMissing = errors.New("portal: key file missing for a database that holds data")

// checkKeyPresent returns ErrKeyFileMissing (wrapped, naming the files)
// when no explicit key is set, the key file does not exist and db holds
// any record in any bucket; nil otherwise (a key may then be created).
func checkKeyPresent(db *bbolt.DB, opts Options) error {
	if opts.Key != nil || opts.KeyFile == "" {
		return nil
	}
	if _, err := os.Stat(opts.KeyFile); !errors.Is(err, fs.ErrNotExist) {
		return nil // present (or unreadable: loadKey reports it)
	}
	var records int
	err := db.View(func(tx *bbolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bbolt.Bucket) error {
			records += b.Stats().KeyN
			return nil
		})
	})
	if err != nil {
		return fmt.Errorf("portal: inspect %s: %w", opts.Path, err)
	}
	if records == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s is missing but %s holds %d records sealed or keyed under it; "+
		"restore that key file from your backup (README, \"Backup and restore\": copy portal.db together with its portal.key) "+
		"or set portal.key in the configuration; guidedfix will not create a new key, which would make every stored TOTP secret unreadable",
		ErrKeyFileMissing, opts.KeyFile, opts.Path, records)
}
