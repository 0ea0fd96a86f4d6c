// Package newphone is the guided fix that moves a Customer Portal
// account's authenticator app (TOTP, RFC 6238) to a new phone: verify the
// identity with the password, prove the current factor — a code of the
// current app, or, when the old phone is lost, a recovery code (spent and,
// as NIST SP 800-63B-4 §4.2.1.1 asks, the set replaced) — then scan a new
// QR code and verify the new app's first code; the core replaces the
// secret in one transaction, so the old app stops working only then and
// the account is never without a second factor.
//
// The flow knows the bot engine and the portal contract only. It keeps no
// password, code, recovery code or TOTP secret in the session: the QR
// code, the manual key and the new recovery codes are rendered from the
// core's answer and sent, never stored.
package newphone

import (
	"context"
	"embed"
	"io/fs"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

//go:embed locales/*.yaml
var messages embed.FS

// Name is the flow's stable name, stored in sessions.
const Name = "newphone"

// Commands are the commands (without "/") that start the flow: /newphone
// in Telegram, "newphone" in Slack.
var Commands = []string{"newphone"}

// SecretRecoveryCode is the secret field of the recovery-code prompt.
const SecretRecoveryCode bot.SecretField = "recovery_code"

// Core is the part of portal.Core the flow uses (declared here, so that
// new core operations elsewhere do not concern it).
type Core interface {
	LookupAccount(ctx context.Context, email string) (portal.Account, error)
	Account(ctx context.Context, accountID string) (portal.Account, error)
	SecurityStatus(ctx context.Context, accountID string) (portal.Status, error)
	UnknownAccount(email string) string
	VerifyPassword(ctx context.Context, accountID, password string) (portal.Grant, error)
	ElevateWithTOTP(ctx context.Context, grantToken, code string) (portal.Grant, error)
	ElevateWithRecoveryCode(ctx context.Context, grantToken, code, key string) (portal.RecoveryElevation, error)
	BeginTOTPReplacement(ctx context.Context, grantToken, key string) (portal.Enrollment, error)
	ConfirmTOTPReplacement(ctx context.Context, enrollmentID, code, key string) error
	CancelTOTPEnrollment(ctx context.Context, enrollmentID string) error
}

// Handoffs redeems hand-off tokens: a support agent started this guided fix
// for a customer's account and sent the customer a link carrying the token.
type Handoffs interface {
	// Redeem uses token once for conversation (a bot.Conversation string)
	// and returns the portal account id and the hand-off id. Any error
	// (unknown, used or expired token) gets the same answer.
	Redeem(ctx context.Context, token, conversation string) (accountID, handoffID string, err error)
	// Redeemable reports, spending and writing nothing, whether Redeem of
	// token for conversation would succeed now: true for an unused token
	// of this flow, or one this conversation used and may reopen. It is
	// false, with a nil error, for every other token (unknown, expired,
	// completed, used by another conversation, of another flow): they all
	// get one answer, so that the check tells no more than Redeem does.
	// err is a failure to read the hand-offs (the turn then fails and
	// nothing is saved). Issue 14 F9: the start of a hand-off link checks
	// its token before it shows the hand-off's confirmation.
	Redeemable(ctx context.Context, token, conversation string) (ok bool, err error)
}

// Options configure the flow.
type Options struct {
	// Core is the portal auth core (required).
	Core Core
	// MaxTries is how many wrong e-mail/password answers one conversation
	// may give before the flow stops; default 5 (the core's per-account
	// limits apply as well).
	MaxTries int
	// GrantMargin is how long before its expiry a grant is treated as
	// expired; default 30 seconds.
	GrantMargin time.Duration
	// Handoffs redeems the start payload of a support hand-off; nil
	// disables hand-offs.
	Handoffs Handoffs
}

// Flow is the "move the authenticator app to a new phone" flow. It
// implements bot.Flow and bot.MessageSource.
type Flow struct {
	core     Core
	tries    int
	margin   time.Duration
	handoffs Handoffs
	// codeKey keys usedCodeMAC (in memory only, random per process).
	codeKey []byte
}

var (
	_ bot.Flow          = (*Flow)(nil)
	_ bot.MessageSource = (*Flow)(nil)
	_ Core              = portal.Core(nil)
)

// New returns the flow for opts; it panics if opts.Core is nil (a wiring
// error).
func New(opts Options) *Flow {
	if opts.Core == nil {
		panic("newphone: Options.Core is required")
	}
	f := &Flow{core: opts.Core, tries: opts.MaxTries, margin: opts.GrantMargin, handoffs: opts.Handoffs, codeKey: newCodeKey()}
	if f.tries <= 0 {
		f.tries = 5
	}
	if f.margin <= 0 {
		f.margin = 30 * time.Second
	}
	return f
}

// Name returns "newphone".
func (f *Flow) Name() string { return Name }

// Messages returns the flow's catalog files: English and Malay (ms).
func (f *Flow) Messages() (fs.FS, []string) {
	return messages, []string{"locales/en.yaml", "locales/ms.yaml"}
}

// data is the flow's per-session data: ids, counters and the grant token
// (a short-lived bearer credential bound to one account), never a
// password, code or secret.
type data struct {
	AccountID    string            `json:"account_id,omitempty"`
	HandoffToken string            `json:"handoff_token,omitempty"`
	Unknown      bool              `json:"unknown,omitempty"`
	Probe        string            `json:"probe,omitempty"`
	Grant        string            `json:"grant,omitempty"`
	GrantLevel   portal.GrantLevel `json:"grant_level,omitempty"`
	GrantExpires time.Time         `json:"grant_expires,omitzero"`
	Tries        int               `json:"tries,omitempty"`
	// RecoveryRound numbers the recovery-code attempts that reached the
	// core (each its own idempotency key).
	RecoveryRound int       `json:"recovery_round,omitempty"`
	EnrollmentID  string    `json:"enrollment_id,omitempty"`
	EnrollRound   int       `json:"enroll_round,omitempty"`
	EnrollExpiry  time.Time `json:"enroll_expires,omitzero"`
	Replaced      bool      `json:"replaced,omitempty"`
	// CodesReplaced says a recovery code was spent and the account's set
	// replaced by the new one shown once (NIST SP 800-63B-4 §4.2.1.1): a
	// cancel or a resume must not say nothing changed.
	CodesReplaced bool `json:"codes_replaced,omitempty"`
	// UsedCode is usedCodeMAC of the current app's code that proved the
	// factor (never the code), so that typing it again for the new app is
	// answered as already used instead of costing a try (issue 14 F5);
	// forgotten when the session ends.
	UsedCode string `json:"used_code,omitempty"`
}

func (d *data) forgetGrant() { d.Grant, d.GrantLevel, d.GrantExpires = "", "", time.Time{} }

// turn bundles a bot turn with the decoded data for one handler run.
type turn struct {
	*bot.Turn
	d      *data
	margin time.Duration
}

func (t *turn) cancelButton() bot.Button { return t.Button(msgButtonCancel, actCancel) }

// grantValid reports whether the session's grant is usable for at least
// the flow's margin from now.
func (t *turn) grantValid() bool {
	return t.d.Grant != "" && t.Now.Add(t.margin).Before(t.d.GrantExpires)
}

// withSource names the platform user behind the turn's event on ctx
// ("<channel>:<user id>", or the conversation for an event without a
// user), so the core counts failures per source as well as per account
// (portal.WithSource), and the session's language, which an account
// without one takes on ConfirmTOTPReplacement for its e-mail
// (portal.WithLocale).
func withSource(ctx context.Context, bt *bot.Turn) context.Context {
	ev := bt.Event
	ctx = portal.WithLocale(ctx, bt.Session.Locale)
	if ev.UserID != "" {
		return portal.WithSource(ctx, ev.Conversation.Channel+":"+ev.UserID)
	}
	return portal.WithSource(ctx, ev.Conversation.String())
}

// Start begins the flow: it greets the user and asks for the e-mail (or
// uses the one the platform vouches for), or, for a hand-off link whose
// token can be redeemed (Handoffs.Redeemable), asks the customer to press
// Start. Any other start payload (an unknown, expired or used token, a
// mistyped link) is answered as one invalid link (msgLinkInvalid) before
// the normal start (issue 14 F9). The error is Redeemable's.
func (f *Flow) Start(ctx context.Context, bt *bot.Turn) error {
	ctx = withSource(ctx, bt)
	t := &turn{Turn: bt, d: &data{}, margin: f.margin}
	t.Goto(StateAwaitingEmail)
	t.Say(msgWelcome, nil)
	if payload := bt.Event.Data; payload != "" {
		ok, err := f.redeemable(ctx, t, payload)
		if err != nil {
			return err
		}
		if ok {
			t.d.HandoffToken = payload
			t.Say(msgHandoffConfirm, nil, t.Button(msgButtonHandoffStart, actHandoffStart), t.cancelButton())
			return t.SetData(t.d)
		}
		t.Say(msgLinkInvalid, nil)
	}
	if email := bt.Event.Email; email != "" {
		f.identify(ctx, t, email, true)
	} else {
		t.Say(msgAskEmail, nil, t.cancelButton())
	}
	return t.SetData(t.d)
}

// Handle runs the handler of the session's state for the event.
func (f *Flow) Handle(ctx context.Context, bt *bot.Turn) error {
	ctx = withSource(ctx, bt)
	d, err := bot.LoadData[data](bt)
	if err != nil {
		return err
	}
	t := &turn{Turn: bt, d: &d, margin: f.margin}
	if err := f.handle(ctx, t); err != nil {
		return err
	}
	if t.Session.Done {
		t.d.forgetGrant()
		t.d.UsedCode = ""
	}
	return t.SetData(t.d)
}

// Expire ends an idle session: the pending replacement is voided (the old
// app keeps working) and the user told.
func (f *Flow) Expire(ctx context.Context, bt *bot.Turn) error {
	d, err := bot.LoadData[data](bt)
	if err != nil {
		return err
	}
	t := &turn{Turn: bt, d: &d, margin: f.margin}
	f.end(ctx, t, StateExpired, msgExpired, nil)
	t.d.forgetGrant()
	t.d.UsedCode = ""
	return t.SetData(t.d)
}
