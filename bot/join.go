package bot

import "slices"

// Joining (issue 14): a turn's replies are written by the flow one idea at
// a time ("SMS 2FA is disabled", then the next step's question), but a
// platform that charges per call (Telegram's 30 calls/s, Slack's tiers)
// shows them better as one message. A Deliverer that implements Joiner
// gets consecutive sends of a turn joined into one Reply before delivery;
// flows and deliverers without it see every reply on its own.

// Joiner is a Deliverer that shows several consecutive OpSend replies of
// one turn as one message: the earlier replies' texts, then the later
// one's, separated by a blank line ("\n\n"), with the later one's buttons
// and secret prompt (see JoinReplies). The engine joins a reply into the
// one before it only when that one offers no buttons, no secret prompt
// and no link, the later one carries no image, and Joins agrees.
type Joiner interface {
	Deliverer
	// Joins reports whether next may be shown as part of first (first may
	// already be a join of several replies): the platform's limits (text
	// and caption length) hold for the joined text.
	Joins(first, next Reply) bool
}

// JoinReplies returns a and b shown as one message: ID "a.ID+b.ID", Text
// a's and b's texts separated by "\n\n", a's Image and QR, b's Buttons,
// ButtonsStep, Secret and Link, Code of both, Protected and Sensitive when
// either is, and a's Ref (b's when a has none). It does not check that
// the join is allowed (see Joiner).
func JoinReplies(a, b Reply) Reply {
	out := a
	out.ID = joinNonEmpty("+", a.ID, b.ID)
	out.Text = joinNonEmpty("\n\n", a.Text, b.Text)
	out.Buttons, out.ButtonsStep, out.Secret, out.Link = b.Buttons, b.ButtonsStep, b.Secret, b.Link
	out.Code = append(append([]string(nil), a.Code...), b.Code...)
	out.Protected = a.Protected || b.Protected
	out.Sensitive = a.Sensitive || b.Sensitive
	if out.Ref == "" {
		out.Ref = b.Ref
	}
	return out
}

func joinNonEmpty(sep, a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + sep + b
}

// joinable reports whether the engine may join next into first for d.
func joinable(d Deliverer, first, next Reply) bool {
	j, ok := d.(Joiner)
	if !ok || first.Op != OpSend || next.Op != OpSend {
		return false
	}
	if len(first.Buttons) > 0 || first.Secret != SecretNone || first.Link != nil || len(next.Image) > 0 {
		return false
	}
	return j.Joins(first, next)
}

// joinRefs returns the non-empty refs of rs, in order, without repeats.
func joinRefs(rs []Reply) []string {
	var refs []string
	for _, r := range rs {
		if r.Ref != "" && !slices.Contains(refs, r.Ref) {
			refs = append(refs, r.Ref)
		}
	}
	return refs
}
