// Package totpswitch is the guided fix that moves a Customer Portal
// account's two-factor authentication from SMS codes to an authenticator app
// (TOTP, RFC 6238), step by step as the portal's knowledge-base procedure
// does it (shared/reference/kb-sms-to-authenticator.txt): verify identity,
// "Disable 2FA", "Setup Two-Factor Authentication", "Authenticator App",
// password again if needed, scan the QR code and "Verify", "Okay".
//
// The flow knows the bot engine and the portal contract only. It keeps no
// password, code or TOTP secret in the session: the QR code and manual key
// are rendered from the core's answer and sent, never stored.
package totpswitch

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"guidedfix/bot"
	"guidedfix/internal/portal"
	"guidedfix/internal/qr"
)

//go:embed locales/*.yaml
var messages embed.FS

// Name is the flow's stable name, stored in sessions.
const Name = "totpswitch"

// Options configure the flow.
type Options struct {
	// Core is the portal auth core (required).
	Core portal.Core
	// Issuer is the issuer name shown in prompts; default "IP ServerOne".
	Issuer string
	// MaxTries is how many wrong e-mail/password answers one conversation
	// may give before the flow stops; default 5 (the core's own per-account
	// lock applies as well).
	MaxTries int
	// GrantMargin is how long before its expiry a grant is treated as
	// expired, so that a step does not start with a grant about to lapse;
	// default 30 seconds.
	GrantMargin time.Duration
	// Order is OrderEnrollThenSwitch (default: SMS stays active until the
	// new code is verified; the core swaps the methods in one transaction,
	// so the account is never password-only) or OrderDisableThenEnroll (the
	// knowledge-base order as written, made safe by compensation).
	Order string
	// ReminderAfter is how long after SMS 2FA was disabled, with no app
	// verified yet, the user is reminded; default 10 minutes.
	ReminderAfter time.Duration
	// Handoffs redeems the start payload of a support hand-off (a deep
	// link's token); nil disables hand-offs.
	Handoffs Handoffs
	// RecoveryCodes is how many single-use recovery codes to issue once
	// the app is verified (0, the default, issues none and skips the step;
	// at most 20).
	RecoveryCodes int
}

// Handoffs redeems hand-off tokens: a support agent started the guided fix
// for a customer's account and sent the customer a link carrying the token.
type Handoffs interface {
	// Redeem uses token once for conversation (a bot.Conversation string)
	// and returns the portal account id and the hand-off id. Any error
	// (unknown, used or expired token) gets the same answer.
	Redeem(ctx context.Context, token, conversation string) (accountID, handoffID string, err error)
}

// Flow orders (Options.Order).
const (
	// OrderDisableThenEnroll disables SMS 2FA at "Disable 2FA" and, if the
	// app is not verified in time, restores it (RestoreFactor).
	OrderDisableThenEnroll = "disable-then-enroll"
	// OrderEnrollThenSwitch keeps SMS 2FA until the app's code is verified;
	// the account is never without a second factor.
	OrderEnrollThenSwitch = "enroll-then-switch"
)

// Flow is the SMS → authenticator-app flow. It implements bot.Flow and
// bot.MessageSource.
type Flow struct {
	core     portal.Core
	issuer   string
	tries    int
	margin   time.Duration
	swap     bool
	reminder time.Duration
	recovery int
	handoffs Handoffs
}

var (
	_ bot.Flow          = (*Flow)(nil)
	_ bot.MessageSource = (*Flow)(nil)
)

// New returns the flow for opts; it panics if opts.Core is nil or
// opts.Order is unknown (wiring errors).
func New(opts Options) *Flow {
	if opts.Core == nil {
		panic("totpswitch: Options.Core is required")
	}
	if opts.Order != "" && opts.Order != OrderDisableThenEnroll && opts.Order != OrderEnrollThenSwitch {
		panic("totpswitch: unknown Options.Order " + opts.Order)
	}
	f := &Flow{core: opts.Core, issuer: opts.Issuer, tries: opts.MaxTries, margin: opts.GrantMargin,
		swap: opts.Order != OrderDisableThenEnroll, reminder: opts.ReminderAfter,
		recovery: min(opts.RecoveryCodes, 20), handoffs: opts.Handoffs}
	if f.reminder <= 0 {
		f.reminder = 10 * time.Minute
	}
	if f.issuer == "" {
		f.issuer = "IP ServerOne"
	}
	if f.tries <= 0 {
		f.tries = 5
	}
	if f.margin <= 0 {
		f.margin = 30 * time.Second
	}
	return f
}

// turn wraps bt with the flow's data d.
func (f *Flow) turn(bt *bot.Turn, d *data) *turn {
	steps := Steps
	if f.recovery > 0 {
		steps++
	}
	return &turn{Turn: bt, d: d, margin: f.margin, steps: steps}
}

// Name returns "totpswitch".
func (f *Flow) Name() string { return Name }

// Messages returns the flow's catalog files: English and Malay (ms).
func (f *Flow) Messages() (fs.FS, []string) {
	return messages, []string{"locales/en.yaml", "locales/ms.yaml"}
}

// data is the flow's per-session data. It holds ids, counters and the
// grant token (a short-lived bearer credential bound to one account,
// expiring within 10 minutes), never a password, code or secret.
type data struct {
	AccountID string `json:"account_id,omitempty"`
	// Pinned: the start event pinned the account (bot.Event.EmailPinned),
	// so no other e-mail is offered or taken.
	Pinned bool `json:"pinned,omitempty"`
	// HandoffToken is the token of a hand-off link opened with /start,
	// kept until the customer presses Start (it is spent only then, so a
	// preview fetcher or an accidental open spends nothing).
	HandoffToken string `json:"handoff_token,omitempty"`
	Unknown      bool   `json:"unknown,omitempty"`
	// Probe is the core's opaque UnknownAccount id of the e-mail typed when it has no
	// account: the core counts and locks its wrong passwords like a real
	// account's.
	Probe        string            `json:"probe,omitempty"`
	Grant        string            `json:"grant,omitempty"`
	GrantExpires time.Time         `json:"grant_expires,omitzero"`
	GrantLevel   portal.GrantLevel `json:"grant_level,omitempty"`
	ChallengeID  string            `json:"challenge_id,omitempty"`
	// ChallengeDead says the core refused ChallengeID as expired or
	// used up; a new challenge clears it.
	ChallengeDead bool          `json:"challenge_dead,omitempty"`
	SMSRound      int           `json:"sms_round,omitempty"`
	EnrollmentID  string        `json:"enrollment_id,omitempty"`
	EnrollRound   int           `json:"enroll_round,omitempty"`
	Tries         int           `json:"tries,omitempty"`
	StartMethod   portal.Method `json:"start_method,omitempty"`
	Disabled      bool          `json:"disabled,omitempty"`
	// DisableTried is set before Disable2FA is called: if the answer is
	// lost (a crash, a failed save) the disable may have committed
	// although Disabled is false, so an ending restores all the same
	// (RestoreFactor finds nothing to undo when it had not).
	DisableTried bool           `json:"disable_tried,omitempty"`
	DisabledAt   time.Time      `json:"disabled_at,omitzero"`
	ReminderSent bool           `json:"reminder_sent,omitempty"`
	EnrollExpiry time.Time      `json:"enroll_expires,omitzero"`
	Activated    bool           `json:"activated,omitempty"`
	Restored     bool           `json:"restored,omitempty"`
	Ending       bot.State      `json:"ending,omitempty"`
	EndingMsg    string         `json:"ending_msg,omitempty"`
	EndingData   map[string]any `json:"ending_data,omitempty"`
	RetryNoted   bool           `json:"retry_noted,omitempty"`
	Label        string         `json:"label,omitempty"`
}

// forgetGrant erases the re-authentication grant: a finished session keeps
// no credential.
func (d *data) forgetGrant() { d.Grant, d.GrantLevel, d.GrantExpires = "", "", time.Time{} }

// needsRestore reports whether the flow disabled SMS 2FA and nothing has
// replaced it yet: ending now would leave the account with a password only.
func (d *data) needsRestore() bool { return d.Disabled && !d.Activated && !d.Restored }

// mustRestore reports whether an ending has to call RestoreFactor: SMS 2FA
// is off, or may be (DisableTried), and no app is verified.
func (d *data) mustRestore() bool {
	return (d.Disabled || d.DisableTried) && !d.Activated && !d.Restored
}

// turn bundles a bot turn with the decoded data for one handler run.
type turn struct {
	*bot.Turn
	d      *data
	margin time.Duration
	steps  int
}

func (t *turn) say(id string, extra map[string]any, buttons ...bot.Button) {
	t.Say(id, t.withSteps(extra), buttons...)
}

func (t *turn) ask(field bot.SecretField, id string, extra map[string]any, buttons ...bot.Button) {
	t.Ask(field, id, t.withSteps(extra), buttons...)
}

// withSteps adds the number of steps the user sees to m: Steps, plus one
// when recovery codes are issued.
func (t *turn) withSteps(m map[string]any) map[string]any {
	out := map[string]any{"Steps": t.steps}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (t *turn) cancelButton() bot.Button { return t.Button("totp.button.cancel", "cancel") }

// Start begins the flow: it greets the user and asks for the e-mail, or
// uses the e-mail the platform vouches for (Event.Email).
func (f *Flow) Start(ctx context.Context, bt *bot.Turn) error {
	ctx = withSource(ctx, bt)
	t := f.turn(bt, &data{})
	t.Goto(StateAwaitingEmail)
	t.say("totp.welcome", nil)
	if payload := bt.Event.Data; payload != "" && f.handoffs != nil {
		// A hand-off link: the token is spent only by the explicit Start
		// press (issue 11 item 9).
		t.d.HandoffToken = payload
		t.say("totp.handoff_confirm", nil, t.Button("totp.button.handoff_start", "handoff_start"), t.cancelButton())
		return t.SetData(t.d)
	}
	if email := strings.TrimSpace(bt.Event.Email); email != "" {
		t.d.Pinned = bt.Event.EmailPinned
		f.identify(ctx, t, email, true)
	} else {
		t.say("totp.ask_email", nil, t.cancelButton())
	}
	return t.SetData(t.d)
}

// withSource names the platform user behind the turn's event on ctx
// ("<channel>:<user id>", or the conversation for an event without a
// user), so the core counts failures per source as well as per account
// (portal.WithSource).
func withSource(ctx context.Context, bt *bot.Turn) context.Context {
	ev := bt.Event
	if ev.UserID != "" {
		return portal.WithSource(ctx, ev.Conversation.Channel+":"+ev.UserID)
	}
	return portal.WithSource(ctx, ev.Conversation.String())
}

// Handle runs the handler of the session's state for the event.
func (f *Flow) Handle(ctx context.Context, bt *bot.Turn) error {
	ctx = withSource(ctx, bt)
	d, err := bot.LoadData[data](bt)
	if err != nil {
		return err
	}
	t := f.turn(bt, &d)
	if err := f.handle(ctx, t); err != nil {
		return err
	}
	f.schedule(t)
	if t.Session.Done {
		t.d.forgetGrant()
	}
	return t.SetData(t.d)
}

func (f *Flow) handle(ctx context.Context, t *turn) error {
	ev := t.Event
	if ev.Kind == bot.KindBlocked {
		return f.blocked(ctx, t)
	}
	switch t.Session.State {
	case StateRestoring:
		// Only finishing the restore matters now; input waits for it.
		return f.retryRestore(ctx, t)
	case StateSendingSMS, StateDisabling, StateEnrolling, StateVerifying:
		// Transient states resume whatever the event (a crash interrupted
		// them); handled below.
	default:
		if ev.Kind == bot.KindTimer {
			return f.timer(ctx, t)
		}
	}
	// Commands and the Cancel button work in every state.
	switch {
	case ev.Kind == bot.KindCommand && ev.Command == "cancel",
		ev.Kind == bot.KindButton && ev.Data == "cancel":
		return f.cancel(ctx, t)
	case ev.Kind == bot.KindCommand && ev.Command == "help":
		f.help(t)
		return nil
	case ev.Kind == bot.KindCommand:
		// An unknown command changes nothing; say what works.
		f.help(t)
		return nil
	case ev.Kind == bot.KindStart && ev.Data != "" && t.Session.Tags["handoff"] != "":
		// The customer opened the hand-off link again (a second click):
		// keep the progress and show where they are.
		t.say("totp.continue", nil)
		f.reprompt(t)
		return nil
	case ev.Kind == bot.KindStart:
		// /start or /2fa in the middle: release what this session holds and
		// begin again in a new session.
		hadQR := t.d.EnrollmentID != ""
		f.release(ctx, t)
		if t.d.mustRestore() && !f.restore(ctx, t, StateCancelled, "totp.restarting", nil) {
			return nil
		}
		switch {
		case t.d.Activated:
			// The app was verified already: nothing to start over.
			t.say("totp.done", nil)
		case !t.d.Restored && hadQR:
			t.say("totp.restarting", nil)
		}
		t.Restart(StateCancelled)
		return nil
	case ev.Kind == bot.KindButton && ev.Data == "resume":
		return f.resume(ctx, t)
	case ev.Kind == bot.KindUnsupported:
		f.unsupported(t)
		return nil
	case ev.Kind == bot.KindResume:
		f.reprompt(t)
		return nil
	}
	switch t.Session.State {
	case StateAwaitingEmail:
		if ev.Kind == bot.KindButton && ev.Data == "handoff_start" && t.d.HandoffToken != "" {
			token := t.d.HandoffToken
			t.d.HandoffToken = ""
			if !f.handoff(ctx, t, token) {
				t.say("totp.ask_email", nil, t.cancelButton())
			}
			return nil
		}
		if ev.Kind == bot.KindButton {
			return nil
		}
		t.d.HandoffToken = "" // an address typed instead: no hand-off
		if ev.Kind != bot.KindText {
			f.unsupported(t)
			return nil
		}
		f.identify(ctx, t, ev.Text, false)
	case StateAwaitingPassword, StateAwaitingReauth:
		if ev.Kind == bot.KindButton && ev.Data == "other_email" && t.Session.State == StateAwaitingPassword && !t.d.Pinned {
			// A new address starts a new count: the tries shown belong to the
			// address being tried (the core's own lock counts per account).
			*t.d = data{}
			t.Tag("account", "")
			t.Tag("verified", "")
			t.Goto(StateAwaitingEmail)
			t.say("totp.ask_email", nil, t.cancelButton())
			return nil
		}
		if ev.Kind != bot.KindSecret {
			f.unsupported(t)
			return nil
		}
		return f.password(ctx, t, ev.Secret)
	case StateSendingSMS:
		return f.sendSMS(ctx, t)
	case StateAwaitingSMSCode:
		if ev.Kind == bot.KindButton && ev.Data == "resend" {
			t.d.SMSRound++
			t.Goto(StateSendingSMS)
			return f.sendSMS(ctx, t)
		}
		if ev.Kind != bot.KindSecret {
			f.unsupported(t)
			return nil
		}
		return f.smsCode(ctx, t, ev.Secret)
	case StateConfirmDisable:
		if ev.Kind == bot.KindButton && ev.Data == "disable" && f.swap {
			// Safe swap: SMS stays until the app's code is verified.
			t.Goto(StateOfferSetup)
			t.say("totp.swap_kept", nil)
			t.say("totp.offer_setup", nil, t.Button("totp.button.setup", "setup"), t.cancelButton())
			return nil
		}
		if ev.Kind == bot.KindButton && ev.Data == "disable" {
			t.Goto(StateDisabling)
			return f.disable(ctx, t)
		}
		f.useButtons(t)
	case StateDisabling:
		return f.disable(ctx, t)
	case StateOfferSetup:
		if ev.Kind == bot.KindButton && ev.Data == "setup" {
			t.Goto(StateChooseMethod)
			t.say("totp.choose_method", nil, t.Button("totp.button.app", "app"), t.cancelButton())
			return nil
		}
		f.useButtons(t)
	case StateChooseMethod:
		if ev.Kind == bot.KindButton && ev.Data == "app" {
			return f.enrollOrReauth(ctx, t)
		}
		f.useButtons(t)
	case StateEnrolling:
		return f.enroll(ctx, t)
	case StateAwaitingTOTPCode:
		if ev.Kind == bot.KindButton && ev.Data == "verify" {
			t.ask(bot.SecretTOTPCode, "totp.hint_code", nil, t.cancelButton())
			return nil
		}
		if ev.Kind != bot.KindSecret {
			f.unsupported(t)
			return nil
		}
		t.SetState(StateVerifying)
		return f.verify(ctx, t, ev.Secret)
	case StateVerifying:
		// Resuming after an interruption: the core answers a repeated key
		// with its first result. Without one, the code of the redelivered
		// update is checked now; a wake-up without a code asks for it
		// again (see verify).
		return f.verify(ctx, t, t.Event.Secret)
	case StateActivated:
		if ev.Kind == bot.KindButton && ev.Data == "okay" {
			if f.recovery > 0 {
				t.Goto(StateRecoveryCodes)
				return f.recoveryCodes(ctx, t)
			}
			t.End(StateDone)
			t.say("totp.done", nil)
			return nil
		}
		f.useButtons(t)
	case StateRecoveryCodes:
		switch {
		case ev.Kind == bot.KindButton && ev.Data == "saved":
			t.Delete("recovery")
			t.End(StateDone)
			t.say("totp.done", nil)
		case ev.Kind == bot.KindTimer:
			// A crash came between issuing and showing the codes: issue a
			// new set (the unseen one is void).
			return f.recoveryCodes(ctx, t)
		default:
			f.useButtons(t)
		}
	default:
		return fmt.Errorf("totpswitch: no handler for state %q", t.Session.State)
	}
	return nil
}

// handoff starts the flow from a support hand-off link: the account is
// identified by the token, and the user still proves password and the
// current SMS code. It reports whether the token was good; a bad one gets
// one answer that reveals nothing.
func (f *Flow) handoff(ctx context.Context, t *turn, token string) bool {
	if f.handoffs == nil {
		return false
	}
	accountID, handoffID, err := f.handoffs.Redeem(ctx, token, t.Session.Conversation.String())
	if err != nil {
		t.say("totp.handoff_invalid", nil)
		return false
	}
	acc, err := f.core.Account(ctx, accountID)
	if err != nil {
		t.say("totp.handoff_invalid", nil)
		return false
	}
	t.d.AccountID = acc.ID
	t.Tag("account", acc.ID)
	t.Tag("handoff", handoffID)
	t.Goto(StateAwaitingPassword)
	t.say("totp.handoff_welcome", map[string]any{"Email": maskEmail(acc.Email)})
	t.ask(bot.SecretPassword, "totp.ask_password", nil, t.cancelButton())
	return true
}

// maskEmail shows the first character of the local part and the domain:
// "a•••@example.com".
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "•••"
	}
	return local[:1] + "•••@" + domain
}

// maxPasswordBytes bounds what is sent to the core as a password.
const maxPasswordBytes = 1024

// minPasswordRunes is the portal's shortest password (embedded.NewAccount
// validation): a shorter answer (a mistyped button number, "ok") is not
// sent to the core and costs no try.
const minPasswordRunes = 8

// passwordButtons are the buttons of a password prompt: at step 1 (not
// from a hand-off) "Use another e-mail", to correct a mistyped address,
// and always Cancel.
func (f *Flow) passwordButtons(t *turn) []bot.Button {
	if t.Session.State == StateAwaitingPassword && t.Session.Tags["handoff"] == "" && !t.d.Pinned {
		return []bot.Button{t.Button("totp.button.other_email", "other_email"), t.cancelButton()}
	}
	return []bot.Button{t.cancelButton()}
}

// identify records which account the conversation is about. An unknown
// e-mail is not revealed: the flow asks the password all the same and
// answers as for a wrong password.
func (f *Flow) identify(ctx context.Context, t *turn, input string, proposed bool) {
	email := strings.ToLower(strings.TrimSpace(input))
	if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
		t.say("totp.bad_email", nil, t.cancelButton())
		return
	}
	acc, err := f.core.LookupAccount(ctx, email)
	switch {
	case err == nil:
		t.d.AccountID, t.d.Unknown, t.d.Probe = acc.ID, false, ""
		t.Tag("account", acc.ID)
	case errors.Is(err, portal.ErrNotFound):
		t.d.AccountID, t.d.Unknown, t.d.Probe = "", true, f.core.UnknownAccount(email)
	default:
		// Treat a lookup failure like an unknown account; the password
		// step then fails without telling why.
		t.d.AccountID, t.d.Unknown, t.d.Probe = "", true, ""
	}
	t.Goto(StateAwaitingPassword)
	if proposed {
		t.say("totp.proposed_email", map[string]any{"Email": email})
	}
	t.ask(bot.SecretPassword, "totp.ask_password", nil, f.passwordButtons(t)...)
}

// password checks the password (identity at step 1, or re-authentication
// at step 4).
func (f *Flow) password(ctx context.Context, t *turn, pw bot.Secret) error {
	reauth := t.Session.State == StateAwaitingReauth
	if p := pw.Reveal(); strings.TrimSpace(p) == "" || len(p) > maxPasswordBytes || !utf8.ValidString(p) || utf8.RuneCountInString(p) < minPasswordRunes {
		// Not a password anybody could have: ask again, count nothing.
		t.ask(bot.SecretPassword, "totp.hint_password", nil, f.passwordButtons(t)...)
		return nil
	}
	var g portal.Grant
	var err error
	if reauth && t.d.Grant != "" && t.d.GrantLevel == portal.LevelElevated {
		// KB step 8: renew the grant that proved the SMS code, so that the
		// new one keeps its elevation (a new password-only grant cannot
		// set up the app while SMS is on, nor while a switch has it off).
		// The core keeps the old grant, so a lost answer can be retried.
		g, err = f.core.Reauthenticate(ctx, t.d.Grant, pw.Reveal())
		if errors.Is(err, portal.ErrExpired) || errors.Is(err, portal.ErrBadGrant) {
			if !t.d.Disabled {
				// SMS is still on: verify the identity again from the start.
				f.reverify(t)
				return nil
			}
			f.end(ctx, t, StateExpired, "totp.reauth_expired", nil)
			return nil
		}
	} else {
		id := t.d.AccountID
		if t.d.Unknown {
			id = t.d.Probe
		}
		g, err = f.core.VerifyPassword(ctx, id, pw.Reveal())
	}
	var locked *portal.LockedError
	switch {
	case errors.As(err, &locked):
		f.lockedEnd(ctx, t, locked)
		return nil
	case errors.Is(err, portal.ErrBadPassword):
		t.d.Tries++
		left := f.tries - t.d.Tries
		if left <= 0 {
			// The same answer as the core's lock, so that an unknown e-mail
			// cannot be told apart from a real account.
			f.lockedEnd(ctx, t, &portal.LockedError{RetryAfter: t.Now.Add(15 * time.Minute)})
			return nil
		}
		t.Tag("last_error", "wrong password")
		msg := "totp.bad_password"
		if reauth {
			// The account is known by now: no need to hide which is wrong.
			msg = "totp.bad_reauth_password"
		}
		t.ask(bot.SecretPassword, msg, map[string]any{"Count": left}, f.passwordButtons(t)...)
		return nil
	case err != nil:
		return err
	}
	t.d.Tries = 0
	f.setGrant(t, g)
	if t.Session.Tags["verified"] == "" {
		t.Tag("verified", "password")
	}
	if reauth {
		t.Goto(StateEnrolling)
		return f.enroll(ctx, t)
	}
	st, err := f.core.SecurityStatus(ctx, t.d.AccountID)
	if err != nil {
		return err
	}
	if t.d.StartMethod == "" {
		t.d.StartMethod = st.Method
	}
	switch st.Method {
	case portal.MethodTOTP:
		t.End(StateAlreadyTOTP)
		t.say("totp.already_totp", nil)
	case portal.MethodNone:
		t.Goto(StateOfferSetup)
		if !t.d.Disabled {
			t.say("totp.not_active", nil)
		}
		t.say("totp.offer_setup", nil, t.Button("totp.button.setup", "setup"), t.cancelButton())
	default:
		t.Goto(StateSendingSMS)
		t.d.SMSRound++
		return f.sendSMS(ctx, t)
	}
	return nil
}

// sendSMS sends (or, resuming, re-sends under the same key) the SMS
// challenge for the current factor.
func (f *Flow) sendSMS(ctx context.Context, t *turn) error {
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	ch, err := f.core.SendSMSChallenge(ctx, t.d.Grant, t.Key(fmt.Sprintf("sms:%d", t.d.SMSRound)))
	var locked *portal.LockedError
	switch {
	case errors.As(err, &locked) && locked.SMSLimit && t.d.ChallengeID != "" && !t.d.ChallengeDead:
		// "Send a new code" once too often: the code already sent still
		// counts, so the conversation waits for it instead of ending.
		t.Goto(StateAwaitingSMSCode)
		// The code prompt's buttons stay where they were ("Send a new
		// code" first: pressed again it is refused the same way and sends
		// nothing), so a habitual "1" never turns into Cancel.
		t.ask(bot.SecretSMSCode, "totp.sms_limit_keep", map[string]any{"Until": locked.RetryAfter.UTC().Format("15:04 UTC")},
			t.Button("totp.button.resend", "resend"), t.cancelButton())
		return nil
	case errors.As(err, &locked):
		f.lockedEnd(ctx, t, locked)
		return nil
	case errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrBadGrant):
		f.reverify(t)
		return nil
	case err != nil:
		return err
	}
	t.d.ChallengeID, t.d.ChallengeDead = ch.ID, false
	t.Goto(StateAwaitingSMSCode)
	t.ask(bot.SecretSMSCode, "totp.sms_sent", map[string]any{"Phone": ch.MaskedPhone},
		t.Button("totp.button.resend", "resend"), t.cancelButton())
	return nil
}

func (f *Flow) smsCode(ctx context.Context, t *turn, code bot.Secret) error {
	g, err := f.core.VerifySMSChallenge(ctx, t.d.Grant, t.d.ChallengeID, code.Reveal())
	var bad *portal.BadCodeError
	var locked *portal.LockedError
	switch {
	case errors.As(err, &locked):
		f.lockedEnd(ctx, t, locked)
		return nil
	case errors.Is(err, portal.ErrCodeFormat):
		t.ask(bot.SecretSMSCode, "totp.code_format", nil, t.Button("totp.button.resend", "resend"), t.cancelButton())
		return nil
	case errors.As(err, &bad):
		t.Tag("last_error", "wrong SMS code")
		t.ask(bot.SecretSMSCode, "totp.bad_sms_code", map[string]any{"Count": bad.AttemptsLeft},
			t.Button("totp.button.resend", "resend"), t.cancelButton())
		return nil
	case errors.Is(err, portal.ErrBadGrant):
		f.reverify(t)
		return nil
	case errors.Is(err, portal.ErrExpired):
		t.d.ChallengeDead = true
		if !t.grantValid() {
			f.reverify(t)
			return nil
		}
		t.Goto(StateAwaitingSMSCode)
		t.ask(bot.SecretSMSCode, "totp.sms_expired", nil, t.Button("totp.button.resend", "resend"), t.cancelButton())
		return nil
	case err != nil:
		return err
	}
	f.setGrant(t, g)
	t.Tag("verified", "password and SMS code")
	t.Goto(StateConfirmDisable)
	t.say(f.confirmDisableMsg(), nil, t.Button("totp.button.disable", "disable"), t.cancelButton())
	return nil
}

// disable turns SMS 2FA off (KB step 5) under the session's "disable" key.
func (f *Flow) disable(ctx context.Context, t *turn) error {
	t.d.DisableTried = true
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	err := f.core.Disable2FA(ctx, t.d.Grant, t.Key("disable"))
	switch {
	case errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrNeedElevation), errors.Is(err, portal.ErrBadGrant):
		f.reverify(t)
		return nil
	case errors.Is(err, portal.ErrWrongState):
		// Already off (e.g. changed in the portal meanwhile): go on.
	case err != nil:
		return err
	default:
		t.d.Disabled, t.d.DisabledAt = true, t.Now
		t.say("totp.disabled", nil)
	}
	t.Goto(StateOfferSetup)
	t.say("totp.offer_setup", nil, t.Button("totp.button.setup", "setup"), t.cancelButton())
	return nil
}

// enrollOrReauth starts the enrollment with the current grant, or asks the
// password again (KB step 8) when the grant has expired.
func (f *Flow) enrollOrReauth(ctx context.Context, t *turn) error {
	if !t.grantValid() {
		t.Goto(StateAwaitingReauth)
		t.ask(bot.SecretPassword, "totp.reauth", nil, t.cancelButton())
		return nil
	}
	t.Goto(StateEnrolling)
	return f.enroll(ctx, t)
}

// enroll begins (or, resuming, fetches again under the same key) the
// pending TOTP enrollment and sends the QR code and the manual key.
func (f *Flow) enroll(ctx context.Context, t *turn) error {
	if t.d.EnrollRound == 0 {
		t.d.EnrollRound = 1
	}
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	en, err := f.core.BeginTOTPEnrollment(ctx, t.d.Grant, t.Key(fmt.Sprintf("enroll:%d", t.d.EnrollRound)))
	switch {
	case errors.Is(err, portal.ErrNeedElevation) && t.d.StartMethod == portal.MethodNone:
		// This conversation found the account without a second factor,
		// but the core says it lost it to a switch still under way in
		// another conversation: a password alone must not set up the app
		// now, and asking it again would not change that.
		f.end(ctx, t, StateFailed, "totp.switch_in_progress", nil)
		return nil
	case errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrBadGrant), errors.Is(err, portal.ErrNeedElevation):
		if t.d.StartMethod == portal.MethodSMS && !t.d.Disabled {
			f.reverify(t)
			return nil
		}
		t.Goto(StateAwaitingReauth)
		t.ask(bot.SecretPassword, "totp.reauth", nil, t.cancelButton())
		return nil
	case errors.Is(err, portal.ErrWrongState):
		t.End(StateAlreadyTOTP)
		t.say("totp.already_totp", nil)
		return nil
	case err != nil:
		return err
	}
	png, err := qr.PNG(en.URI)
	if err != nil {
		return fmt.Errorf("render QR: %w", err)
	}
	t.d.EnrollmentID = en.ID
	t.d.EnrollExpiry = en.ExpiresAt
	t.d.Label = en.Label
	t.Goto(StateAwaitingTOTPCode)
	t.Send(bot.Reply{ID: "totp.qr_caption", Text: t.T("totp.qr_caption", t.withSteps(nil)), Image: png, QR: en.URI,
		Protected: true, Sensitive: true, Ref: "qr"})
	t.Send(bot.Reply{ID: "totp.manual_key", Text: t.T("totp.manual_key", map[string]any{"Label": en.Label, "Key": groupKey(en.Secret)}),
		Protected: true, Sensitive: true, Ref: "key"})
	t.ask(bot.SecretTOTPCode, "totp.ask_totp", map[string]any{"Issuer": en.Issuer},
		t.Button("totp.button.verify", "verify"), t.cancelButton())
	return nil
}

// verify confirms the enrollment with code (KB step 9, "Verify"); an empty
// code resumes an interrupted confirmation.
func (f *Flow) verify(ctx context.Context, t *turn, code bot.Secret) error {
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	err := f.core.ConfirmTOTPEnrollment(ctx, t.d.EnrollmentID, code.Reveal(), t.Key("confirm:"+t.d.EnrollmentID))
	var bad *portal.BadCodeError
	var locked *portal.LockedError
	switch {
	case errors.As(err, &locked):
		// Authenticator codes count per account and source (issue 11
		// item 4): a new QR code gives no new tries.
		t.Delete("qr")
		t.Delete("key")
		f.lockedEnd(ctx, t, locked)
		return nil
	case err == nil:
		t.d.Activated = true
		t.Delete("qr")
		t.Delete("key")
		t.Goto(StateActivated)
		t.say("totp.activated", nil, t.Button("totp.button.okay", "okay"))
		return nil
	case errors.Is(err, portal.ErrCodeFormat):
		t.SetState(StateAwaitingTOTPCode)
		if code == "" {
			// A wake-up resumed a confirmation that never reached the
			// core, and the update that carried the code was not delivered
			// again: ask for the code again, as a new step.
			t.Goto(StateAwaitingTOTPCode)
			t.ask(bot.SecretTOTPCode, "totp.ask_totp", map[string]any{"Issuer": f.issuer}, t.Button("totp.button.verify", "verify"), t.cancelButton())
		} else {
			t.ask(bot.SecretTOTPCode, "totp.code_format", nil, t.Button("totp.button.verify", "verify"), t.cancelButton())
		}
		return nil
	case errors.As(err, &bad):
		t.SetState(StateAwaitingTOTPCode)
		t.Tag("last_error", "wrong authenticator code")
		t.ask(bot.SecretTOTPCode, "totp.bad_totp_code", map[string]any{"Count": bad.AttemptsLeft}, t.Button("totp.button.verify", "verify"), t.cancelButton())
		return nil
	case errors.Is(err, portal.ErrCodeReplayed):
		t.SetState(StateAwaitingTOTPCode)
		t.ask(bot.SecretTOTPCode, "totp.code_replayed", nil, t.Button("totp.button.verify", "verify"), t.cancelButton())
		return nil
	case errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrNotFound):
		// The enrollment is void: start the QR step again with a new one.
		t.Delete("qr")
		t.Delete("key")
		t.d.EnrollmentID = ""
		t.d.EnrollRound++
		t.say("totp.enrollment_void", nil)
		return f.enrollOrReauth(ctx, t)
	case errors.Is(err, portal.ErrWrongState):
		t.Delete("qr")
		t.Delete("key")
		t.End(StateAlreadyTOTP)
		t.say("totp.already_totp", nil)
		return nil
	default:
		return err
	}
}

// recoveryCodes issues the recovery codes (persist, then call) and sends
// them in a protected message that is deleted once the user has saved them.
func (f *Flow) recoveryCodes(ctx context.Context, t *turn) error {
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	codes, err := f.core.IssueRecoveryCodes(ctx, t.d.EnrollmentID, f.recovery)
	if err != nil {
		return err
	}
	t.Delete("recovery")
	t.Send(bot.Reply{ID: "totp.recovery_codes", Text: t.T("totp.recovery_codes", t.withSteps(map[string]any{"Codes": strings.Join(codes, "\n")})),
		Protected: true, Sensitive: true, Ref: "recovery", Buttons: []bot.Button{t.Button("totp.button.saved", "saved")}})
	return nil
}

// cancel ends the flow at the user's request.
func (f *Flow) cancel(ctx context.Context, t *turn) error {
	if t.d.Activated {
		// The app is already verified: there is nothing left to cancel.
		f.end(ctx, t, StateDone, "totp.done", nil)
		return nil
	}
	msg := "totp.cancelled"
	if !t.d.Disabled && !t.d.DisableTried {
		msg = "totp.cancelled_unchanged"
	}
	f.end(ctx, t, StateCancelled, msg, nil)
	return nil
}

// blocked ends the flow at once when the user blocked the bot: the
// pending enrollment is voided and, in the disable-then-enroll order, SMS
// 2FA restored now rather than when the QR code would expire. A restore
// the core refuses for now is retried by StateRestoring as after a
// cancel. Nothing is delivered (the engine parked the session); an app
// already verified leaves the account as it is.
func (f *Flow) blocked(ctx context.Context, t *turn) error {
	if t.d.Activated {
		f.end(ctx, t, StateDone, "totp.done", nil)
		return nil
	}
	if t.Session.State == StateRestoring {
		t.d.Ending = StateBlocked
		return f.retryRestore(ctx, t)
	}
	f.end(ctx, t, StateBlocked, "totp.blocked", nil)
	return nil
}

// end releases what the session holds and ends it in state with message
// msg — after restoring SMS 2FA if the flow disabled it and no app was
// verified, so that no path leaves the account without a second factor.
// If the restore cannot be done now, the session waits in
// StateRestoring and retries.
func (f *Flow) end(ctx context.Context, t *turn, state bot.State, msg string, msgData map[string]any) {
	f.release(ctx, t)
	if t.d.mustRestore() && !f.restore(ctx, t, state, msg, msgData) {
		return
	}
	t.End(state)
	t.say(msg, msgData)
}

// restore calls RestoreFactor for the session's disable (persist, then
// call). It reports whether the account is safe to leave: restored now or
// before, or it has a method again. On a failure it moves the session to
// StateRestoring, remembers how to end, and retries in a minute.
func (f *Flow) restore(ctx context.Context, t *turn, ending bot.State, msg string, msgData map[string]any) bool {
	t.d.Ending, t.d.EndingMsg, t.d.EndingData = ending, msg, msgData
	if t.Session.State != StateRestoring {
		t.Goto(StateRestoring)
	}
	if err := t.Checkpoint(ctx); err != nil {
		return f.restoreLater(t)
	}
	err := f.core.RestoreFactor(ctx, t.Key("disable"), t.Key("restore"))
	switch {
	case err == nil:
		t.d.Restored = true
		t.Tag("restored", "sms")
		t.say("totp.restored", nil)
	case errors.Is(err, portal.ErrWrongState), errors.Is(err, portal.ErrNotFound):
		// The account has a method again (or was never disabled by us).
		t.d.Restored = true
	default:
		return f.restoreLater(t)
	}
	return true
}

func (f *Flow) restoreLater(t *turn) bool {
	if !t.d.RetryNoted {
		t.d.RetryNoted = true
		t.say("totp.restore_pending", nil)
	}
	t.WakeAt(t.Now.Add(time.Minute))
	return false
}

// retryRestore runs in StateRestoring on any event or timer.
func (f *Flow) retryRestore(ctx context.Context, t *turn) error {
	if f.restore(ctx, t, t.d.Ending, t.d.EndingMsg, t.d.EndingData) {
		t.End(t.d.Ending)
		t.say(t.d.EndingMsg, t.d.EndingData)
	}
	return nil
}

// timer handles a KindTimer wake-up outside transient states: the reminder
// after SMS 2FA was disabled, and the restore when the pending enrollment
// expired unverified.
func (f *Flow) timer(ctx context.Context, t *turn) error {
	if !t.d.needsRestore() {
		return nil
	}
	if !t.d.EnrollExpiry.IsZero() && !t.Now.Before(t.d.EnrollExpiry) && t.Session.State == StateAwaitingTOTPCode {
		f.end(ctx, t, StateExpired, "totp.enrollment_expired", nil)
		return nil
	}
	if !t.d.ReminderSent && !t.Now.Before(t.d.DisabledAt.Add(f.reminder)) {
		t.d.ReminderSent = true
		// The step's own buttons stay at hand beside "Resume setup".
		t.say("totp.reminder", nil, append([]bot.Button{t.Button("totp.button.resume", "resume")}, f.stepButtons(t)...)...)
	}
	return nil
}

// schedule sets the session's next wake-up: the reminder and the end of
// the pending enrollment, while SMS 2FA is off and no app is verified.
func (f *Flow) schedule(t *turn) {
	if t.Session.Done || t.Session.State == StateRestoring || !t.d.needsRestore() {
		return
	}
	var next time.Time
	if !t.d.ReminderSent {
		next = t.d.DisabledAt.Add(f.reminder)
	}
	if t.Session.State == StateAwaitingTOTPCode && !t.d.EnrollExpiry.IsZero() && (next.IsZero() || t.d.EnrollExpiry.Before(next)) {
		next = t.d.EnrollExpiry
	}
	if !next.IsZero() {
		t.WakeAt(next)
	}
}

// resume answers the reminder's button: it takes the user back to the QR
// step (a new QR code if the earlier one is gone).
func (f *Flow) resume(ctx context.Context, t *turn) error {
	switch t.Session.State {
	case StateOfferSetup, StateChooseMethod:
		return f.enrollOrReauth(ctx, t)
	case StateAwaitingTOTPCode:
		t.ask(bot.SecretTOTPCode, "totp.ask_totp", map[string]any{"Issuer": f.issuer}, t.Button("totp.button.verify", "verify"), t.cancelButton())
	default:
		f.help(t)
	}
	return nil
}

// Expire ends an idle session: it voids the pending enrollment, deletes
// the QR code and key from the chat and tells the user.
func (f *Flow) Expire(ctx context.Context, bt *bot.Turn) error {
	d, err := bot.LoadData[data](bt)
	if err != nil {
		return err
	}
	t := f.turn(bt, &d)
	if t.Session.State == StateRestoring {
		if err := f.retryRestore(ctx, t); err != nil {
			return err
		}
	} else {
		f.end(ctx, t, StateExpired, "totp.expired", nil)
	}
	if t.Session.Done {
		t.d.forgetGrant()
	}
	return t.SetData(t.d)
}

// release voids a pending enrollment and deletes the sensitive messages.
func (f *Flow) release(ctx context.Context, t *turn) {
	if t.d.EnrollmentID != "" {
		// Best effort: an enrollment left pending expires in the core anyway.
		_ = f.core.CancelTOTPEnrollment(ctx, t.d.EnrollmentID)
		t.d.EnrollmentID = ""
	}
	t.Delete("qr")
	t.Delete("key")
	t.Delete("recovery")
}

func (f *Flow) lockedEnd(ctx context.Context, t *turn, locked *portal.LockedError) {
	mins := int(math.Round(locked.RetryAfter.Sub(t.Now).Minutes()))
	if mins < 1 {
		mins = 1
	}
	msg := "totp.locked"
	switch {
	case locked.SMSLimit:
		msg = "totp.sms_limit"
	case locked.Operator:
		msg = "totp.locked_support" // 100 consecutive failures: no retry time
	}
	f.end(ctx, t, StateLocked, msg, map[string]any{"Until": locked.RetryAfter.UTC().Format("15:04 UTC"), "Minutes": mins})
}

// reverify sends the user back to the password step because the grant
// lapsed before a step that needs it.
func (f *Flow) reverify(t *turn) {
	t.d.Grant, t.d.GrantLevel, t.d.GrantExpires = "", "", time.Time{}
	t.Goto(StateAwaitingPassword)
	t.say("totp.reverify", nil)
	t.ask(bot.SecretPassword, "totp.ask_password", nil, t.cancelButton())
}

func (f *Flow) setGrant(t *turn, g portal.Grant) {
	t.d.Grant, t.d.GrantLevel, t.d.GrantExpires = g.Token, g.Level, g.ExpiresAt
}

// grantValid reports whether the session's grant is usable for at least
// the flow's margin from now.
func (t *turn) grantValid() bool {
	return t.d.Grant != "" && t.Now.Add(t.margin).Before(t.d.GrantExpires)
}

// useButtons answers text where a button is expected: it shows the
// step's prompt with its buttons again.
func (f *Flow) useButtons(t *turn) {
	t.say("totp.use_buttons", nil)
	if t.Session.State != StateRecoveryCodes {
		f.reprompt(t)
	}
}

func (f *Flow) unsupported(t *turn) {
	hint := "totp.hint_code"
	switch t.Session.Expect {
	case bot.SecretPassword:
		hint = "totp.hint_password"
	case bot.SecretNone:
		if t.Session.State == StateAwaitingEmail {
			hint = "totp.hint_email"
		} else {
			f.useButtons(t)
			return
		}
	}
	t.say("totp.type_text", map[string]any{"Hint": t.T(hint, nil)})
}

// reprompt shows the current step's prompt again (after a hand-back from
// a support agent).
func (f *Flow) reprompt(t *turn) {
	buttons := f.stepButtons(t)
	switch t.Session.State {
	case StateAwaitingEmail:
		if t.d.HandoffToken != "" {
			t.say("totp.handoff_confirm", nil, buttons...)
		} else {
			t.say("totp.ask_email", nil, buttons...)
		}
	case StateAwaitingPassword:
		t.ask(bot.SecretPassword, "totp.ask_password", nil, buttons...)
	case StateAwaitingSMSCode:
		t.ask(bot.SecretSMSCode, "totp.hint_code", nil, buttons...)
	case StateConfirmDisable:
		t.say(f.confirmDisableMsg(), nil, buttons...)
	case StateOfferSetup:
		t.say("totp.offer_setup", nil, buttons...)
	case StateChooseMethod:
		t.say("totp.choose_method", nil, buttons...)
	case StateAwaitingReauth:
		t.ask(bot.SecretPassword, "totp.reauth", nil, buttons...)
	case StateAwaitingTOTPCode:
		t.ask(bot.SecretTOTPCode, "totp.ask_totp", map[string]any{"Issuer": f.issuer}, buttons...)
	case StateActivated:
		t.say("totp.activated", nil, buttons...)
	case StateRecoveryCodes:
		t.say("totp.use_buttons", nil)
	default:
		f.help(t)
	}
}

// stepButtons returns the buttons of the current step's prompt.
func (f *Flow) stepButtons(t *turn) []bot.Button {
	switch t.Session.State {
	case StateAwaitingEmail:
		if t.d.HandoffToken != "" {
			return []bot.Button{t.Button("totp.button.handoff_start", "handoff_start"), t.cancelButton()}
		}
		return []bot.Button{t.cancelButton()}
	case StateAwaitingReauth:
		return []bot.Button{t.cancelButton()}
	case StateAwaitingPassword:
		return f.passwordButtons(t)
	case StateAwaitingSMSCode:
		return []bot.Button{t.Button("totp.button.resend", "resend"), t.cancelButton()}
	case StateConfirmDisable:
		return []bot.Button{t.Button("totp.button.disable", "disable"), t.cancelButton()}
	case StateOfferSetup:
		return []bot.Button{t.Button("totp.button.setup", "setup"), t.cancelButton()}
	case StateChooseMethod:
		return []bot.Button{t.Button("totp.button.app", "app"), t.cancelButton()}
	case StateAwaitingTOTPCode:
		return []bot.Button{t.Button("totp.button.verify", "verify"), t.cancelButton()}
	case StateActivated:
		return []bot.Button{t.Button("totp.button.okay", "okay")}
	}
	return nil
}

// help says which step the user is at and what it is about, with the
// step's buttons, so that the answer to /help can be acted on at once.
func (f *Flow) help(t *turn) {
	what := map[bot.State]string{
		StateAwaitingEmail: "totp.what.identify", StateAwaitingPassword: "totp.what.identify",
		StateAwaitingSMSCode: "totp.what.identify", StateConfirmDisable: "totp.what.disable",
		StateOfferSetup: "totp.what.setup", StateChooseMethod: "totp.what.setup",
		StateAwaitingReauth: "totp.what.reauth", StateAwaitingTOTPCode: "totp.what.scan",
	}[t.Session.State]
	switch {
	case t.Session.State == StateActivated:
		t.say("totp.help_activated", map[string]any{"Step": progress[StateActivated]}, f.stepButtons(t)...)
		return
	case t.Session.State == StateRecoveryCodes:
		t.say("totp.help_recovery", map[string]any{"Step": progress[StateRecoveryCodes]})
		return
	case what == "":
		what = "totp.what.identify"
	case what == "totp.what.disable" && f.swap:
		what = "totp.what.swap"
	}
	buttons := f.stepButtons(t)
	step := progress[t.Session.State]
	if step == 0 {
		step = 1
	}
	msg := "totp.help"
	if t.d.needsRestore() {
		// SMS 2FA is off already: /cancel turns it back on.
		msg = "totp.help_sms_off"
		if t.d.ReminderSent && t.Session.Expect == bot.SecretNone {
			// Keep the reminder's "Resume setup" at hand (not at a
			// password or code prompt, where a typed label would be
			// taken for the answer).
			buttons = append([]bot.Button{t.Button("totp.button.resume", "resume")}, buttons...)
		}
	}
	t.say(msg, map[string]any{"Step": step, "What": t.T(what, nil)}, buttons...)
}

// groupKey splits a base32 key in groups of 4 for easier typing.
func groupKey(k string) string {
	var b strings.Builder
	for i, r := range k {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// confirmDisableMsg is the step-2 text: what "Disable 2FA" does in the
// configured order.
func (f *Flow) confirmDisableMsg() string {
	if f.swap {
		return "totp.confirm_swap"
	}
	return "totp.confirm_disable"
}
