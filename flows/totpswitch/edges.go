package totpswitch

import (
	"context"
	"errors"
	"fmt"

	"guidedfix/bot"
	"guidedfix/internal/portal"
	"guidedfix/internal/qr"
)

// Catalog ids of the issue 14 "rough edges" texts (locales/en.yaml,
// locales/ms.yaml), kept apart from messages.go.
const (
	// msgCodeUsed: a code typed after the app was verified; the message
	// was deleted. Data: Button, the label of the step's button.
	msgCodeUsed = "totp.code_used"
	// msgCodeUsedKept is msgCodeUsed where the bot cannot delete what the
	// user typed (bot.Event.Undeletable).
	msgCodeUsedKept = "totp.code_used_kept"
)

// reusedCode answers text that is a code alone (portal.NormalizeCode)
// typed after the authenticator app was verified (StateActivated,
// StateRecoveryCodes): typically the verified code typed again. The code
// was spent (RFC 6238 §5.2 allows a time step once) and the flow needs no
// code any more, so it is not sent to the core; the message is deleted
// from the chat (the engine's MsgDeleteUserSecret delete, as for a
// secret) and the user is told it was already used and which button
// continues. It reports whether it answered; the state does not change.
func (f *Flow) reusedCode(t *turn) bool {
	ev := t.Event
	if ev.Kind != bot.KindText || !t.d.Activated {
		return false
	}
	if _, ok := portal.NormalizeCode(ev.Text); !ok {
		return false
	}
	label := msgButtonOkay
	if t.Session.State == StateRecoveryCodes {
		label = msgButtonSaved
	}
	id := msgCodeUsedKept
	if ev.MessageID != "" && !ev.Undeletable {
		t.Send(bot.Reply{Op: bot.OpDelete, MessageID: ev.MessageID, ID: bot.MsgDeleteUserSecret})
		id = msgCodeUsed
	}
	t.say(id, map[string]any{"Button": t.T(label, nil)})
	return true
}

// The "Show the QR code again" button of the code step.
const (
	// msgButtonShowQR labels the button.
	msgButtonShowQR = "totp.button.show_qr"
	// actShowQR is its action.
	actShowQR = "show_qr"
)

// codeButtons are the buttons of the code step's prompt (KB step 9):
// Verify, Show the QR code again, Cancel.
func (f *Flow) codeButtons(t *turn) []bot.Button {
	return []bot.Button{t.Button(msgButtonVerify, "verify"), t.Button(msgButtonShowQR, actShowQR), t.cancelButton()}
}

// qrReply renders en's otpauth URI as a QR code (qr.PNG) and returns the
// protected, sensitive reply that shows it, under the ref "qr", with its
// caption; the error is the rendering's, wrapped.
func qrReply(t *turn, en portal.Enrollment) (bot.Reply, error) {
	png, err := qr.PNG(en.URI)
	if err != nil {
		return bot.Reply{}, fmt.Errorf("render QR: %w", err)
	}
	return bot.Reply{ID: msgQrCaption, Text: t.T(msgQrCaption, t.withSteps(nil)), Image: png, QR: en.URI,
		Protected: true, Sensitive: true, Ref: "qr"}, nil
}

// keyReply returns the protected, sensitive reply, under the ref "key",
// that shows en's manual-entry key (qr.ManualKey) with its label.
func keyReply(t *turn, en portal.Enrollment) bot.Reply {
	key := qr.ManualKey(en.Secret)
	return bot.Reply{ID: msgManualKey, Text: t.T(msgManualKey, map[string]any{"Label": en.Label, "Key": key}),
		Code: []string{key}, Protected: true, Sensitive: true, Ref: "key"}
}

// sendQR sends qrCode (qrReply of en), the manual key of en (keyReply)
// and the request for the code; the QR code and key are deleted once the
// enrollment is verified, cancelled or expired.
func (f *Flow) sendQR(t *turn, en portal.Enrollment, qrCode bot.Reply) {
	t.Send(qrCode)
	t.Send(keyReply(t, en))
	t.ask(bot.SecretTOTPCode, msgAskTotp, map[string]any{"Issuer": en.Issuer}, f.codeButtons(t)...)
}

// showQRAgain answers "Show the QR code again" at the code step: the core
// returns the same pending enrollment (same secret) under the
// enrollment's idempotency key, as Rerender does, so an entry the user
// already added keeps working; the earlier QR and key messages are deleted
// and sent again, protected. The state does not change. An enrollment the
// core no longer has pending (it expired) ends the flow as the expiry
// timer does.
func (f *Flow) showQRAgain(ctx context.Context, t *turn) error {
	if t.d.EnrollmentID == "" || t.d.EnrollRound == 0 {
		f.reprompt(t)
		return nil
	}
	en, err := f.core.BeginTOTPEnrollment(ctx, t.d.Grant, t.Key(fmt.Sprintf("enroll:%d", t.d.EnrollRound)))
	switch {
	case err == nil && en.ID != t.d.EnrollmentID,
		errors.Is(err, portal.ErrExpired), errors.Is(err, portal.ErrNotFound), errors.Is(err, portal.ErrBadGrant):
		f.end(ctx, t, StateExpired, msgEnrollmentExpired, nil)
		return nil
	case err != nil:
		return err
	}
	q, err := qrReply(t, en)
	if err != nil {
		return err
	}
	t.Delete("qr")
	t.Delete("key")
	f.sendQR(t, en, q)
	return nil
}

// msgClockDrift: a code from a phone whose clock is off. Data: Count,
// the tries left.
const msgClockDrift = "totp.clock_drift"

// clockDrift answers a code the core refused as the right one for a time
// step outside the accepted window (portal.ErrClockDrift, RFC 6238 §6):
// it counted as a failed attempt and is not accepted; the user is asked
// to turn on the phone's automatic date and time and type the new code.
func (f *Flow) clockDrift(t *turn, bad *portal.BadCodeError) {
	t.SetState(StateAwaitingTOTPCode)
	t.Tag(bot.TagLastError, "authenticator code from a phone clock that is off")
	t.ask(bot.SecretTOTPCode, msgClockDrift, map[string]any{"Count": bad.AttemptsLeft}, f.codeButtons(t)...)
}

// msgRestartingQR: starting over after a QR code was shown; the user is
// told to delete the dead entry from the app.
const msgRestartingQR = "totp.restarting_qr"
