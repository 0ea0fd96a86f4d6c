package totpswitch

import (
	"maps"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// Version is the flow's version, stored in each new session
// (bot.Session.FlowVersion).
const Version = 1

// Command is the flow's own start command (without "/"): /2fa in
// Telegram, "2fa" in Slack. The engine's /start also starts the flow while
// it is the default (the first of bot.Options.Flows).
const Command = "2fa"

// TagRestored is the session tag (bot.TagRestored, value "sms") the flow
// sets when it gave the account its SMS factor back after an abandoned
// switch; the support desk alerts staff (Descriptor.TagAlerts) and the
// metrics count it.
const TagRestored = bot.TagRestored

// stateNames are the catalog ids of the staff's names of the states
// (support desk watch threads, audit log).
var stateNames = map[bot.State]string{
	StateAwaitingEmail:    "totp.state.awaiting_email",
	StateAwaitingPassword: "totp.state.awaiting_password",
	StateSendingSMS:       "totp.state.sending_sms",
	StateAwaitingSMSCode:  "totp.state.awaiting_sms_code",
	StateConfirmDisable:   "totp.state.confirm_disable",
	StateDisabling:        "totp.state.disabling",
	StateOfferSetup:       "totp.state.offer_setup",
	StateChooseMethod:     "totp.state.choose_method",
	StateAwaitingReauth:   "totp.state.awaiting_reauth",
	StateEnrolling:        "totp.state.enrolling",
	StateAwaitingTOTPCode: "totp.state.awaiting_totp_code",
	StateVerifying:        "totp.state.verifying",
	StateRestoring:        "totp.state.restoring",
	StateActivated:        "totp.state.activated",
	StateRecoveryCodes:    "totp.state.showing_recovery_codes",
	StateDone:             "totp.state.done",
	StateCancelled:        "totp.state.cancelled",
	StateExpired:          "totp.state.expired",
	StateBlocked:          "totp.state.blocked",
	StateAlreadyTOTP:      "totp.state.already_totp",
	StateLocked:           "totp.state.locked",
	StateFailed:           "totp.state.failed",
}

// Describe returns the flow's bot.Descriptor: name "totpswitch", Version,
// the start command "2fa" (described in Telegram's command menu by
// "totp.command.2fa"), the staff's name of every state, the secrets it
// asks for (password, SMS code, authenticator code), the session tags it
// sets (an alert to staff, "totp.alert.restored", when a session ends with
// TagRestored), and no start-payload prefix: a start payload no other flow claims
// is this flow's hand-off token (t.me/<bot>?start=<token>).
func (f *Flow) Describe() bot.Descriptor {
	return bot.Descriptor{
		Name:     Name,
		Version:  Version,
		Title:    "totp.title",
		Commands: []bot.Command{{Name: Command, Label: "totp.command_label.2fa", Description: "totp.command.2fa"}},
		States:   maps.Clone(stateNames),
		Secrets:  []bot.SecretField{bot.SecretPassword, bot.SecretSMSCode, bot.SecretTOTPCode},
		Tags:     []string{bot.TagAccount, bot.TagHandoff, bot.TagVerified, bot.TagLastError, TagRestored},
		// A restored SMS factor means the switch was abandoned after SMS
		// 2FA had been disabled: staff may want to follow up.
		TagAlerts: map[string]string{TagRestored: msgAlertRestored},
		// The switch starts from SMS 2FA (KB prerequisites).
		NeedsMethod: string(portal.MethodSMS),
	}
}
