package config

import (
	"net/url"
	"os"
	"strings"
	"time"
)

// Session store back ends accepted in [StoreConfig.Backend].
const (
	// BackendBbolt keeps sessions in DATA/sessions.db, one process.
	BackendBbolt = "bbolt"
	// BackendEtcd keeps sessions in an etcd cluster shared by several
	// replicas (package internal/store/etcdstore).
	BackendEtcd = "etcd"
)

// StoreConfig chooses and configures the session store.
type StoreConfig struct {
	// Backend is "bbolt" (default: DATA/sessions.db, a single process) or
	// "etcd" (several replicas share an etcd cluster; the portal core
	// must then be remote).
	Backend string     `koanf:"backend"`
	Etcd    EtcdConfig `koanf:"etcd"`
}

// EtcdConfig configures the etcd session store (store.backend: etcd).
type EtcdConfig struct {
	// Endpoints are the cluster members' client URLs, e.g.
	// "https://etcd-1:2379"; in the environment comma-separated.
	// Required for the etcd back end.
	Endpoints []string `koanf:"endpoints"`
	// Prefix is put before every key guidedfix writes; default
	// "/guidedfix/". Deployments sharing a cluster use different ones.
	Prefix string `koanf:"prefix"`
	// CertFile and KeyFile are the PEM client certificate and key for
	// mutual TLS (etcd --client-cert-auth); both or neither.
	CertFile string `koanf:"cert_file"`
	KeyFile  string `koanf:"key_file"`
	// CAFile is the PEM CA bundle that signs the members' server
	// certificates; empty means the system roots. Any of the three files
	// (or an https endpoint) turns TLS on.
	CAFile string `koanf:"ca_file"`
	// Username and Password authenticate to etcd when its RBAC is on.
	Username string `koanf:"username"`
	Password Secret `koanf:"password"`
	// DialTimeout bounds the first connection at start; default 5s.
	DialTimeout time.Duration `koanf:"dial_timeout"`
	// RequestTimeout bounds each request; default 5s.
	RequestTimeout time.Duration `koanf:"request_timeout"`
	// LockTTL is how long a dead replica's conversation locks (and the
	// Telegram polling lock) outlive it; default 10s, at least 2s.
	LockTTL time.Duration `koanf:"lock_ttl"`
	// CompactEvery is how often guidedfix compacts etcd's history to the
	// newest CompactRetain revisions; default 5m; a negative value turns
	// it off (when the cluster runs --auto-compaction-mode itself).
	CompactEvery time.Duration `koanf:"compact_every"`
	// CompactRetain is how many revisions a compaction keeps; default
	// 10000.
	CompactRetain int64 `koanf:"compact_retain"`
}

// defaultStore is the store section of [Default].
func defaultStore() StoreConfig {
	return StoreConfig{Backend: BackendBbolt, Etcd: EtcdConfig{
		Prefix: "/guidedfix/", DialTimeout: 5 * time.Second, RequestTimeout: 5 * time.Second,
		LockTTL: 10 * time.Second, CompactEvery: 5 * time.Minute, CompactRetain: 10000,
	}}
}

// validate appends the store section's errors: backend is bbolt or etcd;
// for etcd, at least one endpoint, each an http(s) URL with a host; prefix
// starts with '/'; cert and key both or neither, every named file
// readable; timeouts positive; lock_ttl at least 2s; compact_retain ≥ 1.
func (s StoreConfig) validate(bad func(key, format string, args ...any)) {
	switch s.Backend {
	case BackendBbolt:
		return
	case BackendEtcd:
	default:
		bad("store.backend", "%q is not bbolt or etcd", s.Backend)
		return
	}
	e := s.Etcd
	if len(e.Endpoints) == 0 {
		bad("store.etcd.endpoints", "must name at least one etcd member (e.g. https://etcd-1:2379)")
	}
	for _, ep := range e.Endpoints {
		u, err := url.Parse(ep)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("store.etcd.endpoints", "%q is not an http(s)://host:port URL", ep)
		}
	}
	if !strings.HasPrefix(e.Prefix, "/") {
		bad("store.etcd.prefix", "%q must start with '/'", e.Prefix)
	}
	if (e.CertFile == "") != (e.KeyFile == "") {
		bad("store.etcd.cert_file", "cert_file and key_file go together")
	}
	for key, path := range map[string]string{"store.etcd.cert_file": e.CertFile, "store.etcd.key_file": e.KeyFile, "store.etcd.ca_file": e.CAFile} {
		if path == "" {
			continue
		}
		if f, err := os.Open(path); err != nil {
			bad(key, "%v", err)
		} else {
			f.Close()
		}
	}
	if e.DialTimeout <= 0 {
		bad("store.etcd.dial_timeout", "%v must be positive", e.DialTimeout)
	}
	if e.RequestTimeout <= 0 {
		bad("store.etcd.request_timeout", "%v must be positive", e.RequestTimeout)
	}
	if e.LockTTL < 2*time.Second {
		bad("store.etcd.lock_ttl", "%v is below 2s", e.LockTTL)
	}
	if e.CompactRetain < 1 {
		bad("store.etcd.compact_retain", "%d must be at least 1", e.CompactRetain)
	}
}

// TLSOn reports whether the etcd client uses TLS: a certificate, a CA or
// an https endpoint is configured.
func (e EtcdConfig) TLSOn() bool {
	if e.CertFile != "" || e.CAFile != "" {
		return true
	}
	for _, ep := range e.Endpoints {
		if strings.HasPrefix(ep, "https://") {
			return true
		}
	}
	return false
}
