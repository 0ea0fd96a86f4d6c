package totpswitch

import (
	"context"
	"errors"
	"strings"
	"time"
	"unicode/utf8"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// maskEmail shows the first character of the local part and the domain:
// "a•••@example.com".
func maskEmail(email string) string {
	local, domain, ok := strings.Cut(email, "@")
	if !ok || local == "" {
		return "•••"
	}
	return local[:1] + "•••@" + domain
}

// maxPasswordBytes bounds what is sent to the core as a password.
const maxPasswordBytes = 1024

// minPasswordRunes is the portal's shortest password (embedded.NewAccount
// validation): a shorter answer (a mistyped button number, "ok") is not
// sent to the core and costs no try.
const minPasswordRunes = 8

// passwordButtons are the buttons of a password prompt: at step 1 (not
// from a hand-off) "Use another e-mail", to correct a mistyped address,
// and always Cancel.
func (f *Flow) passwordButtons(t *turn) []bot.Button {
	if t.Session.State == StateAwaitingPassword && t.Session.Tags[bot.TagHandoff] == "" && !t.d.Pinned {
		return []bot.Button{t.Button(msgButtonOtherEmail, "other_email"), t.cancelButton()}
	}
	return []bot.Button{t.cancelButton()}
}

// identify records which account the conversation is about. An unknown
// e-mail is not revealed: the flow asks the password all the same and
// answers as for a wrong password.
func (f *Flow) identify(ctx context.Context, t *turn, input string, proposed bool) {
	// Full-width and other compatibility forms are folded (NFKC), case is
	// ignored and RFC 5321 §4.5.3.1's lengths are enforced before the
	// core is asked anything.
	email, err := portal.NormalizeEmail(input)
	if err != nil {
		t.say(msgBadEmail, nil, t.cancelButton())
		return
	}
	acc, err := f.core.LookupAccount(ctx, email)
	switch {
	case err == nil:
		t.d.AccountID, t.d.Unknown, t.d.Probe = acc.ID, false, ""
		t.Tag(bot.TagAccount, acc.ID)
	case errors.Is(err, portal.ErrNotFound):
		t.d.AccountID, t.d.Unknown, t.d.Probe = "", true, f.core.UnknownAccount(email)
	default:
		// Treat a lookup failure like an unknown account; the password
		// step then fails without telling why.
		t.d.AccountID, t.d.Unknown, t.d.Probe = "", true, ""
	}
	t.Goto(StateAwaitingPassword)
	if proposed {
		t.say(msgProposedEmail, map[string]any{"Email": email})
	}
	t.ask(bot.SecretPassword, msgAskPassword, nil, f.passwordButtons(t)...)
}

// password checks the password (identity at step 1, or re-authentication
// at step 4).
func (f *Flow) password(ctx context.Context, t *turn, pw bot.Secret) error {
	reauth := t.Session.State == StateAwaitingReauth
	if p := pw.Reveal(); strings.TrimSpace(p) == "" || len(p) > maxPasswordBytes || !utf8.ValidString(p) || utf8.RuneCountInString(p) < minPasswordRunes {
		// Not a password anybody could have: ask again, count nothing.
		t.ask(bot.SecretPassword, msgHintPassword, nil, f.passwordButtons(t)...)
		return nil
	}
	var g portal.Grant
	var err error
	if reauth && t.d.Grant != "" && t.d.GrantLevel == portal.LevelElevated {
		// KB step 8: renew the grant that proved the SMS code, so that the
		// new one keeps its elevation (a new password-only grant cannot
		// set up the app while SMS is on, nor while a switch has it off).
		// The core keeps the old grant, so a lost answer can be retried.
		g, err = f.core.Reauthenticate(ctx, t.d.Grant, pw.Reveal())
		if errors.Is(err, portal.ErrExpired) || errors.Is(err, portal.ErrBadGrant) {
			if !t.d.Disabled {
				// SMS is still on: verify the identity again from the start.
				f.reverify(t)
				return nil
			}
			f.end(ctx, t, StateExpired, msgReauthExpired, nil)
			return nil
		}
	} else {
		id := t.d.AccountID
		if t.d.Unknown {
			id = t.d.Probe
		}
		g, err = f.core.VerifyPassword(ctx, id, pw.Reveal())
	}
	var locked *portal.LockedError
	switch {
	case errors.As(err, &locked):
		f.lockedEnd(ctx, t, locked)
		return nil
	case errors.Is(err, portal.ErrBadPassword):
		t.d.Tries++
		left := f.tries - t.d.Tries
		if left <= 0 {
			// The same answer as the core's lock, so that an unknown e-mail
			// cannot be told apart from a real account.
			f.lockedEnd(ctx, t, &portal.LockedError{RetryAfter: t.Now.Add(15 * time.Minute)})
			return nil
		}
		t.Tag(bot.TagLastError, "wrong password")
		msg := msgBadPassword
		if reauth {
			// The account is known by now: no need to hide which is wrong.
			msg = msgBadReauthPassword
		}
		t.ask(bot.SecretPassword, msg, map[string]any{"Count": left}, f.passwordButtons(t)...)
		return nil
	case err != nil:
		return err
	}
	t.d.Tries = 0
	f.setGrant(t, g)
	if t.Session.Tags[bot.TagVerified] == "" {
		t.Tag(bot.TagVerified, "password")
	}
	if reauth {
		t.Goto(StateEnrolling)
		return f.enroll(ctx, t)
	}
	st, err := f.core.SecurityStatus(ctx, t.d.AccountID)
	if err != nil {
		return err
	}
	if t.d.StartMethod == "" {
		t.d.StartMethod = st.Method
	}
	switch st.Method {
	case portal.MethodTOTP:
		t.End(StateAlreadyTOTP)
		t.say(msgAlreadyTotp, nil)
	case portal.MethodNone:
		t.Goto(StateOfferSetup)
		if !t.d.Disabled {
			t.say(msgNotActive, nil)
		}
		t.say(msgOfferSetup, nil, t.Button(msgButtonSetup, "setup"), t.cancelButton())
	default:
		t.Goto(StateSendingSMS)
		t.d.SMSRound++
		return f.sendSMS(ctx, t)
	}
	return nil
}
