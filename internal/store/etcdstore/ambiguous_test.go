package etcdstore_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"guidedfix/bot"
	"guidedfix/internal/store/etcdstore"
)

// lossyKV is the client's KV with the answers of the next transactions
// lost: the transaction is applied (apply true) or not, and the caller
// gets context.DeadlineExceeded either way, as after a timeout or a
// connection dropped at the wrong moment. Only a test can place that loss
// on one chosen commit; everything else is the real client and cluster.
type lossyKV struct {
	clientv3.KV
	lose  atomic.Int64 // commits still to lose
	apply bool
}

func (k *lossyKV) Txn(ctx context.Context) clientv3.Txn {
	return &lossyTxn{Txn: k.KV.Txn(ctx), kv: k}
}

type lossyTxn struct {
	clientv3.Txn
	kv *lossyKV
}

func (t *lossyTxn) If(cs ...clientv3.Cmp) clientv3.Txn   { t.Txn = t.Txn.If(cs...); return t }
func (t *lossyTxn) Then(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Then(ops...); return t }
func (t *lossyTxn) Else(ops ...clientv3.Op) clientv3.Txn { t.Txn = t.Txn.Else(ops...); return t }

func (t *lossyTxn) Commit() (*clientv3.TxnResponse, error) {
	if t.kv.lose.Add(-1) < 0 {
		t.kv.lose.Store(0)
		return t.Txn.Commit()
	}
	if t.kv.apply {
		if _, err := t.Txn.Commit(); err != nil {
			return nil, err
		}
	}
	return nil, context.DeadlineExceeded
}

// TestLostAnswerIsReadBack: a Save whose transaction was applied but whose
// answer was lost finds its own turn stored and succeeds without writing
// again; one that was not applied is sent again; either way the session
// is at version 2 after two Saves, never 3, and the update ids are kept.
func TestLostAnswerIsReadBack(t *testing.T) {
	for _, applied := range []bool{true, false} {
		cli := sharedCluster.client(t)
		kv := &lossyKV{KV: cli.KV, apply: applied}
		cli.KV = kv
		st := openStore(t, etcdstore.Options{Client: cli})
		ctx := context.Background()
		s := &bot.Session{ID: "s", Conversation: bot.Conversation{Channel: "telegram", ID: "1"}, ExpiresAt: time.Now().Add(time.Hour)}
		if err := st.Save(ctx, s, "u1"); err != nil {
			t.Fatal(err)
		}
		kv.lose.Store(1)
		s.State = "next"
		if err := st.Save(ctx, s, "u2"); err != nil {
			t.Fatalf("applied=%v: Save after a lost answer = %v, want nil", applied, err)
		}
		if s.Version != 2 {
			t.Fatalf("applied=%v: caller's version %d, want 2", applied, s.Version)
		}
		other := openStore(t, etcdstore.Options{Prefix: st.Prefix()})
		got, err := other.Load(ctx, s.Conversation)
		if err != nil || got.Version != 2 || got.State != "next" {
			t.Fatalf("applied=%v: stored %+v, %v; want version 2 in state next", applied, got, err)
		}
		if seen, err := other.Seen(ctx, "telegram", "u2"); err != nil || !seen {
			t.Fatalf("applied=%v: u2 seen = %v, %v", applied, seen, err)
		}
		if a := st.Stats().Ambiguous; a != 1 {
			t.Fatalf("applied=%v: %d ambiguous commits counted, want 1", applied, a)
		}
		// The store's cache follows: the next Save needs no extra read.
		if err := st.Save(ctx, s, "u3"); err != nil || s.Version != 3 {
			t.Fatalf("applied=%v: next Save = %v, version %d", applied, err, s.Version)
		}
	}
}
