package embedded

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.etcd.io/bbolt"
	"golang.org/x/crypto/argon2"

	"guidedfix/internal/portal"
)

// Limits and lifetimes.
const (
	passwordGrantTTL = 5 * time.Minute  // LevelPassword grant
	elevatedGrantTTL = 10 * time.Minute // LevelElevated grant
	failureWindow    = 15 * time.Minute // failures counted within (see throttle.go for the limits)
	proofLife        = 20 * time.Minute // how long after its proof a grant can be renewed by Reauthenticate (the flow's bound)
)

func withDefaults(p Argon2Params) Argon2Params {
	d := DefaultArgon2
	if p.Memory == 0 {
		p.Memory = d.Memory
	}
	if p.Time == 0 {
		p.Time = d.Time
	}
	if p.Threads == 0 {
		p.Threads = d.Threads
	}
	if p.KeyLen == 0 {
		p.KeyLen = d.KeyLen
	}
	if p.SaltLen == 0 {
		p.SaltLen = d.SaltLen
	}
	return p
}

// argon2id runs one argon2id computation (RFC 9106) while holding a slot of
// the semaphore that bounds concurrent hashes. It returns ctx's error when
// the context ends before a slot frees up.
func (c *Core) argon2id(ctx context.Context, password string, salt []byte, p Argon2Params) ([]byte, error) {
	c.hashWaiting.Add(1)
	select {
	case c.sem <- struct{}{}:
		c.hashWaiting.Add(-1)
	case <-ctx.Done():
		c.hashWaiting.Add(-1)
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	running := c.hashRunning.Add(1)
	defer c.hashRunning.Add(-1)
	for {
		m := c.hashMax.Load()
		if running <= m || c.hashMax.CompareAndSwap(m, running) {
			break
		}
	}
	if c.hashHook != nil {
		c.hashHook()
	}
	return argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, p.KeyLen), nil
}

// hashPassword returns the PHC string of a fresh argon2id hash of password:
// $argon2id$v=19$m=<KiB>,t=<passes>,p=<threads>$<salt>$<hash> with salt and
// hash in unpadded standard base64.
func (c *Core) hashPassword(ctx context.Context, password string) (string, error) {
	salt := randomBytes(int(c.argon.SaltLen))
	sum, err := c.argon2id(ctx, password, salt, c.argon)
	if err != nil {
		return "", err
	}
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		c.argon.Memory, c.argon.Time, c.argon.Threads, b64.EncodeToString(salt), b64.EncodeToString(sum)), nil
}

// checkPassword reports whether password matches the PHC string phc, using
// the parameters stored in it and a constant-time comparison.
func (c *Core) checkPassword(ctx context.Context, phc, password string) (bool, error) {
	p, salt, want, err := parsePHC(phc)
	if err != nil {
		return false, err
	}
	got, err := c.argon2id(ctx, password, salt, p)
	if err != nil {
		return false, err
	}
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}

// parsePHC splits an argon2id PHC string into its parameters, salt and hash.
func parsePHC(phc string) (p Argon2Params, salt, sum []byte, err error) {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[1] != "argon2id" || parts[2] != fmt.Sprintf("v=%d", argon2.Version) {
		return p, nil, nil, errors.New("portal: unsupported password hash format")
	}
	if _, err = fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("portal: password hash parameters: %w", err)
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil {
		return p, nil, nil, fmt.Errorf("portal: password hash salt: %w", err)
	}
	if sum, err = b64.DecodeString(parts[5]); err != nil {
		return p, nil, nil, fmt.Errorf("portal: password hash: %w", err)
	}
	if p.Time == 0 || p.Threads == 0 || len(sum) == 0 {
		return p, nil, nil, errors.New("portal: invalid password hash parameters")
	}
	p.KeyLen, p.SaltLen = uint32(len(sum)), uint32(len(salt))
	return p, salt, sum, nil
}

// grantRec is a stored grant; the bucket key is sha256(token), never the
// token itself.
type grantRec struct {
	AccountID string
	Level     portal.GrantLevel
	ExpiresAt time.Time
	// ProvedAt is when the proof behind Level was given: the password
	// check of a LevelPassword grant, the SMS code of a LevelElevated one.
	// Reauthenticate carries it over, so that renewals never stretch a
	// proof beyond proofLife.
	ProvedAt time.Time `json:",omitzero"`
	// Source is the sourceKey of the platform user who gave the proof.
	Source string `json:",omitempty"`
}

func grantKey(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// loadGrant returns the grant stored for token, or ErrBadGrant.
func loadGrant(tx *bbolt.Tx, token string) (grantRec, error) {
	var g grantRec
	ok, err := get(tx, bGrants, grantKey(token), &g)
	if err == nil && !ok {
		err = portal.ErrBadGrant
	}
	return g, err
}

// VerifyPassword checks password against the account's argon2id hash and
// returns a LevelPassword grant valid 5 minutes: its Token is 32 random
// bytes in base64url, of which only the SHA-256 is stored. A wrong password,
// an unknown account or an empty accountID returns portal.ErrBadPassword
// after the same one hash computation (no account enumeration by timing,
// OWASP ASVS 5 6.3.8). Wrong passwords and wrong second-factor codes count
// as throttle.go says (NIST SP 800-63B §5.2.2): the source's 5th failure
// within 15 minutes throttles that source, the account's 20th locks the
// account, each returning *portal.LockedError for every attempt until it
// ends, even with the right password; 100 wrong passwords in a row refuse
// the password until Unlock. A hash made with other parameters than the
// configured ones is re-made at a successful check. Success clears the
// password's consecutive count. ctx bounds the wait for a hashing slot.
func (c *Core) VerifyPassword(ctx context.Context, accountID, password string) (portal.Grant, error) {
	return c.verifyPassword(ctx, accountID, password, portal.LevelPassword, time.Time{}, "", false)
}

// Reauthenticate implements portal.Core.Reauthenticate: the password of
// the account of grantToken is checked like VerifyPassword's (the same
// counters and lock), and on success a new grant is issued at the old
// one's level with the same proof time, valid 5 minutes but never past
// proof time + 20 minutes. The old grant is left as it is (it lapses on its
// own), so a call whose answer was lost can be made again. It returns
// portal.ErrBadGrant for an unknown token (also one revoked by a factor
// change or a reset) and portal.ErrExpired when the proof behind the grant
// is 20 minutes old or more (or the grant predates proof times), before
// any hashing.
func (c *Core) Reauthenticate(ctx context.Context, grantToken, password string) (portal.Grant, error) {
	now := c.clock()
	var g grantRec
	err := c.db.View(func(tx *bbolt.Tx) error {
		var err error
		g, err = loadGrant(tx, grantToken)
		return err
	})
	if err != nil {
		return portal.Grant{}, err
	}
	if g.ProvedAt.IsZero() || !now.Before(g.ProvedAt.Add(proofLife)) {
		return portal.Grant{}, portal.ErrExpired
	}
	// The holder of an elevated grant is past the SMS proof of a switch:
	// the account-wide lock, which other sources' failures may cause, does
	// not stop the same source's "password again" (its own throttle and
	// the cap do).
	src := c.sourceKey(portal.SourceFromContext(ctx))
	own := g.Level == portal.LevelElevated && g.Source == src
	return c.verifyPassword(ctx, g.AccountID, password, g.Level, g.ProvedAt, grantKey(grantToken), own)
}

// verifyPassword checks password for accountID and issues a grant of
// level, valid passwordGrantTTL: a fresh proof when provedAt is zero, else
// a renewal of the proof given at provedAt (ending by provedAt +
// proofLife) of the grant stored under renews. The hash runs outside any
// transaction, so the transaction that issues the grant checks again that
// the password hash is the one checked (portal.ErrBadPassword, counting
// nothing, after a reset meanwhile) and that the renewed grant still
// exists (portal.ErrBadGrant after a factor change voided it meanwhile).
func (c *Core) verifyPassword(ctx context.Context, accountID, password string, level portal.GrantLevel, provedAt time.Time, renews string, own bool) (portal.Grant, error) {
	now := c.clock()
	src := c.sourceKey(portal.SourceFromContext(ctx))
	acct, err := c.viewAccount(accountID)
	if err != nil && !errors.Is(err, portal.ErrNotFound) {
		return portal.Grant{}, err
	}
	if err != nil {
		return portal.Grant{}, c.failUnknown(ctx, accountID, password, now, src)
	}
	if err := acct.gate(now, src, factorPassword, own); err != nil {
		c.logRefused(accountID, factorPassword, err)
		return portal.Grant{}, err
	}
	checked := acct.PasswordHash
	ok, err := c.checkPassword(ctx, checked, password)
	if err != nil {
		return portal.Grant{}, err
	}
	// A hash made with other parameters than the configured ones is
	// replaced at this successful check (OWASP Password Storage Cheat
	// Sheet, "upgrading the work factor").
	rehash := ""
	if ok && c.outdated(checked) {
		if rehash, err = c.hashPassword(ctx, password); err != nil {
			return portal.Grant{}, err
		}
	}

	grant := portal.Grant{
		Token:     base64.RawURLEncoding.EncodeToString(randomBytes(32)),
		AccountID: accountID,
		Level:     level,
		ExpiresAt: now.Add(passwordGrantTTL),
	}
	renewal := !provedAt.IsZero()
	if !renewal {
		provedAt = now
	} else if end := provedAt.Add(proofLife); grant.ExpiresAt.After(end) {
		grant.ExpiresAt = end
	}
	mailID := ""
	err = c.update(func(tx *bbolt.Tx) error {
		acct, err := c.loadAccount(tx, accountID)
		if err != nil {
			return err
		}
		if err := acct.gate(now, src, factorPassword, own); err != nil {
			return err // locked meanwhile by concurrent failures
		}
		if acct.PasswordHash != checked {
			return portal.ErrBadPassword // reset while the hash ran
		}
		if renews != "" && tx.Bucket(bGrants).Get([]byte(renews)) == nil {
			return portal.ErrBadGrant // voided while the hash ran
		}
		if !ok {
			lockErr, ev := acct.fail(now, src, factorPassword)
			if err := c.putAccount(tx, acct); err != nil {
				return err
			}
			if mailID, err = c.recordFailure(tx, now, acct, factorPassword, ev); err != nil {
				return err
			}
			if lockErr != nil {
				return keep(lockErr)
			}
			return keep(portal.ErrBadPassword)
		}
		acct.succeed(src, factorPassword)
		if rehash != "" {
			acct.PasswordHash = rehash
		}
		if err := c.putAccount(tx, acct); err != nil {
			return err
		}
		return put(tx, bGrants, grantKey(grant.Token), grantRec{grant.AccountID, grant.Level, grant.ExpiresAt, provedAt, src})
	})
	if rehash != "" && err == nil {
		c.countParams(checked, -1)
		c.countParams(rehash, +1)
	}
	if mailID != "" {
		c.deliver(ctx, mailID)
	}
	c.log.InfoContext(ctx, "portal password check", "account", accountID, "renewal", renewal, "level", level, "ok", err == nil, "error", errText(err))
	if err != nil {
		return portal.Grant{}, err
	}
	return grant, nil
}

// errText is err's message for logs, "" for nil. Errors never carry secrets.
func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// UnknownAccount implements portal.Core.UnknownAccount: "unknown:" + hex
// HMAC-SHA256 (under a key derived from the portal key) of the trimmed,
// lower-cased e-mail.
func (c *Core) UnknownAccount(email string) string {
	m := hmac.New(sha256.New, c.macKey)
	m.Write([]byte("unknown-email\x00" + lookupForm(email)))
	return "unknown:" + hex.EncodeToString(m.Sum(nil))
}

// failUnknown answers a password for an accountID with no account as a
// wrong one, after the same work as for a real account: a locked one
// answers *portal.LockedError at once, any other after one hash. The
// failures of a non-empty id (UnknownAccount) count and lock like
// an account's, under a keyed hash of the id, so that the lock does not
// tell a real e-mail from an unknown one.
func (c *Core) failUnknown(ctx context.Context, accountID, password string, now time.Time, src string) error {
	var key string
	var rec accountRec
	if accountID != "" {
		m := hmac.New(sha256.New, c.macKey)
		m.Write([]byte(accountID))
		key = hex.EncodeToString(m.Sum(nil))
		err := c.db.View(func(tx *bbolt.Tx) error {
			_, err := get(tx, bUnknown, key, &rec)
			return err
		})
		if err != nil {
			return err
		}
		if err := rec.gate(now, src, factorPassword, false); err != nil {
			c.logRefused(accountID, factorPassword, err)
			return err
		}
	}
	if _, err := c.checkPassword(ctx, c.dummyFor(accountID), password); err != nil {
		return err
	}
	if key == "" {
		return portal.ErrBadPassword
	}
	return c.update(func(tx *bbolt.Tx) error {
		var rec accountRec
		if _, err := get(tx, bUnknown, key, &rec); err != nil {
			return err
		}
		if err := rec.gate(now, src, factorPassword, false); err != nil {
			return err
		}
		lockErr, ev := rec.fail(now, src, factorPassword)
		if err := put(tx, bUnknown, key, rec); err != nil {
			return err
		}
		rec.ID = accountID // audited under the opaque id; no e-mail (no owner)
		if _, err := c.recordFailure(tx, now, rec, factorPassword, ev); err != nil {
			return err
		}
		if err := pruneUnknown(tx, now, key); err != nil {
			return err
		}
		if lockErr != nil {
			return keep(lockErr)
		}
		return keep(portal.ErrBadPassword)
	})
}

// pruneScan is how many records of the unknown bucket each new failure
// looks at for pruning.
const pruneScan = 32

// pruneUnknown deletes, among pruneScan records of the unknown bucket
// from a random key on (wrapping around), those other than keep with no
// lock and no failure left at now. Each failure adds at most one record
// and looks at pruneScan, so the bucket stays near the number of
// addresses tried in the last 15 minutes however many were tried before.
func pruneUnknown(tx *bbolt.Tx, now time.Time, keep string) error {
	b := tx.Bucket(bUnknown)
	var stale [][]byte
	cur := b.Cursor()
	k, v := cur.Seek([]byte(hex.EncodeToString(randomBytes(32))))
	if k == nil {
		k, v = cur.First()
	}
	first := string(k)
	next := func() {
		if k, v = cur.Next(); k == nil {
			k, v = cur.First()
		}
	}
	for n := 0; k != nil && n < pruneScan; n++ {
		if n > 0 && string(k) == first {
			break // went all the way round
		}
		if string(k) != keep {
			var rec accountRec
			if err := json.Unmarshal(v, &rec); err != nil {
				return err
			}
			if rec.lockError(now) == nil && len(recent(rec.Failures, now)) == 0 && now.Sub(rec.LockedUntil) > maxLock {
				stale = append(stale, append([]byte(nil), k...))
			}
		}
		next()
	}
	for _, k := range stale {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}
