package totpswitch

import (
	"context"
)

// resumeStep answers a bot.KindResume event — "Continue where I left
// off" after the engine's start-again question, a language switch
// (bot.CommandLanguage), a support agent's hand-back — by showing the
// current step again without changing the state (issue 14 F8). At the
// code step that step is the QR code, its manual key and the request for
// the code: they are sent again as "Show the QR code again" sends them
// (showQRAgain: the same pending enrollment and secret, the earlier QR
// and key messages deleted, the new ones protected and sensitive, deleted
// in their turn once the enrollment is verified, cancelled or expired),
// as flows/newphone does at its QR step. Every other step shows its
// prompt again (reprompt). The error is showQRAgain's.
func (f *Flow) resumeStep(ctx context.Context, t *turn) error {
	if t.Session.State == StateAwaitingTOTPCode {
		return f.showQRAgain(ctx, t)
	}
	f.reprompt(t)
	return nil
}
