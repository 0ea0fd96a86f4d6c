package support

import (
	"embed"
	"io/fs"
	"sync"
	"time"

	"guidedfix/bot"
)

//go:embed locales/*.yaml
var messages embed.FS

// Catalog ids of the desk's own staff-facing texts (locales/en.yaml and
// ms.yaml beside this file); the template data each takes is listed in
// en.yaml.
const (
	msgHandoffCreated      = "support.desk.handoff_created"
	msgWatchStep           = "support.desk.watch_step"
	msgWatchFinished       = "support.desk.watch_finished"
	msgEscalationEndTaken  = "support.desk.escalation_ended_taken"
	msgEscalationEndOpen   = "support.desk.escalation_ended_open"
	msgAlertFallback       = "support.desk.alert_fallback"
	msgUnknownAccount      = "support.desk.unknown_account"
	msgEscalation          = "support.desk.escalation"
	msgVerifiedNotYet      = "support.desk.verified_not_yet"
	msgVerifiedBy          = "support.desk.verified_by"
	msgVerifiedNoAccount   = "support.desk.verified_no_account"
	msgLastErrorNone       = "support.desk.last_error_none"
	msgOutcomeFailed       = "support.desk.outcome.failed"
	msgRelay               = "support.desk.relay"
	msgAuditRefused        = "support.desk.audit.handoff_refused"
	msgAuditMailed         = "support.desk.audit.handoff_mailed"
	msgAuditEscalated      = "support.desk.audit.escalated"
	msgRelayWithheld       = "support.desk.relay_withheld"
	msgNumberWithheld      = "support.desk.number_withheld"
	staffTimeLayout        = "15:04:05 UTC"
	outcomeFailedPrefix    = "failed:"
	outcomeCompleted       = "completed"
	stateDone              = bot.State("done")
	deskCatalogLoadFailure = "support: the desk's own catalog does not load: "
)

// outcomeTexts are the catalog ids of the outcomes of the terminal states
// every flow shares (bot's session endings); any other terminal state is
// a failure (msgOutcomeFailed).
var outcomeTexts = map[bot.State]string{
	stateDone:   "support.desk.outcome.completed",
	"cancelled": "support.desk.outcome.cancelled",
	"expired":   "support.desk.outcome.expired",
	"blocked":   "support.desk.outcome.blocked",
}

// Messages returns the file system and paths of the support desk's
// catalog files (en and ms, go-i18n YAML, ids "support.desk.*") for
// bot.Catalog.Load: the staff-facing texts the desk posts to the support
// channel (hand-off and watch threads, escalations, alerts, outcomes).
// The desk renders them itself (it needs no Desk.Texts for them); load
// them into another catalog only to show them elsewhere.
func Messages() (fs.FS, []string) {
	return messages, []string{"locales/en.yaml", "locales/ms.yaml"}
}

// Messages is the package's Messages, so that a Desk is a
// bot.MessageSource.
func (d *Desk) Messages() (fs.FS, []string) { return Messages() }

var _ bot.MessageSource = (*Desk)(nil)

// deskCatalog is the catalog of the desk's own texts, loaded once; the
// files are embedded, so a load error is a build mistake (the package's
// tests load them).
var deskCatalog = sync.OnceValue(func() *bot.Catalog {
	c := bot.NewCatalog()
	fsys, paths := Messages()
	if err := c.Load(fsys, paths...); err != nil {
		panic(deskCatalogLoadFailure + err.Error())
	}
	return c
})

// say renders the desk's own text id in Desk.Locale with data.
func (d *Desk) say(id string, data map[string]any) string {
	return deskCatalog().Text(d.Locale, id, data)
}

// staffTime formats t for staff posts: "15:04:05 UTC".
func staffTime(t time.Time) string { return t.UTC().Format(staffTimeLayout) }
