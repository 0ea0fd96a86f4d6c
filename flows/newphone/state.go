package newphone

import "guidedfix/bot"

// States of the new-phone flow, stored in sessions (stable values).
const (
	// StateAwaitingEmail waits for the account's e-mail address.
	StateAwaitingEmail bot.State = "awaiting_email"
	// StateAwaitingPassword waits for the account's password.
	StateAwaitingPassword bot.State = "awaiting_password"
	// StateChooseProof asks whether the old phone is at hand.
	StateChooseProof bot.State = "choose_proof"
	// StateAwaitingCurrentCode waits for a code of the current app.
	StateAwaitingCurrentCode bot.State = "awaiting_current_code"
	// StateAwaitingRecoveryCode waits for a recovery code.
	StateAwaitingRecoveryCode bot.State = "awaiting_recovery_code"
	// StateVerifyingRecovery persists the use of a recovery code before
	// the core spends it (resumable).
	StateVerifyingRecovery bot.State = "verifying_recovery"
	// StateNoRecoveryCodes: the old phone is lost and the account has no
	// recovery codes; "Talk to a person" is offered.
	StateNoRecoveryCodes bot.State = "no_recovery_codes"
	// StateShowingRecoveryCodes shows the recovery codes that replaced
	// the spent one.
	StateShowingRecoveryCodes bot.State = "showing_recovery_codes"
	// StateEnrolling persists the step before the core begins the
	// replacement enrollment (resumable).
	StateEnrolling bot.State = "enrolling"
	// StateAwaitingNewCode shows the new QR code and waits for the new
	// app's first code.
	StateAwaitingNewCode bot.State = "awaiting_new_code"
	// StateReplacing persists the step before the core replaces the
	// secret (resumable).
	StateReplacing bot.State = "replacing"
	// StateDone: the new app replaced the old one.
	StateDone bot.State = "done"
	// StateCancelled: the user cancelled; the old app still works.
	StateCancelled bot.State = "cancelled"
	// StateExpired: the session or the new QR code expired.
	StateExpired bot.State = "expired"
	// StateLocked: the core locked the account after failed attempts.
	StateLocked bot.State = "locked"
	// StateNotTOTP: the account does not use an authenticator app.
	StateNotTOTP bot.State = "not_totp"
	// StateBlocked: the user blocked the bot.
	StateBlocked bot.State = "blocked"
)

// transitions is the flow's state machine: for each state, the states a
// turn that begins in it may leave the session in (the engine's
// Transition.From and To; a turn may pass through transient states, which
// are listed with the edges a resumed turn takes). A state listed as its
// own successor is a retry within the step. The tests' engine observer
// fails on any edge not listed; TestTransitionTable checks the table.
var transitions = map[bot.State][]bot.State{
	StateAwaitingEmail:        {StateAwaitingPassword, StateAwaitingEmail, StateCancelled, StateExpired, StateBlocked},
	StateAwaitingPassword:     {StateChooseProof, StateAwaitingPassword, StateAwaitingEmail, StateNotTOTP, StateLocked, StateCancelled, StateExpired, StateBlocked},
	StateChooseProof:          {StateAwaitingCurrentCode, StateAwaitingRecoveryCode, StateNoRecoveryCodes, StateChooseProof, StateCancelled, StateExpired, StateBlocked},
	StateNoRecoveryCodes:      {StateAwaitingCurrentCode, StateNoRecoveryCodes, StateCancelled, StateExpired, StateBlocked},
	StateAwaitingCurrentCode:  {StateAwaitingNewCode, StateAwaitingCurrentCode, StateAwaitingPassword, StateLocked, StateNotTOTP, StateCancelled, StateExpired, StateBlocked},
	StateAwaitingRecoveryCode: {StateShowingRecoveryCodes, StateAwaitingRecoveryCode, StateAwaitingPassword, StateLocked, StateNotTOTP, StateCancelled, StateExpired, StateBlocked},
	StateVerifyingRecovery:    {StateShowingRecoveryCodes, StateAwaitingRecoveryCode, StateAwaitingPassword, StateLocked, StateNotTOTP},
	StateShowingRecoveryCodes: {StateAwaitingNewCode, StateShowingRecoveryCodes, StateAwaitingPassword, StateNotTOTP, StateCancelled, StateExpired, StateBlocked},
	StateEnrolling:            {StateAwaitingNewCode, StateAwaitingPassword, StateNotTOTP},
	StateAwaitingNewCode:      {StateDone, StateAwaitingNewCode, StateAwaitingPassword, StateLocked, StateNotTOTP, StateCancelled, StateExpired, StateBlocked},
	StateReplacing:            {StateDone, StateAwaitingNewCode, StateAwaitingPassword, StateLocked, StateNotTOTP},
	StateDone:                 nil,
	StateCancelled:            nil,
	StateExpired:              nil,
	StateLocked:               nil,
	StateNotTOTP:              nil,
	StateBlocked:              nil,
}

// Allowed reports whether the state machine has the edge from -> to. A
// fresh session (from "") may only enter StateAwaitingEmail, or
// StateAwaitingPassword when the platform vouched for the e-mail.
func Allowed(from, to bot.State) bool {
	if from == "" {
		return to == StateAwaitingEmail || to == StateAwaitingPassword
	}
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// States returns every state of the flow with its successors (a copy).
func States() map[bot.State][]bot.State {
	out := make(map[bot.State][]bot.State, len(transitions))
	for k, v := range transitions {
		out[k] = append([]bot.State(nil), v...)
	}
	return out
}
