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
	"fmt"
	"io/fs"
	"strings"
	"time"

	"guidedfix/bot"
)

//go:embed locales/*.yaml
var messages embed.FS

// Name is the flow's stable name, stored in sessions.
const Name = "totpswitch"

// Flow is the SMS → authenticator-app flow. It implements bot.Flow and
// bot.MessageSource.
type Flow struct {
	core     Core
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

// Start begins the flow: it greets the user and asks for the e-mail, or
// uses the e-mail the platform vouches for (Event.Email). A hand-off
// link whose token can be redeemed (Handoffs.Redeemable) asks the
// customer to press Start instead; any other start payload (an unknown,
// expired or used token, a mistyped link) is answered as one invalid
// link (msgLinkInvalid) before the normal start (issue 14 F9). The error
// is Redeemable's.
func (f *Flow) Start(ctx context.Context, bt *bot.Turn) error {
	ctx = withSource(ctx, bt)
	t := f.turn(bt, &data{})
	t.Goto(StateAwaitingEmail)
	t.say(msgWelcome, nil)
	if payload := bt.Event.Data; payload != "" {
		ok, err := f.redeemable(ctx, t, payload)
		if err != nil {
			return err
		}
		if ok {
			// A hand-off link: the token is spent only by the explicit
			// Start press (issue 11 item 9).
			t.d.HandoffToken = payload
			t.say(msgHandoffConfirm, nil, t.Button(msgButtonHandoffStart, "handoff_start"), t.cancelButton())
			return t.SetData(t.d)
		}
		t.say(msgLinkInvalid, nil)
	}
	if email := strings.TrimSpace(bt.Event.Email); email != "" {
		t.d.Pinned = bt.Event.EmailPinned
		f.identify(ctx, t, email, true)
	} else {
		t.say(msgAskEmail, nil, t.cancelButton())
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
	case ev.Kind == bot.KindStart && ev.Data != "" && t.Session.Tags[bot.TagHandoff] != "":
		// The customer opened the hand-off link again (a second click):
		// keep the progress and show where they are.
		t.say(msgContinue, nil)
		f.reprompt(t)
		return nil
	case ev.Kind == bot.KindStart:
		// /start or /2fa in the middle: release what this session holds and
		// begin again in a new session.
		hadQR := t.d.EnrollmentID != ""
		f.release(ctx, t)
		if t.d.mustRestore() && !f.restore(ctx, t, StateCancelled, msgRestarting, nil) {
			return nil
		}
		switch {
		case t.d.Activated:
			// The app was verified already: nothing to start over.
			t.say(msgDone, nil)
		case hadQR:
			// A new QR code replaces the scanned one: its entry in the
			// app is dead.
			t.say(msgRestartingQR, nil)
		}
		t.Restart(StateCancelled)
		return nil
	case ev.Kind == bot.KindButton && ev.Data == "resume":
		return f.resume(ctx, t)
	case ev.Kind == bot.KindUnsupported:
		f.unsupported(t)
		return nil
	case ev.Kind == bot.KindResume:
		return f.resumeStep(ctx, t)
	}
	switch t.Session.State {
	case StateAwaitingEmail:
		if ev.Kind == bot.KindButton && ev.Data == "handoff_start" && t.d.HandoffToken != "" {
			token := t.d.HandoffToken
			t.d.HandoffToken = ""
			if !f.handoff(ctx, t, token) {
				t.say(msgAskEmail, nil, t.cancelButton())
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
			t.Tag(bot.TagAccount, "")
			t.Tag(bot.TagVerified, "")
			t.Goto(StateAwaitingEmail)
			t.say(msgAskEmail, nil, t.cancelButton())
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
		if f.labelTyped(t, ev.Secret) {
			return nil
		}
		return f.smsCode(ctx, t, ev.Secret)
	case StateConfirmDisable:
		if ev.Kind == bot.KindButton && ev.Data == "disable" && f.swap {
			// Safe swap: SMS stays until the app's code is verified.
			t.Goto(StateOfferSetup)
			t.say(msgSwapKept, nil)
			t.say(msgOfferSetup, nil, t.Button(msgButtonSetup, "setup"), t.cancelButton())
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
			t.say(msgChooseMethod, nil, t.Button(msgButtonApp, "app"), t.cancelButton())
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
		if ev.Kind == bot.KindButton && ev.Data == actShowQR {
			return f.showQRAgain(ctx, t)
		}
		if ev.Kind == bot.KindButton && ev.Data == "verify" {
			t.ask(bot.SecretTOTPCode, msgHintCode, nil, t.cancelButton())
			return nil
		}
		if ev.Kind != bot.KindSecret {
			f.unsupported(t)
			return nil
		}
		if f.labelTyped(t, ev.Secret) {
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
			t.say(msgDone, nil)
			return nil
		}
		if f.reusedCode(t) {
			return nil
		}
		f.useButtons(t)
	case StateRecoveryCodes:
		switch {
		case ev.Kind == bot.KindButton && ev.Data == "saved":
			t.Delete("recovery")
			t.End(StateDone)
			t.say(msgDone, nil)
		case ev.Kind == bot.KindTimer:
			// A crash came between issuing and showing the codes: issue a
			// new set (the unseen one is void).
			return f.recoveryCodes(ctx, t)
		case f.reusedCode(t):
		default:
			f.useButtons(t)
		}
	default:
		return fmt.Errorf("%w: %q", ErrUnknownState, t.Session.State)
	}
	return nil
}
