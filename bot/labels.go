package bot

import (
	"strings"
	"unicode"
)

// EngineButtonPrefix begins the catalog id of every button label the
// engine itself shows ("Continue where I left off", "Start over", "Talk
// to a person").
const EngineButtonPrefix = "engine.button."

// MsgLabelTyped is the catalog id of the answer to a button's label
// typed where a code was asked: nothing was counted; press the button or
// type the code. Flows ask their code again with it when TypedLabel
// reports true.
const MsgLabelTyped = "engine.label_typed"

// TypedLabel reports whether text, typed by the user, is the label of a
// button: of a catalog id beginning with labelPrefix (a flow's, e.g.
// "totp.button.") or with [EngineButtonPrefix], rendered for the
// session's locale and channel as Turn.Button does, compared
// case-insensitively, with surrounding white space and quotes dropped.
// A text without a letter (a code) is never a label and costs no
// rendering; a Turn without an engine (a flow's unit test) has no labels. Flows use it at a prompt that expects a code, so that a
// button label typed or pasted as text gets "please use the buttons"
// instead of "a code has 6 digits" and costs no try (issue 14 F7); the
// labels come from the catalog, so a new button is covered without a
// list to keep.
func (t *Turn) TypedLabel(text, labelPrefix string) bool {
	s := strings.TrimFunc(text, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune("\"'“”‘’«»", r)
	})
	if t.engine == nil || s == "" || len(s) > 200 || strings.IndexFunc(s, unicode.IsLetter) < 0 {
		return false
	}
	cat := t.engine.catalog
	for _, prefix := range []string{labelPrefix, EngineButtonPrefix} {
		for _, id := range cat.IDs(prefix) {
			if strings.EqualFold(s, t.T(id, nil)) {
				return true
			}
		}
	}
	return false
}
