package embedded

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"time"

	"go.etcd.io/bbolt"
)

// AuditEntry is one append-only record of a security change the core made
// to an account. It never holds a secret.
type AuditEntry struct {
	// At is when the change committed (UTC).
	At time.Time
	// AccountID is the account changed.
	AccountID string
	// Action is a stable name: "2fa_disabled", "totp_activated",
	// "2fa_restored".
	Action string
	// Detail says what changed, e.g. "sms -> none".
	Detail string
}

// appendAudit writes an entry in tx, keyed by commit time and the bucket's
// sequence so that entries sort in the order they were made.
func appendAudit(tx *bbolt.Tx, at time.Time, accountID, action, detail string) error {
	b := tx.Bucket(bAudit)
	seq, err := b.NextSequence()
	if err != nil {
		return err
	}
	key := make([]byte, 16)
	binary.BigEndian.PutUint64(key, uint64(at.UnixNano()))
	binary.BigEndian.PutUint64(key[8:], seq)
	v, err := json.Marshal(AuditEntry{At: at.UTC(), AccountID: accountID, Action: action, Detail: detail})
	if err != nil {
		return err
	}
	return b.Put(key, v)
}

// AuditLog returns up to limit of the newest audit entries of accountID
// ("" for every account), newest first. It returns an error only when the
// database cannot be read.
func (c *Core) AuditLog(ctx context.Context, accountID string, limit int) ([]AuditEntry, error) {
	var out []AuditEntry
	err := c.db.View(func(tx *bbolt.Tx) error {
		cur := tx.Bucket(bAudit).Cursor()
		for k, v := cur.Last(); k != nil && len(out) < limit; k, v = cur.Prev() {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			if accountID == "" || e.AccountID == accountID {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}
