package newphone

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode/utf8"

	"guidedfix/bot"
	"guidedfix/internal/portal"
	"guidedfix/internal/qr"
)

// maxPasswordBytes bounds what is sent to the core as a password.
const maxPasswordBytes = 1024

// minPasswordRunes is the portal's shortest password: a shorter answer is
// not sent to the core and costs no try.
const minPasswordRunes = 8

func (f *Flow) handle(ctx context.Context, t *turn) error {
	ev := t.Event
	if ev.Kind == bot.KindBlocked {
		f.end(ctx, t, StateBlocked, msgBlocked, nil)
		return nil
	}
	switch t.Session.State {
	case StateVerifyingRecovery:
		// Transient states resume whatever the event (a crash interrupted
		// them): the core answers a repeated key with its first result.
		return f.recovery(ctx, t, ev.Secret, true)
	case StateEnrolling:
		return f.enroll(ctx, t)
	case StateReplacing:
		return f.replace(ctx, t, ev.Secret)
	}
	switch {
	case ev.Kind == bot.KindTimer:
		return nil
	case ev.Kind == bot.KindCommand && ev.Command == "cancel",
		ev.Kind == bot.KindButton && ev.Data == actCancel:
		f.end(ctx, t, StateCancelled, cancelText(t.Session.State, t.d.CodesReplaced), nil)
		return nil
	case ev.Kind == bot.KindCommand:
		f.help(t)
		return nil
	case ev.Kind == bot.KindStart && ev.Data != "" && t.Session.Tags[bot.TagHandoff] != "":
		// The hand-off link opened again: keep the progress.
		f.reprompt(t)
		return nil
	case ev.Kind == bot.KindStart:
		// A start command in the middle: release what this session holds
		// and begin again in a new session.
		if t.d.EnrollmentID != "" {
			t.Say(msgRestarting, nil)
		}
		f.release(ctx, t)
		t.Restart(StateCancelled)
		return nil
	case ev.Kind == bot.KindUnsupported:
		t.Say(msgTypeText, nil)
		f.reprompt(t)
		return nil
	case ev.Kind == bot.KindResume:
		return f.resume(ctx, t)
	}
	switch t.Session.State {
	case StateAwaitingEmail:
		if ev.Kind == bot.KindButton && ev.Data == actHandoffStart && t.d.HandoffToken != "" {
			token := t.d.HandoffToken
			t.d.HandoffToken = ""
			if !f.handoff(ctx, t, token) {
				t.Say(msgAskEmail, nil, t.cancelButton())
			}
			return nil
		}
		if ev.Kind != bot.KindText {
			f.reprompt(t)
			return nil
		}
		t.d.HandoffToken = ""
		f.identify(ctx, t, ev.Text, false)
	case StateAwaitingPassword:
		if ev.Kind == bot.KindButton && ev.Data == actOtherEmail && t.Session.Tags[bot.TagHandoff] == "" {
			*t.d = data{}
			t.Tag(bot.TagAccount, "")
			t.Goto(StateAwaitingEmail)
			t.Say(msgAskEmail, nil, t.cancelButton())
			return nil
		}
		if ev.Kind != bot.KindSecret {
			f.reprompt(t)
			return nil
		}
		return f.password(ctx, t, ev.Secret)
	case StateChooseProof, StateNoRecoveryCodes:
		switch {
		case ev.Kind == bot.KindButton && ev.Data == actHaveOld:
			t.Goto(StateAwaitingCurrentCode)
			t.Ask(bot.SecretTOTPCode, msgAskCurrentCode, nil, t.cancelButton())
		case ev.Kind == bot.KindButton && ev.Data == actLostOld && t.Session.State == StateChooseProof:
			return f.lostPhone(ctx, t)
		default:
			t.Say(msgUseButtons, nil)
			f.reprompt(t)
		}
	case StateAwaitingCurrentCode:
		if ev.Kind != bot.KindSecret {
			f.reprompt(t)
			return nil
		}
		if f.labelTyped(t, ev.Secret) {
			return nil
		}
		return f.currentCode(ctx, t, ev.Secret)
	case StateAwaitingRecoveryCode:
		if ev.Kind != bot.KindSecret {
			f.reprompt(t)
			return nil
		}
		if f.labelTyped(t, ev.Secret) {
			return nil
		}
		return f.recovery(ctx, t, ev.Secret, false)
	case StateShowingRecoveryCodes:
		if ev.Kind == bot.KindButton && ev.Data == actSaved {
			t.Delete("recovery")
			t.Goto(StateEnrolling)
			return f.enroll(ctx, t)
		}
		f.reprompt(t)
	case StateAwaitingNewCode:
		if ev.Kind == bot.KindButton && ev.Data == actVerify {
			t.Ask(bot.SecretTOTPCode, msgAskNewCode, nil, t.cancelButton())
			return nil
		}
		if ev.Kind == bot.KindButton && ev.Data == actShowQR {
			return f.showQRAgain(ctx, t)
		}
		if ev.Kind != bot.KindSecret {
			f.reprompt(t)
			return nil
		}
		if f.labelTyped(t, ev.Secret) {
			return nil
		}
		if f.oldCodeAgain(t, ev.Secret) {
			return nil
		}
		t.SetState(StateReplacing)
		return f.replace(ctx, t, ev.Secret)
	default:
		return fmt.Errorf("newphone: no handler for state %q", t.Session.State)
	}
	return nil
}

// passwordButtons are the buttons of the password prompt: "Use another
// e-mail" (not for a hand-off, whose account is fixed) and Cancel.
func (f *Flow) passwordButtons(t *turn) []bot.Button {
	if t.Session.Tags[bot.TagHandoff] == "" {
		return []bot.Button{t.Button(msgButtonOtherEmail, actOtherEmail), t.cancelButton()}
	}
	return []bot.Button{t.cancelButton()}
}

// identify records which account the conversation is about. An unknown
// e-mail is not revealed: the password is asked all the same and answered
// as a wrong one (the core counts its failures like a real account's).
func (f *Flow) identify(ctx context.Context, t *turn, input string, proposed bool) {
	// Full-width and other compatibility forms are folded (NFKC), case is
	// ignored and RFC 5321 §4.5.3.1's lengths are enforced before the
	// core is asked anything.
	email, err := portal.NormalizeEmail(input)
	if err != nil {
		t.Say(msgBadEmail, nil, t.cancelButton())
		return
	}
	acc, err := f.core.LookupAccount(ctx, email)
	switch {
	case err == nil:
		t.d.AccountID, t.d.Unknown, t.d.Probe = acc.ID, false, ""
		t.Tag(bot.TagAccount, acc.ID)
	case errors.Is(err, portal.ErrNotFound):
		t.d.AccountID, t.d.Unknown, t.d.Probe = "", true, f.core.UnknownAccount(email)
	default:
		t.d.AccountID, t.d.Unknown, t.d.Probe = "", true, ""
	}
	t.Goto(StateAwaitingPassword)
	if proposed {
		t.Say(msgProposedEmail, map[string]any{"Email": email})
	}
	t.Ask(bot.SecretPassword, msgAskPassword, nil, f.passwordButtons(t)...)
}

// handoff starts from a support hand-off link: the token names the
// account; the customer still proves the password and the current factor.
func (f *Flow) handoff(ctx context.Context, t *turn, token string) bool {
	if f.handoffs == nil {
		return false
	}
	accountID, handoffID, err := f.handoffs.Redeem(ctx, token, t.Session.Conversation.String())
	if err != nil {
		t.Say(msgHandoffInvalid, nil)
		return false
	}
	acc, err := f.core.Account(ctx, accountID)
	if err != nil {
		t.Say(msgHandoffInvalid, nil)
		return false
	}
	t.d.AccountID = acc.ID
	t.Tag(bot.TagAccount, acc.ID)
	t.Tag(bot.TagHandoff, handoffID)
	t.Goto(StateAwaitingPassword)
	t.Say(msgHandoffWelcome, map[string]any{"Email": maskEmail(acc.Email)})
	t.Ask(bot.SecretPassword, msgAskPassword, nil, t.cancelButton())
	return true
}

// maskEmail shows the first character of the local part and the domain.
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "•••"
	}
	return local[:1] + "•••@" + domain
}

// password checks the password and, for an account that uses an
// authenticator app, asks how the current factor will be proved.
func (f *Flow) password(ctx context.Context, t *turn, pw bot.Secret) error {
	if p := pw.Reveal(); strings.TrimSpace(p) == "" || len(p) > maxPasswordBytes || !utf8.ValidString(p) || utf8.RuneCountInString(p) < minPasswordRunes {
		t.Ask(bot.SecretPassword, msgHintPassword, nil, f.passwordButtons(t)...)
		return nil
	}
	id := t.d.AccountID
	if t.d.Unknown {
		id = t.d.Probe
	}
	g, err := f.core.VerifyPassword(ctx, id, pw.Reveal())
	var locked *portal.LockedError
	switch {
	case errors.As(err, &locked):
		f.lockedEnd(ctx, t, locked)
		return nil
	case errors.Is(err, portal.ErrBadPassword):
		t.d.Tries++
		left := f.tries - t.d.Tries
		if left <= 0 {
			f.lockedEnd(ctx, t, &portal.LockedError{RetryAfter: t.Now.Add(15 * time.Minute)})
			return nil
		}
		t.Tag(bot.TagLastError, "wrong password")
		t.Ask(bot.SecretPassword, msgBadPassword, map[string]any{"Count": left}, f.passwordButtons(t)...)
		return nil
	case err != nil:
		return err
	}
	t.d.Tries = 0
	f.setGrant(t, g)
	t.Tag(bot.TagVerified, "password")
	st, err := f.core.SecurityStatus(ctx, t.d.AccountID)
	if err != nil {
		return err
	}
	if st.Method != portal.MethodTOTP {
		f.end(ctx, t, StateNotTOTP, msgNotTOTP, nil)
		return nil
	}
	t.Goto(StateChooseProof)
	f.reprompt(t)
	return nil
}

// lostPhone offers the recovery code, or — for an account without any —
// "Talk to a person" (added by the engine under the step's buttons when
// support is configured) instead of a dead end.
func (f *Flow) lostPhone(ctx context.Context, t *turn) error {
	st, err := f.core.SecurityStatus(ctx, t.d.AccountID)
	if err != nil {
		return err
	}
	if st.RecoveryCodes == 0 {
		t.Goto(StateNoRecoveryCodes)
		t.Tag(bot.TagLastError, "no recovery codes")
		f.reprompt(t)
		return nil
	}
	t.Goto(StateAwaitingRecoveryCode)
	t.Ask(SecretRecoveryCode, msgAskRecoveryCode, map[string]any{"Count": st.RecoveryCodes}, t.cancelButton())
	return nil
}

// currentCode proves the current factor with a code of the current app.
func (f *Flow) currentCode(ctx context.Context, t *turn, code bot.Secret) error {
	if !t.grantValid() {
		f.reverify(t)
		return nil
	}
	g, err := f.core.ElevateWithTOTP(ctx, t.d.Grant, code.Reveal())
	var bad *portal.BadCodeError
	var locked *portal.LockedError
	switch {
	case err == nil:
		f.setGrant(t, g)
		t.d.UsedCode = f.usedCodeMAC(t.Session.ID, code.Reveal())
		t.Tag(bot.TagVerified, "totp")
		t.Goto(StateEnrolling)
		return f.enroll(ctx, t)
	case errors.As(err, &locked):
		f.lockedEnd(ctx, t, locked)
	case errors.As(err, &bad):
		t.Tag(bot.TagLastError, "wrong authenticator code")
		t.Ask(bot.SecretTOTPCode, msgBadCurrentCode, map[string]any{"Count": bad.AttemptsLeft}, t.cancelButton())
	case errors.Is(err, portal.ErrCodeFormat):
		t.Ask(bot.SecretTOTPCode, msgCodeFormat, nil, t.cancelButton())
	case errors.Is(err, portal.ErrCodeReplayed):
		t.Ask(bot.SecretTOTPCode, msgCodeReplayed, nil, t.cancelButton())
	case errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrBadGrant):
		f.reverify(t)
	case errors.Is(err, portal.ErrWrongState):
		f.end(ctx, t, StateNotTOTP, msgNotTOTP, nil)
	default:
		return err
	}
	return nil
}

// recovery proves the current factor with a recovery code (persist, then
// call): the core spends it and replaces the set; the new codes are shown
// once. resumed says the turn resumes StateVerifyingRecovery.
func (f *Flow) recovery(ctx context.Context, t *turn, code bot.Secret, resumed bool) error {
	if !resumed {
		if !t.grantValid() {
			f.reverify(t)
			return nil
		}
		t.d.RecoveryRound++
		t.SetState(StateVerifyingRecovery)
	}
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	el, err := f.core.ElevateWithRecoveryCode(ctx, t.d.Grant, code.Reveal(), t.Key(fmt.Sprintf("recovery:%d", t.d.RecoveryRound)))
	var bad *portal.BadCodeError
	var locked *portal.LockedError
	switch {
	case err == nil:
		f.setGrant(t, el.Grant)
		t.Tag(bot.TagVerified, "recovery_code")
		t.d.CodesReplaced = true
		t.Goto(StateShowingRecoveryCodes)
		t.Send(bot.Reply{ID: msgRecoveryCodes, Text: t.T(msgRecoveryCodes, map[string]any{"Codes": strings.Join(el.Codes, "\n")}),
			Protected: true, Sensitive: true, Ref: "recovery", Buttons: []bot.Button{t.Button(msgButtonSaved, actSaved)}})
	case errors.As(err, &locked):
		f.lockedEnd(ctx, t, locked)
	case errors.As(err, &bad):
		t.SetState(StateAwaitingRecoveryCode)
		t.Tag(bot.TagLastError, "wrong recovery code")
		t.Ask(SecretRecoveryCode, msgBadRecoveryCode, map[string]any{"Count": bad.AttemptsLeft}, t.cancelButton())
	case errors.Is(err, portal.ErrCodeFormat), errors.Is(err, portal.ErrCodeReplayed):
		// Malformed (or, resuming, never sent): ask again, as a new step.
		t.Goto(StateAwaitingRecoveryCode)
		t.Ask(SecretRecoveryCode, msgRecoveryFormat, nil, t.cancelButton())
	case errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrBadGrant):
		f.reverify(t)
	case errors.Is(err, portal.ErrWrongState):
		f.end(ctx, t, StateNotTOTP, msgNotTOTP, nil)
	default:
		return err
	}
	return nil
}

// enroll begins the replacement enrollment (persist, then call) and sends
// the new QR code and manual key, protected and marked sensitive.
func (f *Flow) enroll(ctx context.Context, t *turn) error {
	if t.d.EnrollRound == 0 {
		t.d.EnrollRound = 1
	}
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	en, err := f.core.BeginTOTPReplacement(ctx, t.d.Grant, t.Key(fmt.Sprintf("replace:%d", t.d.EnrollRound)))
	switch {
	case errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrBadGrant), errors.Is(err, portal.ErrNeedElevation):
		f.reverify(t)
		return nil
	case errors.Is(err, portal.ErrWrongState):
		f.end(ctx, t, StateNotTOTP, msgNotTOTP, nil)
		return nil
	case err != nil:
		return err
	}
	t.d.EnrollmentID, t.d.EnrollExpiry = en.ID, en.ExpiresAt
	t.Goto(StateAwaitingNewCode)
	return f.sendQR(t, en)
}

// sendQR sends en's QR code (qrReply), its manual key (keyReply) and the
// request for the new app's code; it returns the QR rendering's error
// (the turn then fails and nothing of it is saved).
func (f *Flow) sendQR(t *turn, en portal.Enrollment) error {
	q, err := qrReply(t, en)
	if err != nil {
		return err
	}
	t.Send(q)
	t.Send(keyReply(t, en))
	t.Ask(bot.SecretTOTPCode, msgAskNewCode, map[string]any{"Issuer": en.Issuer}, f.newCodeButtons(t)...)
	return nil
}

// replace confirms the new app's code (persist, then call): the core
// replaces the secret in one transaction. An empty code resumes an
// interrupted confirmation.
func (f *Flow) replace(ctx context.Context, t *turn, code bot.Secret) error {
	if err := t.Checkpoint(ctx); err != nil {
		return err
	}
	err := f.core.ConfirmTOTPReplacement(ctx, t.d.EnrollmentID, code.Reveal(), t.Key("confirm:"+t.d.EnrollmentID))
	var bad *portal.BadCodeError
	var locked *portal.LockedError
	switch {
	case err == nil:
		t.d.Replaced, t.d.EnrollmentID = true, ""
		t.Delete("qr")
		t.Delete("key")
		t.End(StateDone)
		t.Say(msgDone, nil)
	case errors.As(err, &locked):
		f.lockedEnd(ctx, t, locked)
	case errors.As(err, &bad):
		t.SetState(StateAwaitingNewCode)
		t.Tag(bot.TagLastError, "wrong new authenticator code")
		msg := msgBadNewCode
		if errors.Is(err, portal.ErrClockDrift) {
			// The right code of a step outside the window (RFC 6238 §6):
			// refused and counted, with the clock hint.
			msg = msgClockDrift
		}
		t.Ask(bot.SecretTOTPCode, msg, map[string]any{"Count": bad.AttemptsLeft}, f.newCodeButtons(t)...)
	case errors.Is(err, portal.ErrCodeFormat), errors.Is(err, portal.ErrCodeReplayed):
		t.SetState(StateAwaitingNewCode)
		if code == "" {
			t.Goto(StateAwaitingNewCode)
			t.Ask(bot.SecretTOTPCode, msgAskNewCode, nil, f.newCodeButtons(t)...)
		} else {
			t.Ask(bot.SecretTOTPCode, msgCodeFormat, nil, f.newCodeButtons(t)...)
		}
	case errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrNotFound):
		// The new QR code is void (expired, voided elsewhere, or 5 wrong
		// codes that did not also throttle this source: those are a
		// *portal.ExhaustedError, handled above as the lock it started,
		// since a new QR code could not be verified before it ends).
		return f.renew(ctx, t)
	case errors.Is(err, portal.ErrWrongState):
		f.end(ctx, t, StateNotTOTP, msgNotTOTP, nil)
	default:
		return err
	}
	return nil
}

// renew answers a new QR code that became void (expired, or 5 wrong
// codes): its messages are deleted and the user told to delete its entry
// from the new phone's app (the old app still works); a new one is made
// at once while the grant lasts, else the password is asked again.
func (f *Flow) renew(ctx context.Context, t *turn) error {
	t.Delete("qr")
	t.Delete("key")
	t.d.EnrollmentID = ""
	t.d.EnrollRound++
	t.Say(msgEnrollmentVoid, nil)
	if !t.grantValid() {
		f.reverify(t)
		return nil
	}
	t.Goto(StateEnrolling)
	return f.enroll(ctx, t)
}

// newCodeButtons are the buttons of the new-code step's prompt: Verify,
// Show the QR code again, Cancel.
func (f *Flow) newCodeButtons(t *turn) []bot.Button {
	return []bot.Button{t.Button(msgButtonVerify, actVerify), t.Button(msgButtonShowQR, actShowQR), t.cancelButton()}
}

// showQRAgain answers "Show the QR code again" at the new-code step: the
// core returns the same pending replacement (same secret) under the
// enrollment's idempotency key (portal.Core.BeginTOTPReplacement), so an
// entry the user already added keeps working; the earlier QR and key
// messages are deleted and sent again, protected. The state does not
// change. A replacement the core no longer has pending (expired, or void
// after 5 wrong codes: portal.ErrExpired) is renewed as a void one is; a
// grant the core refuses asks for the password again.
func (f *Flow) showQRAgain(ctx context.Context, t *turn) error {
	if t.d.EnrollmentID == "" || t.d.EnrollRound == 0 {
		f.reprompt(t)
		return nil
	}
	en, err := f.core.BeginTOTPReplacement(ctx, t.d.Grant, t.Key(fmt.Sprintf("replace:%d", t.d.EnrollRound)))
	switch {
	case err == nil && en.ID != t.d.EnrollmentID, errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrNotFound):
		return f.renew(ctx, t)
	case errors.Is(err, portal.ErrBadGrant), errors.Is(err, portal.ErrNeedElevation):
		f.reverify(t)
		return nil
	case err != nil:
		return err
	}
	t.Delete("qr")
	t.Delete("key")
	return f.sendQR(t, en)
}

// end releases what the session holds and ends it in state with msg.
func (f *Flow) end(ctx context.Context, t *turn, state bot.State, msg string, msgData map[string]any) {
	f.release(ctx, t)
	t.End(state)
	t.Say(msg, msgData)
}

// release voids a pending replacement (the old app keeps working) and
// deletes the sensitive messages.
func (f *Flow) release(ctx context.Context, t *turn) {
	if t.d.EnrollmentID != "" {
		// Best effort: a pending enrollment expires in the core anyway.
		_ = f.core.CancelTOTPEnrollment(ctx, t.d.EnrollmentID)
		t.d.EnrollmentID = ""
	}
	t.Delete("qr")
	t.Delete("key")
	t.Delete("recovery")
}

func (f *Flow) lockedEnd(ctx context.Context, t *turn, locked *portal.LockedError) {
	mins := max(int(math.Round(locked.RetryAfter.Sub(t.Now).Minutes())), 1)
	msg := msgLocked
	if locked.Operator {
		msg = msgLockedSupport
	}
	f.end(ctx, t, StateLocked, msg, map[string]any{"Until": locked.RetryAfter.UTC().Format("15:04 UTC"), "Minutes": mins})
}

// reverify sends the user back to the password step because the grant
// lapsed.
func (f *Flow) reverify(t *turn) {
	t.d.forgetGrant()
	t.Goto(StateAwaitingPassword)
	t.Say(msgReverify, nil)
	t.Ask(bot.SecretPassword, msgAskPassword, nil, t.cancelButton())
}

func (f *Flow) setGrant(t *turn, g portal.Grant) {
	t.d.Grant, t.d.GrantLevel, t.d.GrantExpires = g.Token, g.Level, g.ExpiresAt
}

// reprompt shows the current step's prompt again.
func (f *Flow) reprompt(t *turn) {
	switch t.Session.State {
	case StateAwaitingEmail:
		if t.d.HandoffToken != "" {
			t.Say(msgHandoffConfirm, nil, t.Button(msgButtonHandoffStart, actHandoffStart), t.cancelButton())
		} else {
			t.Say(msgAskEmail, nil, t.cancelButton())
		}
	case StateAwaitingPassword:
		t.Ask(bot.SecretPassword, msgAskPassword, nil, f.passwordButtons(t)...)
	case StateChooseProof:
		t.Say(msgChooseProof, nil, t.Button(msgButtonHaveOld, actHaveOld), t.Button(msgButtonLostOld, actLostOld), t.cancelButton())
	case StateNoRecoveryCodes:
		// "Talk to a person" is named only when the engine adds it under
		// this reply (bot.Turn.SupportOffered).
		msg := msgNoRecoveryCodesAlone
		if t.SupportOffered() {
			msg = msgNoRecoveryCodes
		}
		t.Say(msg, nil, t.Button(msgButtonHaveOld, actHaveOld), t.cancelButton())
	case StateAwaitingCurrentCode:
		t.Ask(bot.SecretTOTPCode, msgAskCurrentCode, nil, t.cancelButton())
	case StateAwaitingRecoveryCode:
		t.Ask(SecretRecoveryCode, msgRecoveryFormat, nil, t.cancelButton())
	case StateShowingRecoveryCodes:
		// The codes are stored only as hashes: they cannot be shown again.
		t.Say(msgCodesShownOnce, nil, t.Button(msgButtonSaved, actSaved), t.cancelButton())
	case StateAwaitingNewCode:
		t.Ask(bot.SecretTOTPCode, msgAskNewCode, nil, f.newCodeButtons(t)...)
	}
}

// help says what the current step is about and shows its prompt again.
func (f *Flow) help(t *turn) {
	t.Say(msgHelp, nil)
	f.reprompt(t)
}

// qrReply renders en's otpauth URI as a QR code (qr.PNG) and returns the
// protected, sensitive reply that shows it, under the ref "qr", with its
// caption; the error is the rendering's, wrapped.
func qrReply(t *turn, en portal.Enrollment) (bot.Reply, error) {
	png, err := qr.PNG(en.URI)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("render QR: %w", err)
	}
	return bot.Reply{ID: msgQRCaption, Text: t.T(msgQRCaption, nil), Image: png, QR: en.URI, Protected: true, Sensitive: true, Ref: "qr"}, nil
}

// keyReply returns the protected, sensitive reply, under the ref "key",
// that shows en's manual-entry key (qr.ManualKey) with its label.
func keyReply(t *turn, en portal.Enrollment) bot.Reply {
	key := qr.ManualKey(en.Secret)
	return bot.Reply{ID: msgManualKey, Text: t.T(msgManualKey, map[string]any{"Label": en.Label, "Key": key}), Code: []string{key},
		Protected: true, Sensitive: true, Ref: "key"}
}

// cancelText is the catalog id of the reply to a cancel in state s: before
// the password proved the account (awaiting_email, awaiting_password) the
// flow does not know whether it has an authenticator app, and an SMS-only
// account never gets past the password (it ends as not_totp), so there
// the reply only says nothing was changed; later it also says the current
// app still works. Once a recovery code was spent (codesReplaced) the
// reply says the set was replaced by the one shown, instead of "nothing
// was changed".
func cancelText(s bot.State, codesReplaced bool) string {
	switch {
	case codesReplaced:
		return msgCancelledCodesReplaced
	case s == StateAwaitingEmail, s == StateAwaitingPassword:
		return msgCancelledUnchanged
	}
	return msgCancelled
}
