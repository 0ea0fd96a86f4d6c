package totpswitch

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"guidedfix/bot"
)

var _ bot.Rerenderer = (*Flow)(nil)

// Checkpoint saves the session with the flow's data as it is now, before a
// mutating portal call (DESIGN.md "persist, then call"): a turn resumed
// after a crash must find the grant, the rounds and the flags this turn
// set, or it would repeat the call under another idempotency key.
func (t *turn) Checkpoint(ctx context.Context) error {
	if err := t.SetData(t.d); err != nil {
		return err
	}
	return t.Turn.Checkpoint(ctx)
}

// Rerender renders again a Sensitive reply that a crash left undelivered:
// the engine stores such replies without their content (no secret in the
// session store). The QR code and the manual key come from the core again
// under the enrollment's idempotency key, which returns the same pending
// enrollment (same secret) and changes nothing; recovery codes cannot be
// shown twice (only their hashes are kept), so a new set is issued, which
// voids the unseen one.
func (f *Flow) Rerender(ctx context.Context, bt *bot.Turn, r bot.Reply) (bot.Reply, error) {
	var d data
	if len(bt.Session.Data) > 0 {
		if err := json.Unmarshal(bt.Session.Data, &d); err != nil {
			return r, fmt.Errorf("decode session data: %w", err)
		}
	}
	t := f.turn(bt, &d)
	switch r.Ref {
	case "qr", "key":
		if d.EnrollRound == 0 || d.EnrollmentID == "" {
			return r, ErrNoEnrollment
		}
		en, err := f.core.BeginTOTPEnrollment(ctx, d.Grant, t.Key(fmt.Sprintf("enroll:%d", d.EnrollRound)))
		if err != nil {
			return r, err
		}
		if en.ID != d.EnrollmentID {
			return r, fmt.Errorf("%w: enrollment %s is not the session's %s", ErrNoEnrollment, en.ID, d.EnrollmentID)
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
		codes, err := f.core.IssueRecoveryCodes(ctx, d.EnrollmentID, f.recovery)
		if err != nil {
			return r, err
		}
		r.Text = t.T(msgRecoveryCodes, t.withSteps(map[string]any{"Codes": strings.Join(codes, "\n")}))
		return r, nil
	}
	return r, fmt.Errorf("%w: %q", ErrNotRerenderable, r.ID)
}
