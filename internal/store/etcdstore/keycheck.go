package etcdstore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// ErrInboxKeyMismatch is returned by CheckInboxKey when the cluster's key
// check was written under another inbox key: this replica could not open
// the updates the others hold, nor they its own.
var ErrInboxKeyMismatch = errors.New("etcdstore: this replica's inbox key differs from the one the other replicas use")

// keyCheckPlain is the text the key check seals; it is no secret.
const keyCheckPlain = "guidedfix inbox key check v1"

// CheckInboxKey makes sure every replica on the prefix seals held updates
// under the same key (Options.InboxKey): the first call on a prefix
// stores a key check — keyCheckPlain sealed with AES-256-GCM under the
// key (random 96-bit nonce, NIST SP 800-38D), never the key — in one
// create-if-absent transaction; every later call, on any replica, opens
// it. It returns ErrInboxKeyMismatch (wrapped) when the stored check does
// not open under this store's key, ErrNoInboxKey without a key, and the
// cluster's error when it cannot be reached.
func (s *Store) CheckInboxKey(ctx context.Context) error {
	if err := s.check(ctx, "inbox key check"); err != nil {
		return err
	}
	if s.inbox == nil {
		return ErrNoInboxKey
	}
	k := s.prefix + "inboxkey"
	nonce := make([]byte, s.inbox.NonceSize())
	_, _ = rand.Read(nonce)
	sealed := s.inbox.Seal(nonce, nonce, []byte(keyCheckPlain), []byte(k))
	tctx, cancel := s.ctx(ctx)
	defer cancel()
	resp, err := s.cli.Txn(tctx).If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, string(sealed))).Else(clientv3.OpGet(k)).Commit()
	if err != nil {
		return fmt.Errorf("etcdstore: inbox key check: %w", err)
	}
	if resp.Succeeded {
		return nil // the first replica on this prefix: its key is the one
	}
	kvs := resp.Responses[0].GetResponseRange().Kvs
	if len(kvs) == 1 {
		v := kvs[0].Value
		if n := s.inbox.NonceSize(); len(v) >= n {
			if plain, err := s.inbox.Open(nil, v[:n], v[n:], []byte(k)); err == nil && string(plain) == keyCheckPlain {
				return nil
			}
		}
	}
	return fmt.Errorf("%w (key check %q)", ErrInboxKeyMismatch, k)
}
