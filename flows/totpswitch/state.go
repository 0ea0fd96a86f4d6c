package totpswitch

import "guidedfix/bot"

// States of the flow. The stored values are stable; a new flow version adds
// new names instead of changing these. Each comment lists the exits; states
// marked terminal end the session. state.mermaid draws the same table and a
// test checks the two agree.
const (
	// StateAwaitingEmail asks which portal account to change.
	// Exits: awaiting_password. Every non-terminal state can also exit to
	// cancelled and expired.
	StateAwaitingEmail bot.State = "awaiting_email"
	// StateAwaitingPassword asks the account password (KB step 5, identity).
	// Exits: awaiting_sms_code, offer_setup (2FA not active), already_totp,
	// locked (also after too many wrong passwords), awaiting_password (wrong
	// password).
	StateAwaitingPassword bot.State = "awaiting_password"
	// StateSendingSMS sends the SMS challenge (transient, resumable).
	// Exits: awaiting_sms_code, locked.
	StateSendingSMS bot.State = "sending_sms"
	// StateAwaitingSMSCode asks the code sent by SMS to the current phone.
	// Exits: confirm_disable, sending_sms (new code), locked.
	StateAwaitingSMSCode bot.State = "awaiting_sms_code"
	// StateConfirmDisable offers "Disable 2FA" (KB step 5).
	// Exits: disabling, offer_setup (enroll-then-switch: SMS is kept).
	StateConfirmDisable bot.State = "confirm_disable"
	// StateDisabling disables SMS 2FA in the core (transient, resumable).
	// Exits: offer_setup, awaiting_password (grant expired).
	StateDisabling bot.State = "disabling"
	// StateOfferSetup offers "Setup Two-Factor Authentication" (KB step 6).
	// Exits: choose_method.
	StateOfferSetup bot.State = "offer_setup"
	// StateChooseMethod offers "Authenticator App" (KB step 7).
	// Exits: enrolling, awaiting_reauth.
	StateChooseMethod bot.State = "choose_method"
	// StateAwaitingReauth asks the password again (KB step 8), only when the
	// earlier grant has expired.
	// Exits: enrolling, awaiting_reauth (wrong password), locked (also after
	// too many wrong passwords).
	StateAwaitingReauth bot.State = "awaiting_reauth"
	// StateEnrolling begins the TOTP enrollment (transient, resumable).
	// Exits: awaiting_totp_code, awaiting_reauth (grant expired).
	StateEnrolling bot.State = "enrolling"
	// StateAwaitingTOTPCode shows the QR code and manual key and asks the
	// app's 6-digit code (KB step 9, "Verify").
	// Exits: verifying, awaiting_totp_code (a resumed confirmation lost the
	// code: asked again as a new step).
	StateAwaitingTOTPCode bot.State = "awaiting_totp_code"
	// StateVerifying confirms the enrollment (transient, resumable).
	// Exits: activated, awaiting_totp_code (wrong code), enrolling (new QR),
	// awaiting_reauth (new QR, grant expired).
	StateVerifying bot.State = "verifying"
	// StateRestoring gives SMS 2FA back after an abandoned switch
	// (transient, retried every minute until the core answers).
	// Exits: cancelled, expired, locked, failed (the ending it was on).
	StateRestoring bot.State = "restoring"
	// StateActivated reports success and offers "Okay" (KB step 10).
	// Exits: done.
	StateActivated bot.State = "activated"
	// StateRecoveryCodes shows the recovery codes (only when enabled) until
	// the user confirms they saved them.
	// Exits: done.
	StateRecoveryCodes bot.State = "showing_recovery_codes"
	// StateDone is terminal: TOTP active, confirmation e-mailed (KB step 11).
	StateDone bot.State = "done"
	// StateCancelled is terminal: the user cancelled.
	StateCancelled bot.State = "cancelled"
	// StateExpired is terminal: the conversation was idle too long.
	StateExpired bot.State = "expired"
	// StateBlocked is terminal: the user blocked the bot (bot.KindBlocked);
	// SMS 2FA was restored if the flow had disabled it.
	StateBlocked bot.State = "blocked"
	// StateAlreadyTOTP is terminal: the account already uses an
	// authenticator app; nothing changed.
	StateAlreadyTOTP bot.State = "already_totp"
	// StateLocked is terminal: the account is locked after too many
	// failures; the user was told when to retry.
	StateLocked bot.State = "locked"
	// StateFailed is terminal: the account's factor is off for a switch
	// under way in another conversation (too many wrong passwords end in
	// StateLocked instead).
	StateFailed bot.State = "failed"
)

// transitions is the flow's transition table: every state and the states
// it may move to, besides cancelled, expired and blocked, which every
// non-terminal state may reach (/cancel, Cancel, idle expiry, the user
// blocking the bot), and restoring, which any
// ending passes through while SMS 2FA is off and no app is verified. Tests check the handlers
// against it and state.mermaid.
var transitions = map[bot.State][]bot.State{
	StateAwaitingEmail:    {StateAwaitingPassword},
	StateAwaitingPassword: {StateSendingSMS, StateOfferSetup, StateAlreadyTOTP, StateLocked, StateAwaitingPassword, StateAwaitingEmail},
	StateSendingSMS:       {StateAwaitingSMSCode, StateLocked, StateAwaitingPassword},
	StateAwaitingSMSCode:  {StateConfirmDisable, StateSendingSMS, StateLocked, StateAwaitingSMSCode, StateAwaitingPassword},
	StateConfirmDisable:   {StateDisabling, StateOfferSetup},
	StateDisabling:        {StateOfferSetup, StateAwaitingPassword},
	StateOfferSetup:       {StateChooseMethod},
	StateChooseMethod:     {StateEnrolling, StateAwaitingReauth},
	StateAwaitingReauth:   {StateEnrolling, StateAwaitingReauth, StateLocked, StateAwaitingPassword},
	StateEnrolling:        {StateAwaitingTOTPCode, StateAwaitingReauth, StateAwaitingPassword, StateAlreadyTOTP, StateFailed},
	StateAwaitingTOTPCode: {StateVerifying, StateAwaitingTOTPCode},
	StateVerifying:        {StateActivated, StateAwaitingTOTPCode, StateEnrolling, StateAwaitingReauth, StateAlreadyTOTP},
	StateActivated:        {StateDone, StateRecoveryCodes},
	StateRecoveryCodes:    {StateDone},
	StateRestoring:        {StateCancelled, StateExpired, StateLocked, StateFailed, StateBlocked},
	StateDone:             nil,
	StateCancelled:        nil,
	StateExpired:          nil,
	StateBlocked:          nil,
	StateAlreadyTOTP:      nil,
	StateLocked:           nil,
	StateFailed:           nil,
}

// terminal reports whether s ends the session.
func terminal(s bot.State) bool {
	ts, ok := transitions[s]
	return ok && len(ts) == 0
}

// progress maps each state to the step shown as "Step N of Steps".
var progress = map[bot.State]int{
	StateAwaitingEmail:    1,
	StateAwaitingPassword: 1,
	StateSendingSMS:       1,
	StateAwaitingSMSCode:  1,
	StateConfirmDisable:   2,
	StateDisabling:        2,
	StateOfferSetup:       3,
	StateChooseMethod:     3,
	StateAwaitingReauth:   4, // the password again, only when the grant lapsed
	StateEnrolling:        4,
	StateAwaitingTOTPCode: 4,
	StateVerifying:        4,
	StateActivated:        5,
	StateDone:             5,
	StateRestoring:        2,
	StateRecoveryCodes:    6,
}

// Steps is the number of steps the user sees: verify identity, Disable
// 2FA, choose the authenticator app, set it up (the password again when
// the earlier check has lapsed, the QR code, the code), done; one more
// with recovery codes.
const Steps = 5

// Transitions returns a copy of the transition table: each state and the
// states it may move to (cancelled and expired are implicit exits of every
// non-terminal state).
func Transitions() map[bot.State][]bot.State {
	out := make(map[bot.State][]bot.State, len(transitions))
	for k, v := range transitions {
		out[k] = append([]bot.State(nil), v...)
	}
	return out
}
