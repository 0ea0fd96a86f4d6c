package newphone

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"guidedfix/bot"
)

var _ bot.Rerenderer = (*Flow)(nil)

// Checkpoint saves the flow's data with the session before a portal call
// (DESIGN.md "persist, then call"), so that a resumed turn uses the same
// idempotency keys (rounds) as the interrupted one. It returns the
// store's error.
func (t *turn) Checkpoint(ctx context.Context) error {
	if err := t.SetData(t.d); err != nil {
		return err
	}
	return t.Turn.Checkpoint(ctx)
}

// Rerender renders again a Sensitive reply that a crash left undelivered
// (the engine stores such replies without their content). The QR code and
// the manual key come from the core again under the replacement's
// idempotency key, which returns the same pending enrollment (same secret)
// and changes nothing; recovery codes cannot be shown twice (the core
// keeps only hashes), so the repeated key of the recovery step issues a
// fresh set that replaces the unseen one. It returns the core's error, or
// one for a reply it does not know.
func (f *Flow) Rerender(ctx context.Context, bt *bot.Turn, r bot.Reply) (bot.Reply, error) {
	var d data
	if len(bt.Session.Data) > 0 {
		if err := json.Unmarshal(bt.Session.Data, &d); err != nil {
			return r, fmt.Errorf("decode session data: %w", err)
		}
	}
	t := &turn{Turn: bt, d: &d, margin: f.margin}
	switch r.Ref {
	case "qr", "key":
		if d.EnrollRound == 0 || d.EnrollmentID == "" {
			return r, fmt.Errorf("newphone: no replacement to show again")
		}
		en, err := f.core.BeginTOTPReplacement(ctx, d.Grant, t.Key(fmt.Sprintf("replace:%d", d.EnrollRound)))
		if err != nil {
			return r, err
		}
		if en.ID != d.EnrollmentID {
			return r, fmt.Errorf("newphone: enrollment %s is not the session's %s", en.ID, d.EnrollmentID)
		}
		if r.Ref == "key" {
			k := keyReply(t, en)
			r.Text, r.Code = k.Text, k.Code
			return r, nil
		}
		q, err := qrReply(t, en)
		if err != nil {
			return r, err
		}
		r.Text, r.Image, r.QR = q.Text, q.Image, q.QR
		return r, nil
	case "recovery":
		if d.RecoveryRound == 0 {
			return r, fmt.Errorf("newphone: no recovery codes to show again")
		}
		el, err := f.core.ElevateWithRecoveryCode(ctx, d.Grant, "", t.Key(fmt.Sprintf("recovery:%d", d.RecoveryRound)))
		if err != nil {
			return r, err
		}
		r.Text = t.T(msgRecoveryCodes, map[string]any{"Codes": strings.Join(el.Codes, "\n")})
		return r, nil
	}
	return r, fmt.Errorf("newphone: cannot render reply %q again", r.ID)
}
