package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// bucketEntry holds the one-time links of the entry page (internal/entry):
// SHA-256 of the link's token (32 bytes) → 8-byte big-endian unix-nanos
// expiry + the entry package's JSON record. The token itself is never
// stored.
const bucketEntry = "entry_tokens"

// ErrNoEntryToken is returned by EntryToken and SpendEntryToken when no
// unexpired record is stored under the hash: never issued, already spent,
// or expired.
var ErrNoEntryToken = errors.New("store: no such entry token")

// PutEntryToken stores rec under hash (the SHA-256 of a one-time link's
// token, 32 bytes) until expires, in one fsync'ed transaction that also
// removes every record already expired at the store's Now. It fails for a
// hash that is not 32 bytes, a cancelled ctx, a closed store or a failed
// write.
func (b *Bolt) PutEntryToken(ctx context.Context, hash []byte, rec []byte, expires time.Time) error {
	if len(hash) != 32 {
		return fmt.Errorf("store: entry token hash is %d bytes, want 32", len(hash))
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: put entry token: %w", err)
	}
	now := nanos(b.now())
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 8+len(rec)), nanos(expires))
	v = append(v, rec...)
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk, err := tx.CreateBucketIfNotExists([]byte(bucketEntry))
		if err != nil {
			return err
		}
		var old [][]byte
		c := bk.Cursor()
		for k, ov := c.First(); k != nil; k, ov = c.Next() {
			if len(ov) < 8 || binary.BigEndian.Uint64(ov) <= now {
				old = append(old, bytes.Clone(k))
			}
		}
		for _, k := range old {
			if err := bk.Delete(k); err != nil {
				return err
			}
		}
		return bk.Put(bytes.Clone(hash), v)
	})
	if err != nil {
		return fmt.Errorf("store: put entry token: %w", err)
	}
	return nil
}

// EntryToken returns a copy of the record stored under hash, without
// spending it. It returns ErrNoEntryToken when there is none or it has
// expired at the store's Now, and other errors for a cancelled ctx or a
// closed store.
func (b *Bolt) EntryToken(ctx context.Context, hash []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: entry token: %w", err)
	}
	now := nanos(b.now())
	var rec []byte
	err := b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(bucketEntry))
		if bk == nil {
			return ErrNoEntryToken
		}
		v := bk.Get(hash)
		if len(v) < 8 || binary.BigEndian.Uint64(v) <= now {
			return ErrNoEntryToken
		}
		rec = bytes.Clone(v[8:])
		return nil
	})
	if err != nil {
		return nil, err
	}
	return rec, nil
}

// SpendEntryToken removes the record stored under hash and returns it, in
// one fsync'ed transaction, so that of two concurrent calls exactly one
// gets the record. It returns ErrNoEntryToken when there is none or it has
// expired (an expired record is removed all the same), and other errors
// for a cancelled ctx, a closed store or a failed write.
func (b *Bolt) SpendEntryToken(ctx context.Context, hash []byte) ([]byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: spend entry token: %w", err)
	}
	now := nanos(b.now())
	var rec []byte
	var found bool
	err := b.db.Update(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(bucketEntry))
		if bk == nil {
			return nil
		}
		v := bk.Get(hash)
		if v == nil {
			return nil
		}
		if len(v) >= 8 && binary.BigEndian.Uint64(v) > now {
			rec, found = bytes.Clone(v[8:]), true
		}
		return bk.Delete(hash)
	})
	if err != nil {
		return nil, fmt.Errorf("store: spend entry token: %w", err)
	}
	if !found {
		return nil, ErrNoEntryToken
	}
	return rec, nil
}
