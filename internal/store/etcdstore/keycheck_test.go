package etcdstore_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"guidedfix/internal/store/etcdstore"
)

// TestCheckInboxKey: the first replica on a prefix stores the key check,
// a replica with the same key passes (also again), one with another key
// gets ErrInboxKeyMismatch, and the stored check holds no key bytes.
func TestCheckInboxKey(t *testing.T) {
	prefix := fmt.Sprintf("/keycheck%d/", prefixes.Add(1))
	key, other := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	ctx := context.Background()
	first := openStore(t, etcdstore.Options{Prefix: prefix, InboxKey: key})
	if err := first.CheckInboxKey(ctx); err != nil {
		t.Fatalf("first replica: %v", err)
	}
	same := openStore(t, etcdstore.Options{Prefix: prefix, InboxKey: bytes.Clone(key)})
	for range 2 {
		if err := same.CheckInboxKey(ctx); err != nil {
			t.Fatalf("replica with the same key: %v", err)
		}
	}
	wrong := openStore(t, etcdstore.Options{Prefix: prefix, InboxKey: other})
	if err := wrong.CheckInboxKey(ctx); !errors.Is(err, etcdstore.ErrInboxKeyMismatch) {
		t.Fatalf("replica with another key: %v, want ErrInboxKeyMismatch", err)
	}
	resp, err := sharedCluster.client(t).Get(ctx, prefix+"inboxkey")
	if err != nil || len(resp.Kvs) != 1 {
		t.Fatalf("key check record: %v, %v", resp, err)
	}
	if v := resp.Kvs[0].Value; bytes.Contains(v, key[:8]) || len(v) != 12+len("guidedfix inbox key check v1")+16 {
		t.Fatalf("key check record of %d bytes: want nonce, sealed text and tag only", len(v))
	}
	// Another prefix is another deployment: its own first replica.
	if err := openStore(t, etcdstore.Options{InboxKey: other}).CheckInboxKey(ctx); err != nil {
		t.Fatalf("another prefix: %v", err)
	}
}
