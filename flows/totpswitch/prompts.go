package totpswitch

import (
	"guidedfix/bot"
)

// useButtons answers text where a button is expected: it shows the
// step's prompt with its buttons again.
func (f *Flow) useButtons(t *turn) {
	t.say(msgUseButtons, nil)
	if t.Session.State != StateRecoveryCodes {
		f.reprompt(t)
	}
}

func (f *Flow) unsupported(t *turn) {
	hint := msgHintCode
	switch t.Session.Expect {
	case bot.SecretPassword:
		hint = msgHintPassword
	case bot.SecretNone:
		if t.Session.State == StateAwaitingEmail {
			hint = msgHintEmail
		} else {
			f.useButtons(t)
			return
		}
	}
	t.say(msgTypeText, map[string]any{"Hint": t.T(hint, nil)})
}

// reprompt shows the current step's prompt again (after a hand-back from
// a support agent).
func (f *Flow) reprompt(t *turn) {
	buttons := f.stepButtons(t)
	switch t.Session.State {
	case StateAwaitingEmail:
		if t.d.HandoffToken != "" {
			t.say(msgHandoffConfirm, nil, buttons...)
		} else {
			t.say(msgAskEmail, nil, buttons...)
		}
	case StateAwaitingPassword:
		t.ask(bot.SecretPassword, msgAskPassword, nil, buttons...)
	case StateAwaitingSMSCode:
		t.ask(bot.SecretSMSCode, msgHintCode, nil, buttons...)
	case StateConfirmDisable:
		t.say(f.confirmDisableMsg(), nil, buttons...)
	case StateOfferSetup:
		t.say(msgOfferSetup, nil, buttons...)
	case StateChooseMethod:
		t.say(msgChooseMethod, nil, buttons...)
	case StateAwaitingReauth:
		t.ask(bot.SecretPassword, msgReauth, nil, buttons...)
	case StateAwaitingTOTPCode:
		t.ask(bot.SecretTOTPCode, msgAskTotp, map[string]any{"Issuer": f.issuer}, buttons...)
	case StateActivated:
		t.say(msgActivated, nil, buttons...)
	case StateRecoveryCodes:
		t.say(msgUseButtons, nil)
	default:
		f.help(t)
	}
}

// stepButtons returns the buttons of the current step's prompt.
func (f *Flow) stepButtons(t *turn) []bot.Button {
	switch t.Session.State {
	case StateAwaitingEmail:
		if t.d.HandoffToken != "" {
			return []bot.Button{t.Button(msgButtonHandoffStart, "handoff_start"), t.cancelButton()}
		}
		return []bot.Button{t.cancelButton()}
	case StateAwaitingReauth:
		return []bot.Button{t.cancelButton()}
	case StateAwaitingPassword:
		return f.passwordButtons(t)
	case StateAwaitingSMSCode:
		return []bot.Button{t.Button(msgButtonResend, "resend"), t.cancelButton()}
	case StateConfirmDisable:
		return []bot.Button{t.Button(msgButtonDisable, "disable"), t.cancelButton()}
	case StateOfferSetup:
		return []bot.Button{t.Button(msgButtonSetup, "setup"), t.cancelButton()}
	case StateChooseMethod:
		return []bot.Button{t.Button(msgButtonApp, "app"), t.cancelButton()}
	case StateAwaitingTOTPCode:
		return f.codeButtons(t)
	case StateActivated:
		return []bot.Button{t.Button(msgButtonOkay, "okay")}
	}
	return nil
}

// help says which step the user is at and what it is about, with the
// step's buttons, so that the answer to /help can be acted on at once.
func (f *Flow) help(t *turn) {
	what := map[bot.State]string{
		StateAwaitingEmail: msgWhatIdentify, StateAwaitingPassword: msgWhatIdentify,
		StateAwaitingSMSCode: msgWhatIdentify, StateConfirmDisable: msgWhatDisable,
		StateOfferSetup: msgWhatSetup, StateChooseMethod: msgWhatSetup,
		StateAwaitingReauth: msgWhatReauth, StateAwaitingTOTPCode: msgWhatScan,
	}[t.Session.State]
	switch {
	case t.Session.State == StateActivated:
		t.say(msgHelpActivated, map[string]any{"Step": progress[StateActivated]}, f.stepButtons(t)...)
		return
	case t.Session.State == StateRecoveryCodes:
		t.say(msgHelpRecovery, map[string]any{"Step": progress[StateRecoveryCodes]})
		return
	case what == "":
		what = msgWhatIdentify
	case what == msgWhatDisable && f.swap:
		what = msgWhatSwap
	}
	buttons := f.stepButtons(t)
	step := progress[t.Session.State]
	if step == 0 {
		step = 1
	}
	msg := msgHelp
	if t.d.needsRestore() {
		// SMS 2FA is off already: /cancel turns it back on.
		msg = msgHelpSmsOff
		if t.d.ReminderSent && t.Session.Expect == bot.SecretNone {
			// Keep the reminder's "Resume setup" at hand (not at a
			// password or code prompt, where a typed label would be
			// taken for the answer).
			buttons = append([]bot.Button{t.Button(msgButtonResume, "resume")}, buttons...)
		}
	}
	t.say(msg, map[string]any{"Step": step, "What": t.T(what, nil)}, buttons...)
}
