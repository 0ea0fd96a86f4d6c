package main

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"guidedfix/flows/totpswitch"
	"guidedfix/internal/config"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/portal/portalhttp"
	"guidedfix/internal/store"
	"guidedfix/internal/termsafe"
)

// openEmbedded opens the embedded core of dir with the configured SMS
// delivery (the file phone DATA/outbox/sms unless portal.sms.gateway_url is
// set) and registers its Close with a.
func openEmbedded(ctx context.Context, a *app, dir string, o openOptions) (*embedded.Core, error) {
	cfg := a.cfg
	sms, err := smsSender(cfg.Portal.SMS, dir)
	if err != nil {
		return nil, err
	}
	if fs, ok := sms.(embedded.FileSMS); ok {
		// The file phone keeps each code in clear: delete the files once
		// their code has expired.
		sctx, stop := context.WithCancel(context.WithoutCancel(ctx))
		go embedded.SweepSMSFiles(sctx, fs.Dir, time.Minute)
		a.closers = append(a.closers, func() error { stop(); return nil })
		if o.sms == nil { // serve and portal serve; the demo shows its phone
			a.log.Warn("SMS codes go to the file phone DATA/outbox/sms, in clear, for the demo only: set portal.sms.gateway_url to deliver them",
				"dir", fs.Dir)
		}
	}
	if o.sms != nil {
		sms = o.sms(sms)
	}
	key, err := cfg.Portal.KeyBytes()
	if err != nil {
		return nil, err
	}
	mem, iter, threads := cfg.Portal.Argon2.Params()
	if cfg.Portal.Argon2.BelowOWASP() {
		a.log.Warn("portal.argon2 is below the OWASP minimum (e.g. memory_kib 19456, time 2): use such a cost only for tests",
			"memory_kib", mem, "time", iter)
	}
	core, err := embedded.Open(embedded.Options{
		Path:                filepath.Join(dir, "portal.db"),
		KeyFile:             filepath.Join(dir, "portal.key"),
		Key:                 key,
		Mail:                a.metrics.Mail(a.mail),
		SMS:                 sms,
		Issuer:              cfg.Portal.Issuer,
		Now:                 o.now,
		Argon2:              embedded.Argon2Params{Memory: mem, Time: iter, Threads: threads, KeyLen: 32, SaltLen: 16},
		MaxConcurrentHashes: cfg.Portal.HashConcurrency(),
		Logger:              a.log,
		SupportContact:      cfg.Mail.SupportContact,
	})
	if err != nil {
		return nil, err
	}
	a.closers = append(a.closers, core.Close)
	return core, nil
}

// smsSender returns the embedded core's SMS delivery: the signed-JSON
// gateway when portal.sms.gateway_url is set, else the file phone.
func smsSender(c config.PortalSMSConfig, dir string) (portal.SMSSender, error) {
	if c.GatewayURL == "" {
		return embedded.FileSMS{Dir: filepath.Join(dir, "outbox", "sms")}, nil
	}
	secret, err := c.Secret()
	if err != nil {
		return nil, err
	}
	return embedded.NewGatewaySMS(embedded.GatewayOptions{URL: c.GatewayURL, Secret: []byte(secret)})
}

// openRemotePortal returns the client of the remote portal at c.URL with
// c's token, trust anchors and client certificate. It does not contact
// the portal.
func openRemotePortal(c config.PortalConfig, log *slog.Logger) (*portalhttp.Client, error) {
	tok, err := c.ServiceToken()
	if err != nil {
		return nil, err
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// A burst of conversations calls the portal at once: keep their
	// connections for the next calls instead of reconnecting each time.
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = 1024, 1024
	if c.CAFile != "" || c.ClientCert != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if c.CAFile != "" {
			pem, err := os.ReadFile(c.CAFile)
			if err != nil {
				return nil, fmt.Errorf("portal.ca_file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("portal.ca_file %s: no PEM certificate", c.CAFile)
			}
		}
		if c.ClientCert != "" || c.ClientKey != "" {
			cert, err := tls.LoadX509KeyPair(c.ClientCert, c.ClientKey)
			if err != nil {
				return nil, fmt.Errorf("portal.client_cert/client_key: %w", err)
			}
			tc.Certificates = []tls.Certificate{cert}
		}
		tr.TLSClientConfig = tc
	}
	return portalhttp.NewClient(portalhttp.ClientOptions{BaseURL: c.URL, Token: tok, HTTPClient: &http.Client{Transport: tr},
		Timeout: c.Timeout, Logger: log})
}

// sessionsKeyFile is the key file that replaces portal.key as the root of
// the session store's held-update key when the portal is remote.
const sessionsKeyFile = "sessions.key"

// inboxKeyFor returns the 32-byte key sealing held updates in
// sessions.db: derived from the embedded core's key, or with a remote
// portal (no portal.key here) from DATA/sessions.key, created with 32
// random bytes (mode 0600) on first use. Both derivations are HKDF-SHA256
// (RFC 5869) with the purpose store.InboxKeyPurpose.
func inboxKeyFor(a *app, dir string) ([]byte, error) {
	return derivedKey(a, dir, store.InboxKeyPurpose)
}

// derivedKey returns the 32-byte key for purpose: derived from the
// embedded core's portal key, or with a remote portal from
// DATA/sessions.key (created on first use, 0600; with the bbolt store
// refused with errSessionsKeyMissing over a sessions.db holding sealed
// updates; on etcd all replicas need the same file, checked when the
// store opens), by HKDF-SHA256 (RFC 5869).
func derivedKey(a *app, dir, purpose string) ([]byte, error) {
	if a.core != nil {
		return a.core.DeriveKey(purpose)
	}
	path := filepath.Join(dir, sessionsKeyFile)
	root, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		// On etcd the held updates are not in sessions.db: the cluster's
		// key check (openSessionStore) refuses a key the other replicas
		// do not have.
		if a.cfg.Store.Backend != config.BackendEtcd {
			if err := checkSessionsKeyCreatable(dir); err != nil {
				return nil, err
			}
		}
		root = make([]byte, 32)
		rand.Read(root)
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sessionsKeyFile, err)
		}
		if _, err := f.Write(root); err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", sessionsKeyFile, err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("%s: %w", sessionsKeyFile, err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("%s: %w", sessionsKeyFile, err)
	}
	if len(root) != 32 {
		return nil, fmt.Errorf("%s: %d bytes, want 32", path, len(root))
	}
	return hkdf.Key(sha256.New, root, nil, "guidedfix "+purpose, 32)
}

// flowOrder asks the portal for its capabilities and returns the order of
// steps to run (totpswitch.ChooseOrder of flow.order), logging a note when
// it differs from the configured one. A portal of another contract major
// version, one that cannot keep the configured order safe, or one that
// has no recovery codes while enrollment.recovery_codes asks for them, is
// refused with an error (api/portal.openapi.yaml "Capabilities").
func flowOrder(ctx context.Context, a *app, core portal.Core) (string, error) {
	caps, err := portal.CapabilitiesOf(ctx, core)
	if err != nil {
		return "", fmt.Errorf("portal capabilities: %w", err)
	}
	if caps.ContractVersion != portal.ContractVersion {
		return "", fmt.Errorf("the portal implements contract version %q, this guidedfix speaks %q (api/portal.openapi.yaml): upgrade one of them",
			caps.ContractVersion, portal.ContractVersion)
	}
	order, note, err := totpswitch.ChooseOrder(caps, a.cfg.Flow.Order)
	if err != nil {
		return "", err
	}
	if note != "" {
		a.log.Warn(note, "configured", a.cfg.Flow.Order, "order", order)
	}
	if a.cfg.Enrollment.RecoveryCodes > 0 && !caps.RecoveryCodes {
		return "", errors.New("enrollment.recovery_codes is set but the portal issues no recovery codes (capabilities recoveryCodes false): set it to 0")
	}
	return order, nil
}

// checkRemoteAccount is the demo's start against a remote portal: --email
// must name an account the portal has (its password is typed in the
// conversation, nothing is created or reset there).
func checkRemoteAccount(ctx context.Context, a *app, out io.Writer, o demoOptions) error {
	if o.reset {
		return errors.New("--reset works on the embedded core only; a remote portal's accounts are its own")
	}
	if o.email == "" {
		return errors.New("with a remote portal the demo needs --email: an account that exists in that portal")
	}
	acc, err := a.portal.LookupAccount(ctx, o.email)
	if errors.Is(err, portal.ErrNotFound) {
		return fmt.Errorf("the portal at %s has no account %s", a.cfg.Portal.URL, termsafe.Field(o.email))
	}
	if err != nil {
		return fmt.Errorf("portal at %s: %w", a.cfg.Portal.URL, err)
	}
	fmt.Fprintf(out, "Remote portal %s — account %s (2FA: %s). The demo uses this account: type its password when asked; SMS codes arrive where that portal sends them.\n\n",
		a.cfg.Portal.URL, termsafe.Field(acc.Email), acc.Method)
	return nil
}
