package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/config"
	"guidedfix/internal/store"
	"guidedfix/internal/store/etcdstore"
	"guidedfix/internal/support"
)

// sessionStore is what the commands need of a session store: the engine's
// Store, the Telegram adapter's Inbox, and Prune of processed update ids.
// *store.Bolt and *etcdstore.Store implement it.
type sessionStore interface {
	bot.Store
	bot.Inbox
	Prune(ctx context.Context, limit int) (int, error)
}

// errEtcdNeedsRemotePortal is returned by checkStoreBackend for
// store.backend etcd with the embedded portal core.
var errEtcdNeedsRemotePortal = errors.New("store.backend etcd runs several guidedfix replicas, but the embedded portal core " +
	"(portal.db in the data directory) belongs to one process: configure a remote portal (portal.url) " +
	"or use store.backend bbolt")

// checkStoreBackend refuses a configuration whose session store the
// portal core cannot follow: with store.backend etcd every replica must
// reach the same remote portal (portalRemote), since the embedded core's
// bbolt file is locked by one process. It returns errEtcdNeedsRemotePortal
// then, and nil otherwise.
func checkStoreBackend(cfg config.Config, portalRemote bool) error {
	if cfg.Store.Backend == config.BackendEtcd && !portalRemote {
		return errEtcdNeedsRemotePortal
	}
	return nil
}

// openSessionStore opens the configured session store: DATA/sessions.db
// (bbolt), or the etcd cluster of store.etcd. inboxKey seals held updates;
// on etcd every replica must have the same one (the same
// DATA/sessions.key), which etcdstore.Store.CheckInboxKey checks. It
// returns the store's open error (a locked file, an unreachable cluster,
// an unreadable certificate), or for etcd the key check's:
// etcdstore.ErrInboxKeyMismatch wrapped with what to copy where.
func openSessionStore(cfg config.Config, dir string, inboxKey []byte, now func() time.Time, log *slog.Logger) (sessionStore, error) {
	if cfg.Store.Backend != config.BackendEtcd {
		return store.Open(store.Options{Path: filepath.Join(dir, "sessions.db"), Now: now, InboxKey: inboxKey})
	}
	e := cfg.Store.Etcd
	opts, err := etcdOptions(e, now, log)
	if err != nil {
		return nil, err
	}
	opts.CompactEvery, opts.CompactRetain, opts.InboxKey = e.CompactEvery, e.CompactRetain, inboxKey
	st, err := etcdstore.Open(opts)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), e.RequestTimeout+e.DialTimeout)
	defer cancel()
	if err := st.CheckInboxKey(ctx); err != nil {
		st.Close()
		if errors.Is(err, etcdstore.ErrInboxKeyMismatch) {
			return nil, fmt.Errorf("%w: %s is not the key file the other replicas on %s use, so none of them could open "+
				"the Telegram updates another one holds; copy sessions.key from a running replica to every replica "+
				"(README, \"Several replicas on etcd\")", err, filepath.Join(dir, sessionsKeyFile), e.Prefix)
		}
		return nil, err
	}
	log.Info("session store on etcd", "endpoints", strings.Join(e.Endpoints, ","), "prefix", e.Prefix, "tls", opts.TLS != nil)
	return st, nil
}

// etcdOptions returns the client options both etcd stores share: the
// endpoints, TLS (etcdTLS), credentials, key prefix and timeouts of e. It
// returns etcdTLS's error for an unreadable certificate.
func etcdOptions(e config.EtcdConfig, now func() time.Time, log *slog.Logger) (etcdstore.Options, error) {
	var tlsCfg *tls.Config
	if e.TLSOn() {
		var err error
		if tlsCfg, err = etcdTLS(e); err != nil {
			return etcdstore.Options{}, err
		}
	}
	return etcdstore.Options{
		Endpoints: e.Endpoints, TLS: tlsCfg, Username: e.Username, Password: e.Password.Reveal(),
		Prefix: e.Prefix, DialTimeout: e.DialTimeout, RequestTimeout: e.RequestTimeout, LockTTL: e.LockTTL,
		Now: now, Logger: log,
	}, nil
}

// openSupportRecords opens the hand-off, escalation and audit records:
// DATA/support.db (bbolt), or with store.backend etcd the same records on
// the cluster (their own client, no compactor of their own), so that a
// hand-off created on one replica is redeemed on any.
func openSupportRecords(cfg config.Config, dir string, now func() time.Time, log *slog.Logger) (support.Records, error) {
	if cfg.Store.Backend != config.BackendEtcd {
		return support.Open(filepath.Join(dir, "support.db"), now)
	}
	opts, err := etcdOptions(cfg.Store.Etcd, now, log)
	if err != nil {
		return nil, err
	}
	opts.CompactEvery = -1 // the session store's client compacts
	st, err := etcdstore.Open(opts)
	if err != nil {
		return nil, err
	}
	return etcdstore.NewSupport(st), nil
}

// etcdTLS returns the client TLS configuration of e: the client
// certificate and key when set, the CA bundle (else the system roots),
// TLS 1.2 at least.
func etcdTLS(e config.EtcdConfig) (*tls.Config, error) {
	c := &tls.Config{MinVersion: tls.VersionTLS12}
	if e.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(e.CertFile, e.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("store.etcd.cert_file/key_file: %w", err)
		}
		c.Certificates = []tls.Certificate{cert}
	}
	if e.CAFile != "" {
		pem, err := os.ReadFile(e.CAFile)
		if err != nil {
			return nil, fmt.Errorf("store.etcd.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("store.etcd.ca_file %s holds no PEM certificate", e.CAFile)
		}
		c.RootCAs = pool
	}
	return c, nil
}

// pollingLockName is the etcd lock held by the one replica that
// long-polls Telegram.
const pollingLockName = "telegram-polling"

// lockTelegramPolling takes the cluster-wide Telegram polling lock when
// the session store is shared (etcd): getUpdates confirms updates to
// whoever calls it, so two pollers would split and lose each other's
// updates. With bbolt there is one process and it returns a no-op. It
// returns a clear error when another replica polls already. lost is
// closed if the lock's lease is lost later (nil with bbolt).
func lockTelegramPolling(ctx context.Context, st sessionStore) (release func(), lost <-chan struct{}, err error) {
	es, ok := st.(*etcdstore.Store)
	if !ok {
		return func() {}, nil, nil
	}
	release, lost, err = es.Acquire(ctx, pollingLockName)
	if errors.Is(err, etcdstore.ErrHeld) {
		return nil, nil, fmt.Errorf("telegram: another guidedfix replica already long-polls this bot (etcd lock %s%s): "+
			"run Telegram in webhook mode (telegram.webhook_url) to serve it from several replicas, or enable long polling on one replica only",
			es.Prefix(), "l/proc/"+pollingLockName)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("telegram: polling lock: %w", err)
	}
	return release, lost, nil
}
