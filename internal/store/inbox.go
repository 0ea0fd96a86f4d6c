package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"guidedfix/bot"
)

var _ bot.Inbox = (*Bolt)(nil)

// InboxKeyPurpose is the purpose guidedfix derives Options.InboxKey for
// from the portal key (embedded.Core.DeriveKey).
const InboxKeyPurpose = "sessions inbox aes-256-gcm"

// ErrNoInboxKey is returned by Hold and Held of a store opened without
// Options.InboxKey.
var ErrNoInboxKey = errors.New("store: no inbox key (Options.InboxKey)")

// inboxKey returns channel + "\x00" + the id as 8 bytes big-endian with
// the sign bit flipped, so that keys sort by id, negative ids first.
func inboxKey(channel string, id int64) ([]byte, error) {
	if err := checkChannel(channel); err != nil {
		return nil, err
	}
	k := make([]byte, 0, len(channel)+1+8)
	k = append(k, channel...)
	k = append(k, sep...)
	return binary.BigEndian.AppendUint64(k, uint64(id)^(1<<63)), nil
}

// Hold records updates in the "inbox" bucket under channel, each sealed
// with AES-256-GCM under Options.InboxKey (NIST SP 800-38D: random 96-bit
// nonce, the bucket key as additional data), in one transaction that is
// fsync'ed before it returns (bot.Inbox). Holding no updates writes
// nothing. It fails with ErrNoInboxKey without a key, and for an empty or
// NUL-containing channel, a cancelled ctx, a closed store or a failed
// write, and then holds none of them.
func (b *Bolt) Hold(ctx context.Context, channel string, updates []bot.Inbound) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: hold: %w", err)
	}
	if err := checkChannel(channel); err != nil {
		return err
	}
	if b.inbox == nil {
		return ErrNoInboxKey
	}
	if len(updates) == 0 {
		return nil
	}
	keys, sealed := make([][]byte, len(updates)), make([][]byte, len(updates))
	for i, u := range updates {
		keys[i], _ = inboxKey(channel, u.ID)
		nonce := make([]byte, b.inbox.NonceSize())
		rand.Read(nonce)
		sealed[i] = b.inbox.Seal(nonce, nonce, u.Raw, keys[i])
	}
	err := b.writes.Write(func(tx *bolt.Tx) error {
		in := tx.Bucket([]byte(bucketInbox))
		for i := range updates {
			if err := in.Put(keys[i], sealed[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: hold: %w", err)
	}
	return nil
}

// Release removes the held update id of channel (bot.Inbox); a missing one
// is no error. It fails for an invalid channel, a cancelled ctx, a closed
// store or a failed write.
func (b *Bolt) Release(ctx context.Context, channel string, id int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: release: %w", err)
	}
	key, err := inboxKey(channel, id)
	if err != nil {
		return err
	}
	err = b.writes.Write(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketInbox)).Delete(key)
	})
	if err != nil {
		return fmt.Errorf("store: release: %w", err)
	}
	return nil
}

// Held returns the updates held for channel, unsealed, in increasing ID
// order (bot.Inbox). An update that does not unseal (held under another
// key, or altered) is returned with a nil Raw, for the caller to report and
// Release. It fails with ErrNoInboxKey without a key, and for an invalid
// channel, a cancelled ctx or a closed store.
func (b *Bolt) Held(ctx context.Context, channel string) ([]bot.Inbound, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: held: %w", err)
	}
	if err := checkChannel(channel); err != nil {
		return nil, err
	}
	if b.inbox == nil {
		return nil, ErrNoInboxKey
	}
	prefix := []byte(channel + sep)
	var out []bot.Inbound
	err := b.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket([]byte(bucketInbox)).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			if len(k) != len(prefix)+8 {
				continue
			}
			id := int64(binary.BigEndian.Uint64(k[len(prefix):]) ^ (1 << 63))
			var raw []byte
			if n := b.inbox.NonceSize(); len(v) >= n {
				raw, _ = b.inbox.Open(nil, v[:n], v[n:], k)
			}
			out = append(out, bot.Inbound{ID: id, Raw: raw})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: held: %w", err)
	}
	return out, nil
}
