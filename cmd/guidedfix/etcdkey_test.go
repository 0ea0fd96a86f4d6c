package main

import (
	"bytes"
	"errors"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"guidedfix/internal/config"
	"guidedfix/internal/store/etcdstore"
)

// TestEtcdReplicasNeedOneSessionsKey: on store.backend etcd the first
// replica's inbox key is the cluster's; a second replica with the same
// key opens the store, one with another key is refused with
// etcdstore.ErrInboxKeyMismatch and an error naming its sessions.key.
func TestEtcdReplicasNeedOneSessionsKey(t *testing.T) {
	cfg := config.Default()
	cfg.Store.Backend = config.BackendEtcd
	cfg.Store.Etcd.Endpoints = []string{startEtcd(t)}
	cfg.Store.Etcd.Prefix = "/keys/"
	key := bytes.Repeat([]byte{3}, 32)
	for i, k := range [][]byte{key, bytes.Clone(key)} {
		st, err := openSessionStore(cfg, t.TempDir(), k, nil, slog.New(slog.DiscardHandler))
		if err != nil {
			t.Fatalf("replica %d with the cluster's key: %v", i, err)
		}
		st.Close()
	}
	dir := t.TempDir()
	_, err := openSessionStore(cfg, dir, bytes.Repeat([]byte{4}, 32), nil, slog.New(slog.DiscardHandler))
	if !errors.Is(err, etcdstore.ErrInboxKeyMismatch) || !strings.Contains(err.Error(), filepath.Join(dir, sessionsKeyFile)) {
		t.Fatalf("replica with another key: %v, want ErrInboxKeyMismatch naming %s", err, filepath.Join(dir, sessionsKeyFile))
	}
}

// startEtcd starts a one-member etcd in the test process on 127.0.0.1
// ports picked a moment before (embed needs explicit URLs) and returns
// its client URL; it stops when the test ends.
func startEtcd(t *testing.T) string {
	t.Helper()
	free := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return l.Addr().String()
	}
	peer, client := url.URL{Scheme: "http", Host: free()}, url.URL{Scheme: "http", Host: free()}
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = "m0", filepath.Join(t.TempDir(), "etcd")
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
	cfg.InitialCluster = cfg.Name + "=" + peer.String()
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.UnsafeNoFsync = true // one test machine: an fsync proves nothing here
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		t.Fatal("etcd did not start")
	}
	return client.String()
}
