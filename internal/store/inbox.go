package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"guidedfix/bot"
)

var _ bot.Inbox = (*Bolt)(nil)

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

// Hold records updates in the "inbox" bucket under channel, in one
// transaction that is fsync'ed before it returns (bot.Inbox). Holding no
// updates writes nothing. It fails for an empty or NUL-containing channel,
// a cancelled ctx, a closed store or a failed write, and then holds none
// of them.
func (b *Bolt) Hold(ctx context.Context, channel string, updates []bot.Inbound) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("store: hold: %w", err)
	}
	if err := checkChannel(channel); err != nil {
		return err
	}
	if len(updates) == 0 {
		return nil
	}
	keys := make([][]byte, len(updates))
	for i, u := range updates {
		keys[i], _ = inboxKey(channel, u.ID)
	}
	err := b.writes.write(func(tx *bolt.Tx) error {
		in := tx.Bucket([]byte(bucketInbox))
		for i, u := range updates {
			if err := in.Put(keys[i], bytes.Clone(u.Raw)); err != nil {
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
	err = b.writes.write(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte(bucketInbox)).Delete(key)
	})
	if err != nil {
		return fmt.Errorf("store: release: %w", err)
	}
	return nil
}

// Held returns copies of the updates held for channel, in increasing ID
// order (bot.Inbox). It fails for an invalid channel, a cancelled ctx or a
// closed store.
func (b *Bolt) Held(ctx context.Context, channel string) ([]bot.Inbound, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("store: held: %w", err)
	}
	if err := checkChannel(channel); err != nil {
		return nil, err
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
			out = append(out, bot.Inbound{ID: id, Raw: bytes.Clone(v)})
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: held: %w", err)
	}
	return out, nil
}
