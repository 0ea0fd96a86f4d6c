package main

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"guidedfix/internal/config"
	"guidedfix/internal/store"
)

func TestCheckStoreBackend(t *testing.T) {
	cfg := config.Default()
	if err := checkStoreBackend(cfg, false); err != nil {
		t.Fatalf("bbolt with the embedded core: %v", err)
	}
	cfg.Store.Backend = config.BackendEtcd
	if err := checkStoreBackend(cfg, false); !errors.Is(err, errEtcdNeedsRemotePortal) {
		t.Fatalf("etcd with the embedded core: %v, want errEtcdNeedsRemotePortal", err)
	}
	if err := checkStoreBackend(cfg, true); err != nil {
		t.Fatalf("etcd with a remote portal: %v", err)
	}
}

func TestOpenSessionStoreBboltDefault(t *testing.T) {
	st, err := openSessionStore(config.Default(), t.TempDir(), make([]byte, 32), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, ok := st.(*store.Bolt); !ok {
		t.Fatalf("default store is %T, want *store.Bolt", st)
	}
	release, lost, err := lockTelegramPolling(context.Background(), st)
	if err != nil || lost != nil {
		t.Fatalf("polling lock with bbolt = %v, %v; want a no-op", lost, err)
	}
	release()
}

// TestServeRefusesEtcdWithEmbeddedPortal: serve with store.backend etcd
// and the embedded portal core stops before it contacts etcd or creates a
// session store, saying why.
func TestServeRefusesEtcdWithEmbeddedPortal(t *testing.T) {
	t.Setenv("TELEGRAM_BOT_TOKEN", "")
	t.Setenv("SLACK_BOT_TOKEN", "")
	t.Setenv("GUIDEDFIX_STORE__BACKEND", "etcd")
	t.Setenv("GUIDEDFIX_STORE__ETCD__ENDPOINTS", "http://127.0.0.1:1")
	dir := t.TempDir()
	err := runServe(context.Background(), &globalFlags{dataDir: dir}, serveFlags{})
	if !errors.Is(err, errEtcdNeedsRemotePortal) {
		t.Fatalf("serve = %v, want errEtcdNeedsRemotePortal", err)
	}
	for _, f := range []string{"sessions.db", "support.db"} {
		if _, err := os.Stat(filepath.Join(dir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s exists after the refusal (%v)", f, err)
		}
	}
}
