package newphone

import (
	"maps"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// Version is the flow's version, stored in each new session
// (bot.Session.FlowVersion).
const Version = 1

// PayloadPrefix prefixes the token in the deep link of a new-phone
// hand-off (t.me/<bot>?start=np_<token>); the engine starts this flow for
// it and passes the token on. Tokens are base64url, so "np_" cannot begin
// one of the default flow's.
const PayloadPrefix = "np_"

// stateNames are the catalog ids of the staff's names of the states
// (support desk watch threads, audit log).
var stateNames = map[bot.State]string{
	StateAwaitingEmail:        "newphone.state.awaiting_email",
	StateAwaitingPassword:     "newphone.state.awaiting_password",
	StateChooseProof:          "newphone.state.choose_proof",
	StateAwaitingCurrentCode:  "newphone.state.awaiting_current_code",
	StateAwaitingRecoveryCode: "newphone.state.awaiting_recovery_code",
	StateVerifyingRecovery:    "newphone.state.verifying_recovery",
	StateNoRecoveryCodes:      "newphone.state.no_recovery_codes",
	StateShowingRecoveryCodes: "newphone.state.showing_recovery_codes",
	StateEnrolling:            "newphone.state.enrolling",
	StateAwaitingNewCode:      "newphone.state.awaiting_new_code",
	StateReplacing:            "newphone.state.replacing",
	StateDone:                 "newphone.state.done",
	StateCancelled:            "newphone.state.cancelled",
	StateExpired:              "newphone.state.expired",
	StateLocked:               "newphone.state.locked",
	StateNotTOTP:              "newphone.state.not_totp",
	StateBlocked:              "newphone.state.blocked",
}

// Describe returns the flow's bot.Descriptor: name "newphone", Version,
// the start commands of Commands (described in Telegram's command menu by
// "command.newphone"), the staff's name of every state, the secrets it
// asks for (password, authenticator code, recovery code), the session
// tags it sets, and PayloadPrefix for its hand-offs.
func (f *Flow) Describe() bot.Descriptor {
	cmds := make([]bot.Command, len(Commands))
	for i, c := range Commands {
		cmds[i] = bot.Command{Name: c, Label: "newphone.command_label", Description: "command.newphone"}
	}
	return bot.Descriptor{
		Name:          Name,
		Version:       Version,
		Title:         "newphone.title",
		Commands:      cmds,
		States:        maps.Clone(stateNames),
		Secrets:       []bot.SecretField{bot.SecretPassword, bot.SecretTOTPCode, SecretRecoveryCode},
		Tags:          []string{bot.TagAccount, bot.TagHandoff, bot.TagVerified, bot.TagLastError},
		PayloadPrefix: PayloadPrefix,
		NeedsMethod:   string(portal.MethodTOTP), // moves an existing authenticator app
	}
}
