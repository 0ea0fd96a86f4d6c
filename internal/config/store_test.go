package config

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestStoreFromEnvironment(t *testing.T) {
	cfg := mustLoad(t, "", "GUIDEDFIX_STORE__BACKEND=etcd",
		"GUIDEDFIX_STORE__ETCD__ENDPOINTS=http://10.0.0.1:2379, http://10.0.0.2:2379,http://10.0.0.3:2379",
		"GUIDEDFIX_STORE__ETCD__PREFIX=/gf/")
	if cfg.Store.Backend != BackendEtcd || cfg.Store.Etcd.Prefix != "/gf/" ||
		!slices.Equal(cfg.Store.Etcd.Endpoints, []string{"http://10.0.0.1:2379", "http://10.0.0.2:2379", "http://10.0.0.3:2379"}) {
		t.Fatalf("store = %+v", cfg.Store)
	}
	if cfg.Store.Etcd.TLSOn() {
		t.Fatal("TLS on for http endpoints without files")
	}
}

func TestStoreValidate(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "nope.pem")
	for _, tc := range []struct {
		name string
		edit func(*StoreConfig)
		key  string // "" = valid
	}{
		{"bbolt default", func(*StoreConfig) {}, ""},
		{"etcd ok", func(s *StoreConfig) { s.Backend, s.Etcd.Endpoints = "etcd", []string{"https://e1:2379"} }, ""},
		{"unknown backend", func(s *StoreConfig) { s.Backend = "redis" }, "store.backend"},
		{"no endpoints", func(s *StoreConfig) { s.Backend = "etcd" }, "store.etcd.endpoints"},
		{"bad endpoint", func(s *StoreConfig) { s.Backend, s.Etcd.Endpoints = "etcd", []string{"e1:2379"} }, "store.etcd.endpoints"},
		{"bad prefix", func(s *StoreConfig) {
			s.Backend, s.Etcd.Endpoints, s.Etcd.Prefix = "etcd", []string{"http://e1:2379"}, "gf"
		}, "store.etcd.prefix"},
		{"cert without key", func(s *StoreConfig) {
			s.Backend, s.Etcd.Endpoints, s.Etcd.CertFile = "etcd", []string{"http://e1:2379"}, missing
		}, "store.etcd.cert_file"},
		{"missing CA", func(s *StoreConfig) {
			s.Backend, s.Etcd.Endpoints, s.Etcd.CAFile = "etcd", []string{"http://e1:2379"}, missing
		}, "store.etcd.ca_file"},
		{"short lock ttl", func(s *StoreConfig) {
			s.Backend, s.Etcd.Endpoints, s.Etcd.LockTTL = "etcd", []string{"http://e1:2379"}, 1
		}, "store.etcd.lock_ttl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Default()
			tc.edit(&cfg.Store)
			err := cfg.Validate()
			switch {
			case tc.key == "" && err != nil:
				t.Fatalf("Validate = %v, want nil", err)
			case tc.key != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.key+":")):
				t.Fatalf("Validate = %v, want an error for %s", err, tc.key)
			}
		})
	}
}
