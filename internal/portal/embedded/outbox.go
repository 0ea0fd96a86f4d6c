package embedded

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
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
	kindLocked       = "locked"  // first lock of a failure streak
	kindRefused      = "refused" // a factor reached the consecutive-failure cap
)

// outboxRec is an e-mail written in the transaction of the change it
// reports and sent after that transaction commits.
type outboxRec struct {
	Kind    string
	Message mail.Message
	Sent    bool
}

// messageID derives the stable message id from the operation and its
// idempotency key, so a repeat or a crash-recovery resend is the same
// message.
func messageID(op, key string) string {
	sum := sha256.Sum256([]byte(op + "\x00" + key))
	return "portal-" + op + "-" + hex.EncodeToString(sum[:16])
}

// enqueue writes m into the outbox; it is sent by deliver after commit.
func enqueue(tx *bbolt.Tx, kind string, m mail.Message) error {
	return put(tx, bOutbox, m.ID, outboxRec{Kind: kind, Message: m})
}

// deliver sends the outbox message id unless it was already sent or is
// being sent by another goroutine, then marks it sent. A failure leaves it
// unsent for a later repeat of the operation or the next Open. It never
// runs inside a transaction.
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
	if err != nil || !found || rec.Sent {
		return
	}
	if err := c.mail.Send(context.WithoutCancel(ctx), rec.Message); err != nil {
		c.log.WarnContext(ctx, "portal e-mail not sent, kept in outbox", "message", id, "kind", rec.Kind, "error", err.Error())
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
	c.log.InfoContext(ctx, "portal e-mail sent", "message", id, "kind", rec.Kind, "error", errText(err))
}

// deliverPending sends every unsent outbox message: the crash recovery run
// by Open.
func (c *Core) deliverPending(ctx context.Context) {
	var ids []string
	c.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bOutbox).ForEach(func(k, v []byte) error {
			var rec outboxRec
			if err := json.Unmarshal(v, &rec); err == nil && !rec.Sent {
				ids = append(ids, string(k)) // string() copies out of the tx
			}
			return nil
		})
	})
	for _, id := range ids {
		c.deliver(ctx, id)
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
	subject, text, err := mailtext.Render(kind, mailtext.Data{Holder: greeting(a), Email: a.Email, Issuer: c.issuer,
		At: at.UTC().Format("2006-01-02 15:04:05"), Phone: MaskPhone(a.Phone), Support: c.supportContact})
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

// factorNames are the factors as the owner's e-mail names them.
var factorNames = map[string]string{
	factorPassword: "password",
	factorSMS:      "SMS code",
	factorTOTP:     "authenticator app code",
	factorRecovery: "recovery code",
}

// lockMessage tells the account holder that failed attempts locked the
// account (the first lock of a streak) or, ev.capped, that the factor is
// refused until support unlocks it; it names the support contact and
// never the values tried (NIST SP 800-63B §5.2.2, RFC 4226 §7.2 "inform
// the user").
func (c *Core) lockMessage(id string, a accountRec, factor string, ev failEvent, at time.Time) mail.Message {
	contact := c.supportContact
	if contact == "" {
		contact = "our support team"
	}
	what := fmt.Sprintf(`There were %d wrong attempts in a row at the %s of your %s Customer
Portal account %s; the last at %s UTC. Further attempts are paused for a
while (the pause grows with each new series of wrong attempts).`, ev.count, factorNames[factor], c.issuer, a.Email, at.UTC().Format("2006-01-02 15:04:05"))
	subject := "Security alert: sign-in attempts on your account were paused"
	if ev.capped {
		subject = "Security alert: sign-in on your account is blocked until you contact support"
		what = fmt.Sprintf(`There were %d wrong attempts in a row at the %s of your %s Customer
Portal account %s; the last at %s UTC. To protect your account, this step
is now blocked until our support team unblocks it.`, ev.count, factorNames[factor], c.issuer, a.Email, at.UTC().Format("2006-01-02 15:04:05"))
	}
	return mail.Message{
		ID:      id,
		To:      a.Email,
		Subject: subject,
		Text: fmt.Sprintf(`Hello %s,

%s

If this was you, wait and try again later, or contact %s.
If this was not you, someone may know your password: change it in the
Customer Portal and contact %s.

%s team
`, greeting(a), what, contact, contact, c.issuer),
	}
}
