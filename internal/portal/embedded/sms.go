package embedded

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"

	"go.etcd.io/bbolt"

	"guidedfix/internal/portal"
)

const (
	smsCodeTTL      = 5 * time.Minute
	smsCodeAttempts = 3
	maxSMSPerWindow = 5 // challenges per account within failureWindow
)

// challengeRec is a stored SMS challenge; the code is kept only as
// HMAC-SHA256(macKey, ID || code).
type challengeRec struct {
	ID        string
	AccountID string
	MAC       []byte `json:",omitempty"`
	ExpiresAt time.Time
	Attempts  int  // wrong codes so far
	Void      bool // replaced, used up or consumed
	// Unsent is true from the commit of the challenge until the SMS
	// sender accepted its code. A challenge left unsent (the process died
	// in between) gets a fresh code and its SMS when its key is repeated.
	// (Records written before this field existed read as sent.)
	Unsent bool `json:",omitempty"`
}

func (ch challengeRec) public(phone string) portal.Challenge {
	return portal.Challenge{ID: ch.ID, MaskedPhone: MaskPhone(phone), ExpiresAt: ch.ExpiresAt, AttemptsLeft: smsCodeAttempts - ch.Attempts}
}

// randomCode returns a uniformly random 6-digit code from crypto/rand,
// leading zeros kept.
func randomCode() string {
	n, err := rand.Int(rand.Reader, big.NewInt(1_000_000))
	if err != nil {
		panic(err) // crypto/rand does not fail
	}
	return fmt.Sprintf("%06d", n.Int64())
}

// SendSMSChallenge sends a fresh uniformly random 6-digit code to the
// account's phone, valid 5 minutes and 3 tries (OWASP ASVS 2.7.2), replacing
// any earlier challenge, and returns the challenge. The SMS leaves after the
// challenge is committed; the challenge is then marked sent. It needs an
// unexpired grant (portal.ErrBadGrant for an unknown token,
// portal.ErrExpired) and portal.MethodSMS
// (*portal.WrongStateError). An account may get 5 challenges per 15
// minutes; the 6th returns *portal.LockedError with RetryAfter when the
// oldest of them leaves the window; a locked account gets its lock error. A
// repeated key returns the first challenge (current AttemptsLeft) without a
// second SMS — unless the first call stopped (a crash) between committing
// the challenge and the SMS sender accepting it: then the same challenge
// gets a fresh code, sent now, so that no retried step leaves the user
// without an SMS. A key used for another operation or account returns
// portal.ErrIdempotencyMismatch. When the SMS sender fails the challenge is
// voided, the key forgotten, and the error returned.
func (c *Core) SendSMSChallenge(ctx context.Context, grantToken, key string) (portal.Challenge, error) {
	if err := checkKey(key); err != nil {
		return portal.Challenge{}, err
	}
	now := c.clock()
	code := randomCode()
	ch := challengeRec{ID: newID("chl"), ExpiresAt: now.Add(smsCodeTTL), Unsent: true}
	ch.MAC = c.codeMAC(ch.ID, code)
	var phone string
	repeated, resend := false, false
	// The challenge being sent by this process: a concurrent repeat of the
	// key must not send it again.
	fresh := "sms:" + ch.ID
	c.sending.Store(fresh, true)
	defer c.sending.Delete(fresh)
	// claim marks the committed challenge this call re-sends, so that a
	// run of the function repeated by the group commit still owns it.
	claim := new(byte)
	claimed := ""
	err := c.update(func(tx *bbolt.Tx) error {
		repeated, resend = false, false
		g, err := loadGrant(tx, grantToken)
		if err != nil {
			return err
		}
		a, err := c.loadAccount(tx, g.AccountID)
		if err != nil {
			return err
		}
		phone = a.Phone
		rec, found, err := lookupKey(tx, key, opSMS, a.ID)
		if err != nil {
			return err
		}
		if found {
			repeated, resend, ch = true, false, challengeRec{}
			if _, err := get(tx, bChallenges, rec.Ref, &ch); err != nil {
				return err
			}
			owner, busy := c.sending.Load("sms:" + ch.ID)
			if !ch.Unsent || ch.Void || !now.Before(ch.ExpiresAt) || (busy && owner != claim) {
				return nil
			}
			// Committed but never sent: a fresh code for the same
			// challenge (the lost one was never seen).
			claimed = "sms:" + ch.ID
			c.sending.Store(claimed, claim)
			resend, ch.MAC = true, c.codeMAC(ch.ID, code)
			return put(tx, bChallenges, ch.ID, ch)
		}
		if !now.Before(g.ExpiresAt) {
			return portal.ErrExpired
		}
		if err := a.gate(now, c.sourceKey(portal.SourceFromContext(ctx)), factorSMS, false); err != nil {
			return err
		}
		if a.Method != portal.MethodSMS {
			return &portal.WrongStateError{Method: a.Method}
		}
		if a.SMSSent = recent(a.SMSSent, now); len(a.SMSSent) >= maxSMSPerWindow {
			return &portal.LockedError{RetryAfter: a.SMSSent[0].Add(failureWindow), SMSLimit: true}
		}
		if err := voidChallenge(tx, a.Challenge); err != nil {
			return err
		}
		ch.AccountID = a.ID
		a.Challenge = ch.ID
		a.SMSSent = append(a.SMSSent, now)
		if err := c.putAccount(tx, a); err != nil {
			return err
		}
		if err := put(tx, bChallenges, ch.ID, ch); err != nil {
			return err
		}
		return put(tx, bIdempotency, key, idemRec{Op: opSMS, AccountID: a.ID, Ref: ch.ID})
	})
	if claimed != "" {
		defer c.sending.Delete(claimed)
	}
	if err != nil || (repeated && !resend) {
		c.log.InfoContext(ctx, "portal sms challenge", "challenge", ch.ID, "repeated", repeated, "error", errText(err))
		return ch.public(phone), err
	}

	text := fmt.Sprintf("%s: your verification code is %s. It expires in 5 minutes. Never share it.", c.issuer, code)
	if err := c.sms.SendSMS(ctx, phone, text); err != nil {
		c.log.WarnContext(ctx, "portal sms not sent, challenge voided", "challenge", ch.ID, "error", err.Error())
		c.update(func(tx *bbolt.Tx) error {
			if err := voidChallenge(tx, ch.ID); err != nil {
				return err
			}
			return tx.Bucket(bIdempotency).Delete([]byte(key))
		})
		return portal.Challenge{}, fmt.Errorf("portal: sending the SMS: %w", err)
	}
	c.smsSent.Add(1)
	err = c.update(func(tx *bbolt.Tx) error {
		var cur challengeRec
		if ok, err := get(tx, bChallenges, ch.ID, &cur); !ok || err != nil {
			return err
		}
		cur.Unsent = false
		return put(tx, bChallenges, ch.ID, cur)
	})
	c.log.InfoContext(ctx, "portal sms challenge", "challenge", ch.ID, "account", ch.AccountID, "sent", true, "resent", resend, "error", errText(err))
	return ch.public(phone), nil
}

// voidChallenge voids the challenge id (if any) and erases its MAC. A
// challenge already void without a MAC (consumed by VerifySMSChallenge,
// the usual case when an enrollment is confirmed) is left as it is: the
// same record written again would only cost an encode and a dirty page
// in the commit.
func voidChallenge(tx *bbolt.Tx, id string) error {
	var ch challengeRec
	if ok, err := get(tx, bChallenges, id, &ch); !ok || err != nil {
		return err
	}
	if ch.Void && ch.MAC == nil {
		return nil
	}
	ch.Void, ch.MAC = true, nil
	return put(tx, bChallenges, id, ch)
}

// VerifySMSChallenge checks code against the challenge after
// portal.NormalizeCode (malformed: portal.ErrCodeFormat, nothing counted),
// comparing HMACs in constant time. On success the challenge is consumed
// and the grant becomes portal.LevelElevated, expiring 10 minutes from now
// (NIST SP 800-63B §6.1.2.1 re-authentication); the same token is returned.
// A wrong code returns *portal.BadCodeError with the tries left; the 3rd
// wrong code, or an expired or void challenge, returns portal.ErrExpired.
// Wrong codes also count towards the limits of throttle.go (the source's
// throttle, the account lock, the cap of 100 consecutive wrong SMS codes;
// *portal.LockedError). A challenge sent before the account's factor
// changed (or replaced since) returns portal.ErrExpired. It returns portal.ErrBadGrant
// for an unknown grant or a challenge of another account, portal.ErrExpired
// for an expired grant and portal.ErrNotFound for an unknown challenge.
func (c *Core) VerifySMSChallenge(ctx context.Context, grantToken, challengeID, code string) (portal.Grant, error) {
	code, ok := portal.NormalizeCode(code)
	if !ok {
		return portal.Grant{}, portal.ErrCodeFormat
	}
	now := c.clock()
	src := c.sourceKey(portal.SourceFromContext(ctx))
	var g grantRec
	mailID := ""
	err := c.update(func(tx *bbolt.Tx) error {
		var err error
		if g, err = loadGrant(tx, grantToken); err != nil {
			return err
		}
		if !now.Before(g.ExpiresAt) {
			return portal.ErrExpired
		}
		a, err := c.loadAccount(tx, g.AccountID)
		if err != nil {
			return err
		}
		if err := a.gate(now, src, factorSMS, false); err != nil {
			c.logRefused(a.ID, factorSMS, err)
			return err
		}
		var ch challengeRec
		if ok, err := get(tx, bChallenges, challengeID, &ch); err != nil {
			return err
		} else if !ok {
			return portal.ErrNotFound
		}
		if ch.AccountID != a.ID {
			return portal.ErrBadGrant
		}
		if ch.Void || !now.Before(ch.ExpiresAt) {
			return portal.ErrExpired
		}
		if a.Method != portal.MethodSMS || a.Challenge != ch.ID {
			// The factor changed since the code was sent (issue 11 item
			// 7): the challenge proves nothing any more.
			if err := voidChallenge(tx, ch.ID); err != nil {
				return err
			}
			return keep(portal.ErrExpired)
		}
		if !hmac.Equal(c.codeMAC(ch.ID, code), ch.MAC) {
			ch.Attempts++
			var result error = &portal.BadCodeError{AttemptsLeft: smsCodeAttempts - ch.Attempts}
			if ch.Attempts >= smsCodeAttempts {
				ch.Void, ch.MAC = true, nil
				result = portal.ErrExpired
			}
			lockErr, ev := a.fail(now, src, factorSMS)
			if lockErr != nil {
				ch.Void, ch.MAC = true, nil
				result = lockErr
			} else if bad, ok := result.(*portal.BadCodeError); ok {
				// Say the tighter limit: the challenge's tries or the
				// failures before this source's throttle or the lock.
				bad.AttemptsLeft = min(bad.AttemptsLeft, a.failuresLeft(now, src))
			}
			if err := put(tx, bChallenges, ch.ID, ch); err != nil {
				return err
			}
			if err := c.putAccount(tx, a); err != nil {
				return err
			}
			if mailID, err = c.recordFailure(tx, now, a, factorSMS, ev); err != nil {
				return err
			}
			return keep(result)
		}
		ch.Void, ch.MAC = true, nil
		a.succeed(src, factorSMS)
		g.Level, g.ExpiresAt, g.ProvedAt, g.Source = portal.LevelElevated, now.Add(elevatedGrantTTL), now, src
		if err := put(tx, bChallenges, ch.ID, ch); err != nil {
			return err
		}
		if err := c.putAccount(tx, a); err != nil {
			return err
		}
		return put(tx, bGrants, grantKey(grantToken), g)
	})
	if mailID != "" {
		c.deliver(ctx, mailID)
	}
	c.log.InfoContext(ctx, "portal sms verify", "challenge", challengeID, "ok", err == nil, "error", errText(err))
	if err != nil {
		return portal.Grant{}, err
	}
	return portal.Grant{Token: grantToken, AccountID: g.AccountID, Level: g.Level, ExpiresAt: g.ExpiresAt}, nil
}

// FileSMS is the demo's phone: a portal.SMSSender that writes each SMS as a
// file Dir/<UTC timestamp>-<random>.txt (mode 0600, Dir created 0700)
// holding "To: <phone>\n\n<text>\n". Each file appears atomically (written
// to a temporary file, then renamed).
type FileSMS struct {
	// Dir is the outbox directory.
	Dir string
}

// SendSMS writes one message file for phone (E.164) holding text; ctx is
// not used. It returns the file system error, if any.
func (f FileSMS) SendSMS(ctx context.Context, phone, text string) error {
	if err := os.MkdirAll(f.Dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(f.Dir, ".sms-*.tmp") // created 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	_, err = fmt.Fprintf(tmp, "To: %s\n\n%s\n", phone, text)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	name := time.Now().UTC().Format("20060102T150405.000000000Z") + "-" + hex.EncodeToString(randomBytes(4)) + ".txt"
	return os.Rename(tmp.Name(), filepath.Join(f.Dir, name))
}
