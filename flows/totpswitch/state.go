package totpswitch

import "guidedfix/bot"

// States of the flow. The stored values are stable; a new flow version adds
// new names instead of changing these. States marked terminal end the
// session; the exits of each state are in table (below), which
// state.mermaid draws.
const (
	// StateAwaitingEmail asks which portal account to change.
	StateAwaitingEmail bot.State = "awaiting_email"
	// StateAwaitingPassword asks the account password (KB step 5, identity).
	StateAwaitingPassword bot.State = "awaiting_password"
	// StateSendingSMS sends the SMS challenge (transient, resumable).
	StateSendingSMS bot.State = "sending_sms"
	// StateAwaitingSMSCode asks the code sent by SMS to the current phone.
	StateAwaitingSMSCode bot.State = "awaiting_sms_code"
	// StateConfirmDisable offers "Disable 2FA" (KB step 5).
	StateConfirmDisable bot.State = "confirm_disable"
	// StateDisabling disables SMS 2FA in the core (transient, resumable).
	StateDisabling bot.State = "disabling"
	// StateOfferSetup offers "Setup Two-Factor Authentication" (KB step 6).
	StateOfferSetup bot.State = "offer_setup"
	// StateChooseMethod offers "Authenticator App" (KB step 7).
	StateChooseMethod bot.State = "choose_method"
	// StateAwaitingReauth asks the password again (KB step 8), only when the
	// earlier grant has expired.
	StateAwaitingReauth bot.State = "awaiting_reauth"
	// StateEnrolling begins the TOTP enrollment (transient, resumable).
	StateEnrolling bot.State = "enrolling"
	// StateAwaitingTOTPCode shows the QR code and manual key and asks the
	// app's 6-digit code (KB step 9, "Verify").
	StateAwaitingTOTPCode bot.State = "awaiting_totp_code"
	// StateVerifying confirms the enrollment (transient, resumable).
	StateVerifying bot.State = "verifying"
	// StateRestoring gives SMS 2FA back after an abandoned switch
	// (transient, retried every minute until the core answers).
	StateRestoring bot.State = "restoring"
	// StateActivated reports success and offers "Okay" (KB step 10).
	StateActivated bot.State = "activated"
	// StateRecoveryCodes shows the recovery codes (only when enabled) until
	// the user confirms they saved them.
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

// edge is one change of the transition table, with what makes it (the
// label state.mermaid and `guidedfix flows graph` draw).
type edge struct {
	from, to bot.State
	label    string
}

// initialLabel labels the start of a new session ("" -> awaiting_email).
const initialLabel = "/start, /2fa, a hand-off link"

// table is the flow's transition table: every single state change a
// handler makes (each Turn.Goto, Turn.End, Turn.Restart and each
// Turn.SetState that changes the state), so a turn that passes through a
// transient state ("persist, then call") takes two of them.
// The engine checks every change against it (bot.StateTable, strict in
// the tests), TestEdgeWalk proves each one is taken, and state.mermaid is
// drawn from it.
var table = []edge{
	{StateAwaitingEmail, StateAwaitingPassword, "types e-mail, or Start on a hand-off"},
	{StateAwaitingEmail, StateCancelled, "Cancel, /cancel or /start"},
	{StateAwaitingEmail, StateBlocked, "user blocked the bot"},
	{StateAwaitingEmail, StateExpired, "idle too long"},

	{StateAwaitingPassword, StateSendingSMS, "right password, SMS 2FA active"},
	{StateAwaitingPassword, StateOfferSetup, "right password, 2FA not active"},
	{StateAwaitingPassword, StateAlreadyTOTP, "right password, already TOTP"},
	{StateAwaitingPassword, StateAwaitingEmail, "Use another e-mail"},
	{StateAwaitingPassword, StateLocked, "account locked, or too many wrong passwords"},
	{StateAwaitingPassword, StateCancelled, "Cancel, /cancel or /start"},
	{StateAwaitingPassword, StateBlocked, "user blocked the bot"},
	{StateAwaitingPassword, StateExpired, "idle too long"},
	{StateAwaitingPassword, StateRestoring, "an ending after a disable was tried"},

	{StateSendingSMS, StateAwaitingSMSCode, "SMS sent, or the SMS limit with a code still valid"},
	{StateSendingSMS, StateAwaitingPassword, "grant expired"},
	{StateSendingSMS, StateLocked, "SMS limit"},
	{StateSendingSMS, StateBlocked, "user blocked the bot"},
	{StateSendingSMS, StateExpired, "idle too long"},
	{StateSendingSMS, StateRestoring, "an ending after a disable was tried"},

	{StateAwaitingSMSCode, StateConfirmDisable, "right code"},
	{StateAwaitingSMSCode, StateAwaitingSMSCode, "code expired, asked again"},
	{StateAwaitingSMSCode, StateSendingSMS, "Send a new code"},
	{StateAwaitingSMSCode, StateAwaitingPassword, "grant expired"},
	{StateAwaitingSMSCode, StateLocked, "account locked"},
	{StateAwaitingSMSCode, StateCancelled, "Cancel, /cancel or /start"},
	{StateAwaitingSMSCode, StateBlocked, "user blocked the bot"},
	{StateAwaitingSMSCode, StateExpired, "idle too long"},
	{StateAwaitingSMSCode, StateRestoring, "an ending after a disable was tried"},

	{StateConfirmDisable, StateDisabling, "Disable 2FA"},
	{StateConfirmDisable, StateOfferSetup, "Disable 2FA, enroll-then-switch (SMS kept)"},
	{StateConfirmDisable, StateCancelled, "Cancel, /cancel or /start"},
	{StateConfirmDisable, StateBlocked, "user blocked the bot"},
	{StateConfirmDisable, StateExpired, "idle too long"},
	{StateConfirmDisable, StateRestoring, "an ending after a disable was tried"},

	{StateDisabling, StateOfferSetup, "SMS 2FA disabled"},
	{StateDisabling, StateAwaitingPassword, "grant expired"},
	{StateDisabling, StateRestoring, "an ending after a disable was tried"},

	{StateOfferSetup, StateChooseMethod, "Setup Two-Factor Authentication"},
	{StateOfferSetup, StateEnrolling, "Resume setup, grant fresh"},
	{StateOfferSetup, StateAwaitingReauth, "Resume setup, grant expired"},
	{StateOfferSetup, StateCancelled, "Cancel, /cancel or /start"},
	{StateOfferSetup, StateBlocked, "user blocked the bot"},
	{StateOfferSetup, StateExpired, "idle too long"},
	{StateOfferSetup, StateRestoring, "an ending with SMS 2FA off"},

	{StateChooseMethod, StateEnrolling, "Authenticator App, grant fresh"},
	{StateChooseMethod, StateAwaitingReauth, "Authenticator App, grant expired"},
	{StateChooseMethod, StateCancelled, "Cancel, /cancel or /start"},
	{StateChooseMethod, StateBlocked, "user blocked the bot"},
	{StateChooseMethod, StateExpired, "idle too long"},
	{StateChooseMethod, StateRestoring, "an ending with SMS 2FA off"},

	{StateAwaitingReauth, StateEnrolling, "right password"},
	{StateAwaitingReauth, StateLocked, "account locked, or too many wrong passwords"},
	{StateAwaitingReauth, StateCancelled, "Cancel, /cancel or /start"},
	{StateAwaitingReauth, StateBlocked, "user blocked the bot"},
	{StateAwaitingReauth, StateExpired, "idle too long"},
	{StateAwaitingReauth, StateRestoring, "an ending with SMS 2FA off"},

	{StateEnrolling, StateAwaitingTOTPCode, "QR code sent"},
	{StateEnrolling, StateAwaitingReauth, "grant expired"},
	{StateEnrolling, StateAwaitingPassword, "grant expired, SMS still active"},
	{StateEnrolling, StateAlreadyTOTP, "already TOTP"},
	{StateEnrolling, StateFailed, "factor off for a switch in another conversation"},
	{StateEnrolling, StateBlocked, "user blocked the bot"},
	{StateEnrolling, StateExpired, "idle too long"},
	{StateEnrolling, StateRestoring, "an ending with SMS 2FA off"},

	{StateAwaitingTOTPCode, StateVerifying, "types code"},
	{StateAwaitingTOTPCode, StateAwaitingTOTPCode, "code lost by a crash, asked again"},
	{StateAwaitingTOTPCode, StateCancelled, "Cancel, /cancel or /start"},
	{StateAwaitingTOTPCode, StateBlocked, "user blocked the bot"},
	{StateAwaitingTOTPCode, StateExpired, "idle too long"},
	{StateAwaitingTOTPCode, StateRestoring, "an ending with SMS 2FA off"},

	{StateVerifying, StateActivated, "right code"},
	{StateVerifying, StateAwaitingTOTPCode, "wrong, used or malformed code"},
	{StateVerifying, StateEnrolling, "setup code void, new QR"},
	{StateVerifying, StateAwaitingReauth, "setup code void, grant expired"},
	{StateVerifying, StateAlreadyTOTP, "already TOTP"},
	{StateVerifying, StateLocked, "too many wrong codes, SMS kept"},
	{StateVerifying, StateBlocked, "user blocked the bot"},
	{StateVerifying, StateExpired, "idle too long"},
	{StateVerifying, StateRestoring, "an ending with SMS 2FA off"},

	{StateActivated, StateDone, "Okay, or Cancel or the user blocking the bot once the app works"},
	{StateActivated, StateRecoveryCodes, "Okay, recovery codes enabled"},
	{StateActivated, StateCancelled, "/start once the app works"},
	{StateActivated, StateExpired, "idle too long"},

	{StateRecoveryCodes, StateDone, "I have saved them, or Cancel"},
	{StateRecoveryCodes, StateCancelled, "/start once the app works"},
	{StateRecoveryCodes, StateExpired, "idle too long"},

	{StateRestoring, StateCancelled, "SMS restored after Cancel or /start"},
	{StateRestoring, StateExpired, "SMS restored after expiry"},
	{StateRestoring, StateLocked, "SMS restored after a lock"},
	{StateRestoring, StateBlocked, "SMS restored after the user blocked the bot"},
}

// transitions is table as a map: every state and the states it may move
// to (terminal states with none).
var transitions = func() map[bot.State][]bot.State {
	m := map[bot.State][]bot.State{}
	for _, e := range table {
		m[e.from] = append(m[e.from], e.to)
		if _, ok := m[e.to]; !ok {
			m[e.to] = nil
		}
	}
	return m
}()

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
// states one state change may move it to.
func Transitions() map[bot.State][]bot.State {
	out := make(map[bot.State][]bot.State, len(transitions))
	for k, v := range transitions {
		out[k] = append([]bot.State(nil), v...)
	}
	return out
}

// Table returns the flow's transition table for the engine's check of
// every state change (bot.StateTable): a new session starts in
// awaiting_email and every change is one of Transitions().
func Table() bot.Table {
	return bot.Table{Start: []bot.State{StateAwaitingEmail}, Next: Transitions()}
}

// StateTable returns Table(); it makes the flow a bot.StateTable.
func (f *Flow) StateTable() bot.Table { return Table() }

// EdgeLabels returns what makes each change of the table, by edge (the
// start edge from "" included), for drawing the state diagram.
func EdgeLabels() map[bot.Edge]string {
	out := map[bot.Edge]string{{To: StateAwaitingEmail}: initialLabel}
	for _, e := range table {
		out[bot.Edge{From: e.from, To: e.to}] = e.label
	}
	return out
}
