package bot

import (
	"strings"
	"unicode"
)

// TypedLabel reports whether text, typed by the user, is the label of one
// of the buttons labelIDs (catalog ids, rendered for the session's locale
// and channel as Turn.Button does) or of the engine's own buttons
// ("Continue where I left off", "Start over", "Talk to a person"):
// compared case-insensitively, with surrounding white space and quotes
// dropped. Flows use it at a prompt that expects a code, so that a button
// label typed or pasted as text gets "please use the buttons" instead of
// "a code has 6 digits" and costs no try (issue 14 F7).
func (t *Turn) TypedLabel(text string, labelIDs ...string) bool {
	s := strings.TrimFunc(text, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("\"'“”‘’«»", r)
	})
	if s == "" || len(s) > 200 {
		return false
	}
	for _, ids := range [][]string{labelIDs, {MsgButtonContinue, MsgButtonStartOver, MsgButtonHuman}} {
		for _, id := range ids {
			if strings.EqualFold(s, t.T(id, nil)) {
				return true
			}
		}
	}
	return false
}
