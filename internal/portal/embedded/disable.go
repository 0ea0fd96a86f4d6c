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
		a, err := loadAccount(tx, g.AccountID)
		if err != nil {
			return err
		}
		if a.Method == portal.MethodNone {
			return &portal.WrongStateError{Method: a.Method}
		}
		a.Method, a.TOTPSecret = portal.MethodNone, nil
		if err := put(tx, bAccounts, a.ID, a); err != nil {
			return err
		}
		if err := enqueue(tx, kindAlert, c.alertMessage(msgID, a, now)); err != nil {
			return err
		}
		return put(tx, bIdempotency, key, idemRec{Op: opDisable, AccountID: a.ID})
	})
	c.log.Info("portal 2fa disable", "account", accountID, "repeated", repeated, "error", errText(err))
	if err != nil {
		return err
	}
	if !repeated {
		c.disables.Add(1)
	}
	c.deliver(ctx, msgID)
	return nil
}
