// Package embedded is guidedfix's default portal auth core: a real
// implementation of portal.Core that keeps accounts, grants, SMS challenges,
// TOTP enrollments and an e-mail outbox in its own bbolt file.
//
// Standards followed: passwords are argon2id hashes (RFC 9106, OWASP
// Password Storage Cheat Sheet minimum m=19 MiB, t=2, p=1) in the PHC string
// format; TOTP is RFC 6238 (SHA1, 6 digits, 30-second time step, T0 = 0) with
// one time step of skew and each step accepted at most once per account
// (RFC 6238 §5.2, NIST SP 800-63B §5.1.4.2); otpauth URIs follow the Google
// Authenticator Key URI format; secrets at rest are sealed with AES-256-GCM
// (NIST SP 800-38D). Failures are throttled per account (RFC 4226 §7.3,
// NIST SP 800-63B §5.2.2).
//
// Every change and the e-mail it owes are written in one bbolt transaction;
// the e-mail and any SMS are sent only after that transaction commits.
// Passwords, codes and TOTP secrets are never logged or stored in clear.
package embedded

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"guidedfix/internal/boltgroup"
	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
)

// Errors of the embedded core in addition to the portal sentinels.
var (
	// ErrExists is returned by AddAccount when an account with the same
	// e-mail address (compared lower-cased) already exists.
	ErrExists = errors.New("portal: an account with this e-mail already exists")
	// ErrInvalidAccount is returned by AddAccount for an invalid e-mail
	// address (RFC 5322 addr-spec), phone number (E.164), method or a
	// password shorter than 8 characters.
	ErrInvalidAccount = errors.New("portal: invalid account data")
	// ErrInvalidLabel is returned when the TOTP issuer or the account label
	// cannot be carried safely in an otpauth URI (Key URI format: no ':';
	// no '&', '#', '?', '%', '/', '=' nor control characters; no '+' in the
	// issuer).
	ErrInvalidLabel = errors.New("portal: issuer or account name not allowed in an otpauth URI")
	// ErrInvalidKey is returned for an idempotency key that is empty or
	// longer than 200 bytes.
	ErrInvalidKey = errors.New("portal: idempotency key must be 1 to 200 bytes")
)

// Argon2Params are the argon2id cost parameters (RFC 9106 §3.1) used for new
// password hashes. Stored hashes keep the parameters they were made with.
// A zero field takes its default.
type Argon2Params struct {
	// Memory is the memory cost in KiB; default 19456 (19 MiB, the OWASP
	// minimum).
	Memory uint32
	// Time is the number of passes; default 2.
	Time uint32
	// Threads is the degree of parallelism; default 1.
	Threads uint8
	// KeyLen is the hash length in bytes; default 32.
	KeyLen uint32
	// SaltLen is the random salt length in bytes; default 16.
	SaltLen uint32
}

// DefaultArgon2 are the default argon2id parameters: the OWASP Password
// Storage Cheat Sheet minimum (m=19456 KiB, t=2, p=1), 32-byte hash,
// 16-byte salt.
var DefaultArgon2 = Argon2Params{Memory: 19456, Time: 2, Threads: 1, KeyLen: 32, SaltLen: 16}

// Options configure Open. Path, Mail, SMS and one of Key or KeyFile are
// required; every other field has a default.
type Options struct {
	// Path is the bbolt database file (e.g. DATA/portal.db), created 0600.
	Path string
	// KeyFile holds the 32-byte AES-256-GCM key that seals TOTP secrets;
	// it is created 0600 with random bytes when missing and the database
	// holds no data yet (else Open fails with ErrKeyFileMissing). Ignored
	// when Key is set.
	KeyFile string
	// Key is an explicit 32-byte key (from configuration); it wins over
	// KeyFile.
	Key []byte
	// Mail sends the security-alert and confirmation e-mails. Required.
	Mail mail.Sender
	// SMS delivers SMS challenge codes. Required.
	SMS portal.SMSSender
	// Issuer is the TOTP issuer shown by authenticator apps and the sender
	// name in messages; default "IP ServerOne".
	Issuer string
	// Now returns the current time; default time.Now. It is read once per
	// operation.
	Now func() time.Time
	// Argon2 are the cost parameters for new password hashes; zero fields
	// take DefaultArgon2's values.
	Argon2 Argon2Params
	// MaxConcurrentHashes bounds simultaneous argon2id computations;
	// further callers wait (or give up when their context ends). Default
	// 2 * runtime.NumCPU().
	MaxConcurrentHashes int
	// Logger receives ids and outcomes only; default discards.
	Logger *slog.Logger
	// SupportContact is how the account holder reaches support (an
	// address, a URL or a phone number; mail.support_contact): it ends
	// every e-mail to the account holder ("" uses the catalog's default
	// footer) and is named in the e-mails sent when failed attempts lock
	// an account or refuse a factor ("" says "our support team").
	SupportContact string
	// MailBackoff spaces the attempts at an e-mail the server did not
	// accept; zero fields take mail.DefaultBackoff's (30 s doubling to
	// 15 min, for 24 h).
	MailBackoff mail.Backoff
}

// Stats counts the side effects performed since Open: the audit of the
// exactly-once rule.
type Stats struct {
	// Disables is the number of committed Disable2FA changes.
	Disables int
	// Restores is the number of committed RestoreFactor calls.
	Restores int
	// RestoreMailsSent is the number of "SMS 2FA restored" e-mails sent.
	RestoreMailsSent int
	// Activations is the number of committed TOTP activations.
	Activations int
	// AlertsSent is the number of security-alert e-mails accepted by the
	// mail sender.
	AlertsSent int
	// ConfirmationsSent is the number of TOTP confirmation e-mails accepted
	// by the mail sender.
	ConfirmationsSent int
	// SMSSent is the number of SMS accepted by the SMS sender.
	SMSSent int
	// MailsFailed is the number of e-mails given up: refused permanently
	// (SMTP 5yz) or not accepted within the retry window.
	MailsFailed int
}

// Core is the embedded portal auth core. It is safe for concurrent use.
// Create it with Open and release the database with Close.
type Core struct {
	db     *bbolt.DB
	mail   mail.Sender
	sms    portal.SMSSender
	issuer string
	now    func() time.Time
	argon  Argon2Params
	log    *slog.Logger

	supportContact string // Options.SupportContact

	sealKey []byte // AES-256-GCM key for TOTP secrets
	macKey  []byte // HMAC-SHA256 key for SMS codes, derived from sealKey
	// dummies are PHC hashes compared against for unknown accounts, one
	// per argon2id parameter set in use; params counts the stored
	// password hashes per parameter set (see dummyFor).
	dummyMu sync.Mutex
	dummies map[string]string
	params  map[string]int

	sem         chan struct{} // bounds argon2id computations
	hashWaiting atomic.Int64  // callers waiting for sem (test instrumentation)
	hashRunning atomic.Int64  // hashes running now
	hashMax     atomic.Int64  // most hashes seen running at once
	hashHook    func()        // test hook, called while a hash slot is held

	sending sync.Map // outbox message ids being sent now

	writes *boltgroup.Committer // group commit of every read-write transaction after Open

	disables, activations, alerts, confirmations, smsSent atomic.Int64
	restores, restoreMails                                atomic.Int64
	mailFailed                                            atomic.Int64

	backoff mail.Backoff // retry spacing of unsent e-mail

	accounts *accountCache // decoded account records (accountcache.go), emptied by Close
}

var _ portal.Core = (*Core)(nil)

// Bucket names.
var (
	bAccounts    = []byte("accounts")    // account id -> accountRec
	bEmails      = []byte("emails")      // lower-cased e-mail -> account id
	bGrants      = []byte("grants")      // sha256(token) -> grantRec
	bChallenges  = []byte("challenges")  // challenge id -> challengeRec
	bEnrollments = []byte("enrollments") // enrollment id -> enrollmentRec
	bIdempotency = []byte("idempotency") // key -> idemRec
	bOutbox      = []byte("mail_outbox") // message id -> outboxRec
	bAudit       = []byte("audit")       // 8-byte unix nanos + 8-byte sequence -> AuditEntry
	bUnknown     = []byte("unknown")     // hex HMAC-SHA256(macKey, UnknownAccount id) -> accountRec with failures and lock only
)

// Open opens (creating when missing, mode 0600, parent directory 0700) the
// bbolt database at opts.Path, loads or creates the 32-byte sealing key,
// and sends any e-mail left unsent in the outbox by an earlier crash. It
// returns an error when Path, Mail or SMS is missing, when the key is not
// 32 bytes or its file cannot be read or created, ErrInvalidLabel for an
// Issuer refused in otpauth URIs, and, after 1 s, an error wrapping
// bbolt's errors.ErrTimeout ("portal database <path> is in use by another
// guidedfix process") when another process or another Core holds the file
// lock.
func Open(opts Options) (*Core, error) {
	if opts.Path == "" || opts.Mail == nil || opts.SMS == nil {
		return nil, errors.New("portal: Options.Path, Mail and SMS are required")
	}
	c := &Core{
		mail:   opts.Mail,
		sms:    opts.SMS,
		issuer: opts.Issuer,
		now:    opts.Now,
		argon:  withDefaults(opts.Argon2),
		log:    opts.Logger,

		backoff: opts.MailBackoff,

		accounts: newAccountCache(),
	}
	c.supportContact = opts.SupportContact
	if c.issuer == "" {
		c.issuer = "IP ServerOne"
	}
	if err := checkIssuer(c.issuer); err != nil {
		return nil, err
	}
	if c.now == nil {
		c.now = time.Now
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	n := opts.MaxConcurrentHashes
	if n <= 0 {
		n = 2 * runtime.NumCPU()
	}
	c.sem = make(chan struct{}, n)

	if err := os.MkdirAll(filepath.Dir(opts.Path), 0o700); err != nil {
		return nil, fmt.Errorf("portal: %w", err)
	}
	db, err := bbolt.Open(opts.Path, 0o600, boltgroup.Options(time.Second))
	if errors.Is(err, bberrors.ErrTimeout) {
		return nil, fmt.Errorf("portal database %s is in use by another guidedfix process: %w", opts.Path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("portal: open %s: %w", opts.Path, err)
	}
	err = db.Update(func(tx *bbolt.Tx) error {
		for _, b := range [][]byte{bAccounts, bEmails, bGrants, bChallenges, bEnrollments, bIdempotency, bOutbox, bAudit, bUnknown} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("portal: init %s: %w", opts.Path, err)
	}
	c.db = db
	c.writes = boltgroup.New(db)
	// The key is read (or created) only once this process holds the
	// database lock, so two processes starting on a new data directory
	// cannot race for the key file.
	err = checkKeyPresent(db, opts)
	var key []byte
	if err == nil {
		key, err = loadKey(opts.Key, opts.KeyFile)
	}
	if err == nil {
		err = c.setKeys(key)
	}
	if err == nil {
		err = c.loadParams()
	}
	if err != nil {
		c.writes.Close()
		db.Close()
		return nil, err
	}
	c.deliverPending(context.Background())
	return c, nil
}

// Close stops the group commit (after the writes already handed to it),
// then releases the database and its file lock; it returns bbolt's close
// error. Operations after Close fail.
func (c *Core) Close() error {
	c.writes.Close()
	err := c.db.Close()
	c.accounts.drop()
	return err
}

// Stats returns the side-effect counters since Open.
func (c *Core) Stats() Stats {
	return Stats{
		Disables:          int(c.disables.Load()),
		Activations:       int(c.activations.Load()),
		AlertsSent:        int(c.alerts.Load()),
		ConfirmationsSent: int(c.confirmations.Load()),
		SMSSent:           int(c.smsSent.Load()),
		Restores:          int(c.restores.Load()),
		RestoreMailsSent:  int(c.restoreMails.Load()),
		MailsFailed:       int(c.mailFailed.Load()),
	}
}

// clock reads the injected clock once, in UTC without monotonic reading.
func (c *Core) clock() time.Time { return c.now().UTC().Round(0) }

// keptError marks a business error whose transaction must still commit.
type keptError struct{ err error }

func (k *keptError) Error() string { return k.err.Error() }

// keep tells update to commit the transaction's writes and then return err.
// bbolt rolls a transaction back when its function returns an error, which
// would lose a failure counter; see update.
func keep(err error) error { return &keptError{err} }

// update runs fn in a read-write transaction, shared with the writes of
// other callers that arrive meanwhile (group commit, internal/boltgroup),
// and returns once it is committed and fsync'ed. fn returns keep(err) to
// commit its writes and still report err; any other error rolls back only
// fn's writes. fn may run more than once: it must only overwrite the
// results it leaves outside tx.
func (c *Core) update(fn func(tx *bbolt.Tx) error) error {
	var kept error
	err := c.writes.Write(func(tx *bbolt.Tx) error {
		kept = nil
		err := fn(tx)
		if k, ok := err.(*keptError); ok {
			kept = k.err
			return nil
		}
		return err
	})
	if err != nil {
		return err
	}
	return kept
}

// get decodes the JSON value at key into v (decoding copies it out of the
// transaction) and reports whether it exists.
func get(tx *bbolt.Tx, bucket []byte, key string, v any) (bool, error) {
	data := tx.Bucket(bucket).Get([]byte(key))
	if data == nil {
		return false, nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return false, fmt.Errorf("portal: corrupt %s record: %w", bucket, err)
	}
	return true, nil
}

// put stores v as JSON at key. Account records go through
// Core.putAccount instead, which also keeps them in the decoded-account
// cache.
func put(tx *bbolt.Tx, bucket []byte, key string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return tx.Bucket(bucket).Put([]byte(key), data)
}

var idEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// newID returns prefix + "_" + 128 random bits in lower-case base32.
func newID(prefix string) string {
	return prefix + "_" + strings.ToLower(idEncoding.EncodeToString(randomBytes(16)))
}

// randomBytes returns n bytes from crypto/rand (which never fails).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

// randomText returns a random string of n bytes' entropy.
func randomText(n int) string { return idEncoding.EncodeToString(randomBytes(n)) }

// checkKey validates an idempotency key.
func checkKey(key string) error {
	if key == "" || len(key) > 200 {
		return ErrInvalidKey
	}
	return nil
}
