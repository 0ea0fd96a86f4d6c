package newphone

import "context"

// resume answers a bot.KindResume event — "Continue where I left off"
// after the engine's start-again question, a language switch
// (bot.CommandLanguage), a support agent's hand-back — by showing the
// current step again without changing the state (issue 14 F8). At the
// new-code step that step is the QR code, its manual key and the request
// for the code: they are sent again as "Show the QR code again" sends
// them (showQRAgain: the same pending replacement and secret, the earlier
// QR and key messages deleted, the new ones protected and sensitive,
// deleted in their turn once the replacement is verified, cancelled or
// void), so that a customer who lost the chat's context can still scan
// it. Every other step shows its prompt again (reprompt). The error is
// showQRAgain's.
func (f *Flow) resume(ctx context.Context, t *turn) error {
	if t.Session.State == StateAwaitingNewCode {
		return f.showQRAgain(ctx, t)
	}
	f.reprompt(t)
	return nil
}
