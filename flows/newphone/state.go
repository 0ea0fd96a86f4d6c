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

// transitions is the flow's state machine: for each state, the states one
// state change may move a session in it to (each Turn.Goto, Turn.End,
// Turn.Restart, and each Turn.SetState that changes the state), so a turn
// through a transient state ("persist, then call": verifying_recovery,
// enrolling, replacing) takes two. Besides these, every non-terminal state
// may move to blocked and expired (always). A state listed as its own
// successor is asked again as a new step. The engine checks every change
// against it (bot.StateTable, strict in the tests) and TestMain's edge
// walk proves each one is taken.
var transitions = map[bot.State][]bot.State{
	StateAwaitingEmail:        {StateAwaitingPassword, StateCancelled},
	StateAwaitingPassword:     {StateChooseProof, StateAwaitingEmail, StateNotTOTP, StateLocked, StateCancelled},
	StateChooseProof:          {StateAwaitingCurrentCode, StateAwaitingRecoveryCode, StateNoRecoveryCodes, StateCancelled},
	StateNoRecoveryCodes:      {StateAwaitingCurrentCode, StateCancelled},
	StateAwaitingCurrentCode:  {StateEnrolling, StateAwaitingPassword, StateLocked, StateNotTOTP, StateCancelled},
	StateAwaitingRecoveryCode: {StateVerifyingRecovery, StateAwaitingPassword, StateCancelled},
	StateVerifyingRecovery:    {StateShowingRecoveryCodes, StateAwaitingRecoveryCode, StateAwaitingPassword, StateLocked, StateNotTOTP},
	StateShowingRecoveryCodes: {StateEnrolling, StateCancelled},
	StateEnrolling:            {StateAwaitingNewCode, StateAwaitingPassword, StateNotTOTP},
	StateAwaitingNewCode:      {StateReplacing, StateAwaitingNewCode, StateEnrolling, StateAwaitingPassword, StateCancelled},
	StateReplacing:            {StateDone, StateAwaitingNewCode, StateEnrolling, StateAwaitingPassword, StateLocked, StateNotTOTP},
	StateDone:                 nil,
	StateCancelled:            nil,
	StateExpired:              nil,
	StateLocked:               nil,
	StateNotTOTP:              nil,
	StateBlocked:              nil,
}

// always are the exits of every non-terminal state the table leaves out:
// the user blocking the bot (handled first, in every state) and the idle
// expiry.
var always = []bot.State{StateBlocked, StateExpired}

// Allowed reports whether the state machine has the single change from ->
// to (Table().Allows): a fresh session (from "") may only enter
// StateAwaitingEmail.
func Allowed(from, to bot.State) bool { return Table().Allows(from, to) }

// States returns every state of the flow with its successors (a copy),
// blocked and expired left out as in transitions.
func States() map[bot.State][]bot.State {
	out := make(map[bot.State][]bot.State, len(transitions))
	for k, v := range transitions {
		out[k] = append([]bot.State(nil), v...)
	}
	return out
}

// Table returns the flow's transition table for the engine's check of
// every state change (bot.StateTable): a new session starts in
// awaiting_email, every change is one of States() or, from a non-terminal
// state, to blocked or expired.
func Table() bot.Table {
	return bot.Table{Start: []bot.State{StateAwaitingEmail}, Next: States(), Always: append([]bot.State(nil), always...)}
}

// StateTable returns Table(); it makes the flow a bot.StateTable.
func (f *Flow) StateTable() bot.Table { return Table() }
