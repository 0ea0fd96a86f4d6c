package totpswitch

import (
	"time"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// data is the flow's per-session data. It holds ids, counters and the
// grant token (a short-lived bearer credential bound to one account,
// expiring within 10 minutes), never a password, code or secret.
type data struct {
	AccountID string `json:"account_id,omitempty"`
	// Pinned: the start event pinned the account (bot.Event.EmailPinned),
	// so no other e-mail is offered or taken.
	Pinned bool `json:"pinned,omitempty"`
	// HandoffToken is the token of a hand-off link opened with /start,
	// kept until the customer presses Start (it is spent only then, so a
	// preview fetcher or an accidental open spends nothing).
	HandoffToken string `json:"handoff_token,omitempty"`
	Unknown      bool   `json:"unknown,omitempty"`
	// Probe is the core's opaque UnknownAccount id of the e-mail typed when it has no
	// account: the core counts and locks its wrong passwords like a real
	// account's.
	Probe        string            `json:"probe,omitempty"`
	Grant        string            `json:"grant,omitempty"`
	GrantExpires time.Time         `json:"grant_expires,omitzero"`
	GrantLevel   portal.GrantLevel `json:"grant_level,omitempty"`
	ChallengeID  string            `json:"challenge_id,omitempty"`
	// ChallengeDead says the core refused ChallengeID as expired or
	// used up; a new challenge clears it.
	ChallengeDead bool          `json:"challenge_dead,omitempty"`
	SMSRound      int           `json:"sms_round,omitempty"`
	EnrollmentID  string        `json:"enrollment_id,omitempty"`
	EnrollRound   int           `json:"enroll_round,omitempty"`
	Tries         int           `json:"tries,omitempty"`
	StartMethod   portal.Method `json:"start_method,omitempty"`
	Disabled      bool          `json:"disabled,omitempty"`
	// DisableTried is set before Disable2FA is called: if the answer is
	// lost (a crash, a failed save) the disable may have committed
	// although Disabled is false, so an ending restores all the same
	// (RestoreFactor finds nothing to undo when it had not).
	DisableTried bool           `json:"disable_tried,omitempty"`
	DisabledAt   time.Time      `json:"disabled_at,omitzero"`
	ReminderSent bool           `json:"reminder_sent,omitempty"`
	EnrollExpiry time.Time      `json:"enroll_expires,omitzero"`
	Activated    bool           `json:"activated,omitempty"`
	Restored     bool           `json:"restored,omitempty"`
	Ending       bot.State      `json:"ending,omitempty"`
	EndingMsg    string         `json:"ending_msg,omitempty"`
	EndingData   map[string]any `json:"ending_data,omitempty"`
	RetryNoted   bool           `json:"retry_noted,omitempty"`
	Label        string         `json:"label,omitempty"`
}

// forgetGrant erases the re-authentication grant: a finished session keeps
// no credential.
func (d *data) forgetGrant() { d.Grant, d.GrantLevel, d.GrantExpires = "", "", time.Time{} }

// needsRestore reports whether the flow disabled SMS 2FA and nothing has
// replaced it yet: ending now would leave the account with a password only.
func (d *data) needsRestore() bool { return d.Disabled && !d.Activated && !d.Restored }

// mustRestore reports whether an ending has to call RestoreFactor: SMS 2FA
// is off, or may be (DisableTried), and no app is verified.
func (d *data) mustRestore() bool {
	return (d.Disabled || d.DisableTried) && !d.Activated && !d.Restored
}

// turn bundles a bot turn with the decoded data for one handler run.
type turn struct {
	*bot.Turn
	d      *data
	margin time.Duration
	steps  int
}

func (t *turn) say(id string, extra map[string]any, buttons ...bot.Button) {
	t.Say(id, t.withSteps(extra), buttons...)
}

func (t *turn) ask(field bot.SecretField, id string, extra map[string]any, buttons ...bot.Button) {
	t.Ask(field, id, t.withSteps(extra), buttons...)
}

// withSteps adds the number of steps the user sees to m: Steps, plus one
// when recovery codes are issued.
func (t *turn) withSteps(m map[string]any) map[string]any {
	out := map[string]any{"Steps": t.steps}
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (t *turn) cancelButton() bot.Button { return t.Button(msgButtonCancel, "cancel") }
