package etcdstore

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"

	"guidedfix/bot"
)

// ErrNoInboxKey is returned by Hold and Held of a store opened without
// Options.InboxKey.
var ErrNoInboxKey = errors.New("etcdstore: no inbox key (Options.InboxKey)")

// inboxKey returns the key of held update id of channel: the channel, NUL
// and the id as 8 bytes big-endian with the sign bit flipped, so keys sort
// by id.
func (s *Store) inboxKey(channel string, id int64) string {
	b := binary.BigEndian.AppendUint64(nil, uint64(id)^(1<<63))
	return s.prefix + "i/" + channel + "\x00" + string(b)
}

// Hold records updates for channel in one transaction, each sealed with
// AES-256-GCM under Options.InboxKey (NIST SP 800-38D: random 96-bit nonce,
// the key as additional data) as package store does (bot.Inbox). Holding
// none writes nothing. It fails with ErrNoInboxKey without a key, for an
// invalid channel, a cancelled ctx, a closed store or an unreachable
// cluster, and then holds none of them.
func (s *Store) Hold(ctx context.Context, channel string, updates []bot.Inbound) error {
	if err := s.check(ctx, "hold"); err != nil {
		return err
	}
	if err := checkChannel(channel); err != nil {
		return err
	}
	if s.inbox == nil {
		return ErrNoInboxKey
	}
	if len(updates) == 0 {
		return nil
	}
	ops := make([]clientv3.Op, 0, len(updates))
	for _, u := range updates {
		k := s.inboxKey(channel, u.ID)
		nonce := make([]byte, s.inbox.NonceSize())
		_, _ = rand.Read(nonce)
		ops = append(ops, clientv3.OpPut(k, string(s.inbox.Seal(nonce, nonce, u.Raw, []byte(k)))))
	}
	tctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.cli.Txn(tctx).Then(ops...).Commit(); err != nil {
		return fmt.Errorf("etcdstore: hold: %w", err)
	}
	return nil
}

// Release removes the held update id of channel (bot.Inbox); a missing one
// is no error. It fails for an invalid channel, a cancelled ctx, a closed
// store or an unreachable cluster.
func (s *Store) Release(ctx context.Context, channel string, id int64) error {
	if err := s.check(ctx, "release"); err != nil {
		return err
	}
	if err := checkChannel(channel); err != nil {
		return err
	}
	dctx, cancel := s.ctx(ctx)
	defer cancel()
	if _, err := s.cli.Delete(dctx, s.inboxKey(channel, id)); err != nil {
		return fmt.Errorf("etcdstore: release: %w", err)
	}
	return nil
}

// Held returns the updates held for channel, unsealed, in increasing ID
// order (bot.Inbox); one that does not unseal has a nil Raw. It fails with
// ErrNoInboxKey without a key, for an invalid channel, a cancelled ctx, a
// closed store or an unreachable cluster.
func (s *Store) Held(ctx context.Context, channel string) ([]bot.Inbound, error) {
	if err := s.check(ctx, "held"); err != nil {
		return nil, err
	}
	if err := checkChannel(channel); err != nil {
		return nil, err
	}
	if s.inbox == nil {
		return nil, ErrNoInboxKey
	}
	prefix := s.prefix + "i/" + channel + "\x00"
	gctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Get(gctx, prefix, clientv3.WithPrefix())
	if err != nil {
		return nil, fmt.Errorf("etcdstore: held: %w", err)
	}
	var out []bot.Inbound
	for _, kv := range resp.Kvs {
		if len(kv.Key) != len(prefix)+8 {
			continue
		}
		id := int64(binary.BigEndian.Uint64(kv.Key[len(prefix):]) ^ (1 << 63))
		var raw []byte
		if n := s.inbox.NonceSize(); len(kv.Value) >= n {
			raw, _ = s.inbox.Open(nil, kv.Value[:n], kv.Value[n:], kv.Key)
		}
		out = append(out, bot.Inbound{ID: id, Raw: raw})
	}
	return out, nil
}
