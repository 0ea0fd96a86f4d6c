package embedded

import (
	"context"

	"go.etcd.io/bbolt"

	"guidedfix/internal/portal"
)

// Disable2FA turns the account's second factor off (method none, any
// active TOTP secret erased) and e-mails the security alert "2FA was
// disabled on your account" (NIST SP 800-63B §6.1.2.1 notification, OWASP
// ASVS 2.5.5). The change, the idempotency record and the alert (in the
// mail_outbox bucket) are written in one transaction; the alert is sent
// after it commits. It needs an unexpired LevelElevated grant
// (portal.ErrBadGrant, portal.ErrExpired, portal.ErrNeedElevation; OWASP
// ASVS 5 7.5.1) and an account whose method is not none
// (*portal.WrongStateError). A repeated key returns nil without a second
// e-mail (it only retries an alert that could not be sent); a key used for
// another operation or account returns portal.ErrIdempotencyMismatch.
func (c *Core) Disable2FA(ctx context.Context, grantToken, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	now := c.clock()
	msgID := messageID(opDisable, key)
	repeated := false
	var accountID string
	err := c.update(func(tx *bbolt.Tx) error {
		g, err := loadGrant(tx, grantToken)
		if err != nil {
			return err
		}
		accountID = g.AccountID
		_, found, err := lookupKey(tx, key, opDisable, g.AccountID)
		if err != nil || found {
			repeated = found
			return err
		}
		if !now.Before(g.ExpiresAt) {
			return portal.ErrExpired
		}
		if g.Level != portal.LevelElevated {
			return portal.ErrNeedElevation
		}
		a, err := c.loadAccount(tx, g.AccountID)
		if err != nil {
			return err
		}
		if a.Method == portal.MethodNone {
			return &portal.WrongStateError{Method: a.Method}
		}
		prev := a.Method
		a.Method, a.TOTPSecret, a.SwitchOpen = portal.MethodNone, nil, true
		adoptLocale(ctx, &a)
		if err := c.putAccount(tx, a); err != nil {
			return err
		}
		if err := enqueue(tx, now, kindAlert, c.alertMessage(msgID, a, now)); err != nil {
			return err
		}
		if err := appendAudit(tx, now, a.ID, "2fa_disabled", string(prev)+" -> none"); err != nil {
			return err
		}
		return put(tx, bIdempotency, key, idemRec{Op: opDisable, AccountID: a.ID, Prev: prev})
	})
	c.log.InfoContext(ctx, "portal 2fa disable", "account", accountID, "repeated", repeated, "error", errText(err))
	if err != nil {
		return err
	}
	if !repeated {
		c.disables.Add(1)
	}
	c.deliver(ctx, msgID)
	return nil
}

// RestoreFactor implements portal.Core.RestoreFactor: in one transaction
// it checks the Disable2FA record of disableKey, gives the account its SMS
// method back, voids a pending enrollment, appends an audit entry and
// queues the "SMS 2FA restored" e-mail, sent after commit. A repeated key
// returns nil without a second e-mail.
func (c *Core) RestoreFactor(ctx context.Context, disableKey, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	now := c.clock()
	msgID := messageID(opRestore, key)
	repeated := false
	var accountID string
	err := c.update(func(tx *bbolt.Tx) error {
		var dis idemRec
		found, err := get(tx, bIdempotency, disableKey, &dis)
		if err != nil {
			return err
		}
		if !found || dis.Op != opDisable {
			return portal.ErrNotFound
		}
		accountID = dis.AccountID
		if _, found, err := lookupKey(tx, key, opRestore, dis.AccountID); err != nil || found {
			repeated = found
			return err
		}
		a, err := c.loadAccount(tx, dis.AccountID)
		if err != nil {
			return err
		}
		if a.Method != portal.MethodNone || dis.Prev != portal.MethodSMS || a.Phone == "" {
			return &portal.WrongStateError{Method: a.Method}
		}
		if a.Enrollment != "" {
			if err := voidEnrollment(tx, a.Enrollment); err != nil {
				return err
			}
			a.Enrollment = ""
		}
		a.Method, a.SwitchOpen = portal.MethodSMS, false
		// Grants issued for the abandoned switch end with it.
		if err := revokeGrants(tx, a.ID); err != nil {
			return err
		}
		if err := c.putAccount(tx, a); err != nil {
			return err
		}
		if err := enqueue(tx, now, kindRestored, c.restoredMessage(msgID, a, now)); err != nil {
			return err
		}
		if err := appendAudit(tx, now, a.ID, "2fa_restored", "none -> sms (switch not finished)"); err != nil {
			return err
		}
		return put(tx, bIdempotency, key, idemRec{Op: opRestore, AccountID: a.ID, Ref: disableKey})
	})
	c.log.InfoContext(ctx, "portal 2fa restore", "account", accountID, "repeated", repeated, "error", errText(err))
	if err != nil {
		return err
	}
	if !repeated {
		c.restores.Add(1)
	}
	c.deliver(ctx, msgID)
	return nil
}
