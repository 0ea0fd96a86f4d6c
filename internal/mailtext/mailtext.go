// Package mailtext renders the e-mails guidedfix sends to account holders
// — the security alert when 2FA is disabled, the notice that SMS 2FA was
// restored, the confirmation that the authenticator app is active, and a
// support hand-off link — from the message catalogs locales/en.yaml and
// locales/ms.yaml (Go templates through github.com/nicksnyder/go-i18n/v2;
// English is the default). Every e-mail names the account holder and ends
// with the support contact (mail.support_contact).
package mailtext

import (
	"embed"
	"fmt"
	"strings"

	"github.com/nicksnyder/go-i18n/v2/i18n"
	"go.yaml.in/yaml/v3"
	"golang.org/x/text/language"
)

//go:embed locales/en.yaml locales/ms.yaml
var files embed.FS

// catalogs are the embedded catalogs, the default language's first.
var catalogs = []string{"locales/en.yaml", "locales/ms.yaml"}

// Kinds of e-mail, the message ids' middle part.
const (
	Alert        = "alert"
	Restored     = "restored"
	Confirmation = "confirmation"
	Handoff      = "handoff"
	// Paused: wrong attempts in a row paused a factor for a while (the
	// first lock or throttle of a streak; NIST SP 800-63B §5.2.2).
	Paused = "paused"
	// Blocked: a factor reached the cap of consecutive failures and is
	// refused until support unlocks it.
	Blocked = "blocked"
	// RecoveryUsed: a recovery code was used (NIST SP 800-63B-4 §4.2.1.1).
	RecoveryUsed = "recovery_used"
	// RecoveryReplaced: a recovery code was used to prove the account
	// holder and the whole set was replaced by Count new codes (NIST SP
	// 800-63B-4 §4.2.1.1).
	RecoveryReplaced = "recovery_replaced"
	// TOTPReplaced: the authenticator app was moved to a new device; the
	// old app's codes no longer work.
	TOTPReplaced = "totp_replaced"
	// HandoffNewPhone is the support hand-off link of the flow that moves
	// the authenticator app to a new phone.
	HandoffNewPhone = "handoff_newphone"
)

var bundle = func() *i18n.Bundle {
	b := i18n.NewBundle(language.English)
	b.RegisterUnmarshalFunc("yaml", yaml.Unmarshal)
	for _, f := range catalogs {
		if _, err := b.LoadMessageFileFS(files, f); err != nil {
			panic("mailtext: " + err.Error()) // the embedded files are checked by tests
		}
	}
	return b
}()

// Data is what an e-mail says. Holder is the account holder's name (the
// e-mail address when the account has none); Support is the support
// contact, "" for the default footer. Fields a kind does not use may be
// empty.
type Data struct {
	Holder, Email, Issuer string
	// At is the change's instant, UTC, "2006-01-02 15:04:05".
	At string
	// Phone is the masked phone number (Restored).
	Phone string
	// Link and Expires (UTC, "2006-01-02 15:04") are the hand-off's.
	Link, Expires string
	Support       string
	// Count is how many wrong attempts in a row (Paused, Blocked), or how
	// many unused recovery codes are left (RecoveryUsed), or how many new
	// codes replaced the set (RecoveryReplaced).
	Count int
	// Factor is the factor of Paused and Blocked: "password", "sms",
	// "totp" or "recovery", shown by its catalog name (mail.factor.*).
	Factor string
}

// Render returns the subject and the plain-text body of kind for d in
// English: RenderIn with locale "en".
func Render(kind string, d Data) (subject, text string, err error) {
	return RenderIn("en", kind, d)
}

// RenderIn returns the subject and the plain-text body of kind for d in
// locale, a BCP 47 language tag or Accept-Language list ("ms", "ms-MY");
// a locale without a catalog, or "", gets English. The body is the body's
// template, one empty line, and the support footer. It returns an error
// for an unknown kind or a template that fails.
func RenderIn(locale, kind string, d Data) (subject, text string, err error) {
	localizer := i18n.NewLocalizer(bundle, locale, "en")
	data := map[string]any{"Holder": d.Holder, "Email": d.Email, "Issuer": d.Issuer, "At": d.At, "Phone": d.Phone,
		"Link": d.Link, "Expires": d.Expires, "Support": d.Support, "Count": d.Count}
	get := func(id string) (string, error) {
		s, err := localizer.Localize(&i18n.LocalizeConfig{MessageID: id, TemplateData: data})
		if err != nil {
			return "", fmt.Errorf("mailtext: %s: %w", id, err)
		}
		return s, nil
	}
	if d.Factor != "" {
		name, err := get("mail.factor." + d.Factor)
		if err != nil {
			return "", "", err
		}
		data["Factor"] = name
	}
	if subject, err = get("mail." + kind + ".subject"); err != nil {
		return "", "", err
	}
	body, err := get("mail." + kind + ".body")
	if err != nil {
		return "", "", err
	}
	footerID := "mail.footer.default"
	if strings.TrimSpace(d.Support) != "" {
		footerID = "mail.footer.support"
	}
	footer, err := get(footerID)
	if err != nil {
		return "", "", err
	}
	return subject, strings.TrimRight(body, "\n") + "\n\n" + footer + "\n", nil
}
