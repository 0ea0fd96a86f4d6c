package main

import (
	"errors"
	"fmt"

	"guidedfix/adapters/slack"
	"guidedfix/internal/support"
	"guidedfix/internal/termsafe"
)

// wrongMethodText turns HandOffFlow's *support.WrongMethodError into the
// CLI's message for the agent (still matching support.ErrWrongMethod):
// the account with email uses another 2FA method than the flow needs,
// nothing was created or sent. Other errors (and nil) give nil.
func wrongMethodText(err error, email string) error {
	var wm *support.WrongMethodError
	if !errors.As(err, &wm) {
		return nil
	}
	return fmt.Errorf("%w: the account %s uses 2FA method %q, but the guided fix %s needs an account using %q; "+
		"no hand-off was created and nothing was e-mailed (see guidedfix handoff --help for the guided fixes)",
		support.ErrWrongMethod, termsafe.Field(email), wm.Has, wm.Flow, wm.Needs)
}

// slackWrongMethod maps HandOffFlow's *support.WrongMethodError to the
// Slack adapter's *slack.WrongMethodError (the staff reply
// slack.staff.wrong_method); other errors (and nil) give nil.
func slackWrongMethod(err error) error {
	var wm *support.WrongMethodError
	if !errors.As(err, &wm) {
		return nil
	}
	return &slack.WrongMethodError{Has: string(wm.Has), Needs: wm.Needs}
}
