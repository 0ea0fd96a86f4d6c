package embedded

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"guidedfix/internal/mail"
	"guidedfix/internal/mailtext"
	"guidedfix/internal/portal"
)

// Operation names recorded with idempotency keys.
const (
	opSMS     = "sms_challenge"
	opDisable = "disable_2fa"
	opBegin   = "begin_totp"
	opConfirm = "confirm_totp"
	opRestore = "restore_factor"
)

// idemRec records the first successful call made with an idempotency key.
type idemRec struct {
	Op        string
	AccountID string
	Ref       string // challenge or enrollment id the call created or confirmed
	// Prev is the method an account had before Disable2FA (opDisable).
	Prev portal.Method `json:",omitempty"`
}

// lookupKey returns the record of key when it was used for op on accountID
// (found) and portal.ErrIdempotencyMismatch when it was used for another
// operation or account.
func lookupKey(tx *bbolt.Tx, key, op, accountID string) (rec idemRec, found bool, err error) {
	found, err = get(tx, bIdempotency, key, &rec)
	if err == nil && found && (rec.Op != op || rec.AccountID != accountID) {
		err = portal.ErrIdempotencyMismatch
	}
	return rec, found, err
}

// Kinds of outbox messages.
const (
	kindAlert        = "alert"
	kindConfirmation = "confirmation"
	kindRestored     = "restored"
	kindLocked       = "locked"        // first lock of a failure streak
	kindRefused      = "refused"       // a factor reached the consecutive-failure cap
	kindRecoveryUsed = "recovery_used" // a recovery code was used (NIST SP 800-63B-4 §4.2.1.1)
)

// outboxRec is an e-mail written in the transaction of the change it
// reports and sent after that transaction commits.
type outboxRec struct {
	Kind    string
	Message mail.Message
	Sent    bool
	// Attempts counts the failed attempts; FirstFail is the first of
	// them. NextAt is when the retry sweep may take the message:
	// firstSendGrace after it was queued, then the backoff after each
	// failed attempt.
	Attempts  int       `json:",omitempty"`
	FirstFail time.Time `json:",omitzero"`
	NextAt    time.Time `json:",omitzero"`
	// Failed is set when the server refused the message permanently
	// (5yz) or retries ran out; it is then never sent again. LastError
	// is the server's last answer.
	Failed    bool   `json:",omitempty"`
	LastError string `json:",omitempty"`
}

// messageID derives the stable message id from the operation and its
// idempotency key, so a repeat or a crash-recovery resend is the same
// message.
func messageID(op, key string) string {
	sum := sha256.Sum256([]byte(op + "\x00" + key))
	return "portal-" + op + "-" + hex.EncodeToString(sum[:16])
}

// firstSendGrace is how long the retry sweep leaves a new outbox message
// to the deliver that follows its transaction's commit. Without it the
// sweep could take the message first and that deliver, finding it busy,
// would return before it was tried; with it the sweep only picks up a
// message whose first deliver did not run or did not finish (a store
// error); a crash before it is covered by Open's deliverPending.
const firstSendGrace = time.Minute

// enqueue writes m into the outbox at now; it is sent by deliver after
// commit, or by the retry sweep from now + firstSendGrace.
func enqueue(tx *bbolt.Tx, now time.Time, kind string, m mail.Message) error {
	return put(tx, bOutbox, m.ID, outboxRec{Kind: kind, Message: m, NextAt: now.Add(firstSendGrace)})
}

// deliver sends the outbox message id unless it was already sent, has
// failed for good or is being sent by another goroutine, then marks it
// sent. A transient failure (4yz, no connection) leaves it unsent with the
// next attempt scheduled by the core's backoff for [Core.RetryMail]; a
// permanent one (5yz) or the end of the retry window marks it failed,
// logs it as an error and writes an audit entry. It never runs inside a
// transaction.
func (c *Core) deliver(ctx context.Context, id string) {
	if _, busy := c.sending.LoadOrStore(id, true); busy {
		return
	}
	defer c.sending.Delete(id)
	var rec outboxRec
	var found bool
	err := c.db.View(func(tx *bbolt.Tx) error {
		var err error
		found, err = get(tx, bOutbox, id, &rec)
		return err
	})
	if err != nil || !found || rec.Sent || rec.Failed {
		return
	}
	// The attempt's time is read before it is made: the backoff counts
	// from the attempt's start, however long the SMTP session takes.
	now := c.now()
	sendErr := c.mail.Send(context.WithoutCancel(ctx), rec.Message)
	if sendErr != nil {
		c.deferMail(id, rec, sendErr, now)
		return
	}
	switch rec.Kind {
	case kindAlert:
		c.alerts.Add(1)
	case kindConfirmation:
		c.confirmations.Add(1)
	case kindRestored:
		c.restoreMails.Add(1)
	}
	rec.Sent = true
	err = c.update(func(tx *bbolt.Tx) error { return put(tx, bOutbox, id, rec) })
	c.log.InfoContext(ctx, "portal e-mail sent", "message", id, "kind", rec.Kind, "attempts", rec.Attempts+1, "error", errText(err))
}

// deferMail records the failed attempt sendErr of the outbox message id:
// the next attempt after the backoff, or failed for good.
func (c *Core) deferMail(id string, rec outboxRec, sendErr error, now time.Time) {
	rec.Attempts++
	if rec.FirstFail.IsZero() {
		rec.FirstFail = now
	}
	rec.LastError = sendErr.Error()
	permanent := mail.Permanent(sendErr)
	if permanent || c.backoff.GiveUp(rec.FirstFail, now) {
		rec.Failed = true
		reason := "refused permanently by the mail server"
		if !permanent {
			reason = "not accepted within the retry window"
		}
		err := c.update(func(tx *bbolt.Tx) error {
			if err := put(tx, bOutbox, id, rec); err != nil {
				return err
			}
			return appendAudit(tx, now, accountOfMail(tx, rec), "mail_failed", rec.Kind+" e-mail "+id+" "+reason)
		})
		c.mailFailed.Add(1)
		c.log.Error("portal e-mail not delivered, given up", "message", id, "kind", rec.Kind,
			"reason", reason, "smtp_code", mail.ReplyCode(sendErr), "attempts", rec.Attempts,
			"error", sendErr.Error(), "store_error", errText(err))
		return
	}
	wait := c.backoff.Delay(rec.Attempts)
	rec.NextAt = now.Add(wait)
	err := c.update(func(tx *bbolt.Tx) error { return put(tx, bOutbox, id, rec) })
	c.log.Warn("portal e-mail not accepted, kept in outbox for a retry", "message", id, "kind", rec.Kind,
		"smtp_code", mail.ReplyCode(sendErr), "attempts", rec.Attempts, "retry_in", wait,
		"error", sendErr.Error(), "store_error", errText(err))
}

// accountOfMail returns the id of the account whose address rec goes to,
// or "" when no account has it any more.
func accountOfMail(tx *bbolt.Tx, rec outboxRec) string {
	v := tx.Bucket(bEmails).Get([]byte(strings.ToLower(rec.Message.To)))
	return string(v)
}

// deliverPending sends every outbox message that is neither sent nor
// failed, due or not: the crash recovery run by Open.
func (c *Core) deliverPending(ctx context.Context) {
	c.sendDue(ctx, time.Time{})
}

// sendDue sends the unsent, not failed outbox messages whose next attempt
// is due at now (every one when now is zero) and returns how many it
// tried.
func (c *Core) sendDue(ctx context.Context, now time.Time) int {
	var ids []string
	c.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
			var rec outboxRec
			if err := json.Unmarshal(v, &rec); err == nil && !rec.Sent && !rec.Failed &&
				(now.IsZero() || !rec.NextAt.After(now)) {
				ids = append(ids, string(k)) // string() copies out of the tx
			}
			return nil
		})
	})
	for _, id := range ids {
		if ctx.Err() != nil {
			break
		}
		c.deliver(ctx, id)
	}
	return len(ids)
}

// RetryMail tries once more every queued e-mail (security alert,
// confirmation, "SMS restored") whose backoff has run out at the core's
// current time, and returns how many it tried. Each message is sent at
// most once: a message being sent by another goroutine is skipped, and a
// sent one is marked in the same database. It returns early, without an
// error, when ctx is done.
func (c *Core) RetryMail(ctx context.Context) int {
	return c.sendDue(ctx, c.now())
}

// RunMailRetry calls [Core.RetryMail] every interval (5 s when interval
// is not positive) until ctx is done, then returns nil. serve and the
// demo run it so that mail refused for a while by the SMTP server
// (4yz, server down) is delivered while the process runs.
func (c *Core) RunMailRetry(ctx context.Context, interval time.Duration) error {
	if interval <= 0 {
		interval = 5 * time.Second
	}
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
			c.RetryMail(ctx)
		}
	}
}

// alertMessage is the security alert sent when 2FA is disabled (NIST SP
// 800-63B §6.1.2.1, OWASP ASVS 2.5.5). It says when and what to do, and
// carries no secret. Its text is mailtext's "alert".
func (c *Core) alertMessage(id string, a accountRec, at time.Time) mail.Message {
	return c.message(id, mailtext.Alert, a, at)
}

// restoredMessage tells the account holder that SMS 2FA is active again
// because the switch to an authenticator app was not finished (mailtext's
// "restored").
func (c *Core) restoredMessage(id string, a accountRec, at time.Time) mail.Message {
	return c.message(id, mailtext.Restored, a, at)
}

// confirmationMessage is the confirmation sent once TOTP is active (KB
// article step 11; mailtext's "confirmation").
func (c *Core) confirmationMessage(id string, a accountRec, at time.Time) mail.Message {
	return c.message(id, mailtext.Confirmation, a, at)
}

// message renders kind from the e-mail catalog for account a, naming the
// holder and ending with Options.SupportContact.
func (c *Core) message(id, kind string, a accountRec, at time.Time) mail.Message {
	return c.render(id, kind, a, mailtext.Data{}, at)
}

// render renders kind for account a, in the account's language
// (accountRec.Locale; English without one), with d's kind-specific fields
// (Count, Factor) and the account's: holder, e-mail, issuer, at, masked
// phone, support contact.
func (c *Core) render(id, kind string, a accountRec, d mailtext.Data, at time.Time) mail.Message {
	d.Holder, d.Email, d.Issuer, d.Phone, d.Support = greeting(a), a.Email, c.issuer, MaskPhone(a.Phone), c.supportContact
	d.At = at.UTC().Format("2006-01-02 15:04:05")
	subject, text, err := mailtext.RenderIn(a.Locale, kind, d)
	if err != nil {
		// The catalog is embedded and tested: this is a programming error.
		panic(err)
	}
	return mail.Message{ID: id, To: a.Email, Subject: subject, Text: text}
}

func greeting(a accountRec) string {
	if a.Name != "" {
		return a.Name
	}
	return a.Email
}

// lockMessage tells the account holder that failed attempts locked the
// account (the first lock of a streak) or, ev.capped, that the factor is
// refused until support unlocks it; it names the support contact and
// never the values tried (NIST SP 800-63B §5.2.2, RFC 4226 §7.2 "inform
// the user").
func (c *Core) lockMessage(id string, a accountRec, factor string, ev failEvent, at time.Time) mail.Message {
	kind := mailtext.Paused
	if ev.capped {
		kind = mailtext.Blocked
	}
	return c.render(id, kind, a, mailtext.Data{Count: ev.count, Factor: factor}, at)
}

// recoveryUsedMessage is the account-recovery notification of NIST SP
// 800-63B-4 §4.2.1.1 and §4.6: a recovery code of a (an accountRec after
// the use) was used at at; left codes remain. It names neither the code
// nor any secret, and says whom to contact when it was not the holder.
func (c *Core) recoveryUsedMessage(id string, a accountRec, left int, at time.Time) mail.Message {
	return c.render(id, mailtext.RecoveryUsed, a, mailtext.Data{Count: left}, at)
}
