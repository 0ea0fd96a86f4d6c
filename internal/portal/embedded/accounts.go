package embedded

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"go.etcd.io/bbolt"

	"guidedfix/internal/mailtext"
	"guidedfix/internal/portal"
)

// accountRec is a stored account. Secrets are only ever held sealed or
// hashed.
type accountRec struct {
	ID           string
	Email        string
	Name         string
	Phone        string
	Method       portal.Method
	CreatedAt    time.Time
	PasswordHash string // argon2id PHC string

	TOTPSecret []byte `json:",omitempty"` // active TOTP secret, sealed with aad totpAAD(ID)
	LastStep   int64  `json:",omitempty"` // last accepted TOTP time step (RFC 6238 §5.2)

	// Failures are the account's failures (every factor, every source)
	// within failureWindow; accountMaxFailures of them lock the account.
	Failures    []time.Time `json:",omitempty"`
	LockedUntil time.Time
	// Locks is how many account locks the current failure streak caused
	// (the next lasts lockLength(Locks)).
	Locks int `json:",omitempty"`
	// Consecutive is, per factor (factorPassword, …), the failures since
	// that factor's last success; it survives locks and restarts.
	Consecutive map[string]int `json:",omitempty"`
	// Sources are the failure records per source (sourceKey).
	Sources map[string]sourceRec `json:",omitempty"`
	// Notified is set once the owner was e-mailed about the current
	// streak's first lock.
	Notified bool        `json:",omitempty"`
	SMSSent  []time.Time `json:",omitempty"` // challenges sent within failureWindow

	RecoveryCodes []string `json:",omitempty"` // argon2id PHC hashes of unused recovery codes

	Challenge  string `json:",omitempty"` // current SMS challenge id
	Enrollment string `json:",omitempty"` // current pending enrollment id

	// SwitchOpen is set by Disable2FA and cleared when TOTP is confirmed,
	// the factor restored or the account reset: while it is set the
	// account is without a second factor only because a switch is under
	// way, and BeginTOTPEnrollment needs an elevated grant (one that
	// proved the factor just removed), never a password alone.
	SwitchOpen bool `json:",omitempty"`

	// Locale is the account's language (a mailtext.Languages tag, "" for
	// English): every e-mail to the holder is rendered in it.
	Locale string `json:",omitempty"`
}

func (a accountRec) public() portal.Account {
	return portal.Account{ID: a.ID, Email: a.Email, Name: a.Name, Phone: a.Phone, Method: a.Method, CreatedAt: a.CreatedAt, Locale: a.Locale}
}

// adoptLocale gives a, when it has no language yet, the chat's language
// carried by ctx (portal.WithLocale) if the e-mail catalogs have it; a
// language a already has is never replaced by a chat's. It reports
// whether a changed. Disable2FA and ConfirmTOTPEnrollment call it, in
// the transaction of their change and before rendering its e-mail.
func adoptLocale(ctx context.Context, a *accountRec) bool {
	if a.Locale != "" {
		return false
	}
	tag, ok := mailtext.Language(portal.LocaleFromContext(ctx))
	if !ok {
		return false
	}
	a.Locale = tag
	return true
}

// viewAccount reads the account with id in a read transaction, or
// portal.ErrNotFound.
func (c *Core) viewAccount(id string) (accountRec, error) {
	var a accountRec
	err := c.db.View(func(tx *bbolt.Tx) error {
		var err error
		a, err = c.loadAccount(tx, id)
		return err
	})
	return a, err
}

// loadAccount returns the account with id, or portal.ErrNotFound. The
// record is decoded only when c's decoded-account cache (accountcache.go)
// does not hold these very bytes.
func (c *Core) loadAccount(tx *bbolt.Tx, id string) (accountRec, error) {
	raw := tx.Bucket(bAccounts).Get([]byte(id))
	if raw == nil {
		return accountRec{}, portal.ErrNotFound
	}
	if a, ok := c.accounts.lookup(id, raw); ok {
		return a, nil
	}
	var a accountRec
	if err := json.Unmarshal(raw, &a); err != nil {
		return accountRec{}, fmt.Errorf("portal: corrupt %s record: %w", bAccounts, err)
	}
	c.accounts.store(id, bytes.Clone(raw), a) // raw is only valid in tx
	return a, nil
}

// putAccount stores a as JSON at a.ID in bAccounts, the pair of
// loadAccount. A record that decodes to itself is also kept in c's
// decoded-account cache for the bytes written, so that the next turn's
// loadAccount needs no decode. It returns json.Marshal's or bbolt's error.
func (c *Core) putAccount(tx *bbolt.Tx, a accountRec) error {
	data, err := json.Marshal(a)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bAccounts).Put([]byte(a.ID), data); err != nil {
		return err
	}
	if a.decodesToItself() {
		c.accounts.store(a.ID, data, a) // data stays unmodified: bbolt holds it until the commit
	}
	return nil
}

// lockError returns *portal.LockedError while the account is locked.
func (a *accountRec) lockError(now time.Time) error {
	if now.Before(a.LockedUntil) {
		return &portal.LockedError{RetryAfter: a.LockedUntil}
	}
	return nil
}

// recent returns the instants of ts less than failureWindow before now.
func recent(ts []time.Time, now time.Time) []time.Time {
	var out []time.Time
	for _, t := range ts {
		if now.Sub(t) < failureWindow {
			out = append(out, t)
		}
	}
	return out
}

// NewAccount is the input of AddAccount.
type NewAccount struct {
	// Email is the login e-mail (RFC 5322 addr-spec, no display name); it
	// is stored lower-cased.
	Email string
	// Name is the display name; may be empty.
	Name string
	// Phone is the SMS number in E.164 form ("+" and 7 to 15 digits);
	// required when Method is portal.MethodSMS.
	Phone string
	// Method is portal.MethodNone (also for "") or portal.MethodSMS; a TOTP
	// factor is bound only through an enrollment.
	Method portal.Method
	// Password is the initial password, at least 8 characters.
	Password string
	// Locale is the account's language, a BCP 47 tag whose language has
	// e-mail catalogs (mailtext.Language: "ms", "ms-MY", "en"); "" leaves
	// it unset (English, until a chat's language is adopted).
	Locale string
}

// MaxPasswordBytes is the longest password accepted, in bytes (NIST SP
// 800-63B §5.1.1.2 asks for at least 64 characters).
const MaxPasswordBytes = 1024

var e164 = regexp.MustCompile(`^\+[1-9]\d{6,14}$`)

// AddAccount validates na and creates the account with an argon2id hash of
// its password, returning the stored account (new random ID, CreatedAt
// now, UTC). It returns an error wrapping ErrInvalidAccount for an invalid
// e-mail, phone (E.164, ITU-T E.164), method, or a password shorter than 8
// characters (NIST SP 800-63B §5.1.1.2), ErrExists when the e-mail is
// already registered, and ctx's error when the hashing slot wait is
// cancelled.
func (c *Core) AddAccount(ctx context.Context, na NewAccount) (portal.Account, error) {
	now := c.clock()
	email, err := na.validate()
	if err != nil {
		return portal.Account{}, err
	}
	hash, err := c.hashPassword(ctx, na.Password)
	if err != nil {
		return portal.Account{}, err
	}
	a := accountRec{
		ID: newID("acc"), Email: email, Name: na.Name, Phone: na.Phone,
		Method: na.Method, CreatedAt: now, PasswordHash: hash, Locale: na.Locale,
	}
	err = c.update(func(tx *bbolt.Tx) error {
		if tx.Bucket(bEmails).Get([]byte(email)) != nil {
			return ErrExists
		}
		if err := tx.Bucket(bEmails).Put([]byte(email), []byte(a.ID)); err != nil {
			return err
		}
		return c.putAccount(tx, a)
	})
	if err != nil {
		return portal.Account{}, err
	}
	c.countParams(hash, +1)
	c.log.InfoContext(ctx, "portal account added", "account", a.ID, "method", a.Method)
	return a.public(), nil
}

// ResetAccount gives the existing account registered with na.Email the
// name, phone, method, password and language of na, as an administrator would (the
// demo's --reset). It drops the active TOTP factor, any pending challenge
// and enrollment, the failure counters and a lock, but keeps the last
// accepted TOTP time step, so no code accepted before is ever accepted
// again (RFC 6238 §5.2). It returns the same validation errors as
// AddAccount and portal.ErrNotFound when no account has that e-mail.
func (c *Core) ResetAccount(ctx context.Context, na NewAccount) (portal.Account, error) {
	email, err := na.validate()
	if err != nil {
		return portal.Account{}, err
	}
	hash, err := c.hashPassword(ctx, na.Password)
	if err != nil {
		return portal.Account{}, err
	}
	var a accountRec
	old := ""
	err = c.update(func(tx *bbolt.Tx) error {
		id := tx.Bucket(bEmails).Get([]byte(email))
		if id == nil {
			return portal.ErrNotFound
		}
		var err error
		if a, err = c.loadAccount(tx, string(id)); err != nil {
			return err
		}
		if a.Enrollment != "" {
			if err := voidEnrollment(tx, a.Enrollment); err != nil {
				return err
			}
		}
		// A reset is a password change: every grant issued before is void,
		// so a conversation in progress must authenticate again.
		if err := revokeGrants(tx, a.ID); err != nil {
			return err
		}
		old = a.PasswordHash
		a.Name, a.Phone, a.Method, a.PasswordHash, a.Locale = na.Name, na.Phone, na.Method, hash, na.Locale
		a.TOTPSecret, a.Challenge, a.Enrollment, a.RecoveryCodes, a.SwitchOpen = nil, "", "", nil, false
		a.Failures, a.SMSSent, a.LockedUntil, a.Locks = nil, nil, time.Time{}, 0
		a.Consecutive, a.Sources, a.Notified = nil, nil, false
		return c.putAccount(tx, a)
	})
	if err != nil {
		return portal.Account{}, err
	}
	c.countParams(old, -1)
	c.countParams(hash, +1)
	c.log.InfoContext(ctx, "portal account reset", "account", a.ID, "method", a.Method)
	return a.public(), nil
}

// grantAccountField is how encoding/json begins every grantRec:
// AccountID is its first field, and its string value follows without a
// space.
var grantAccountField = []byte(`{"AccountID":`)

// revokeGrants deletes every grant of accountID. It scans the grants
// bucket, but decodes only the records that may be accountID's: decoding
// every grant of every account made each enrollment's confirmation cost a
// decode per grant in the database (issue 14). A record as json.Marshal
// writes it (grantAccountField first) is a candidate when its AccountID
// value starts with accountID's JSON string, a comparison of its first
// bytes; searching the whole record for that string (records of any
// other form still get that) made the scan 3 to 8 times slower
// (BenchmarkRevokeGrants, 500 grants stored: 170-330 µs before, 40-65 µs
// with the prefix; grants of abandoned flows stay in the bucket). Both
// byte comparisons assume the id is written unescaped (RFC 8259 §7): a
// record holding a backslash (an escape such as \u0061 for "a") and any
// record, when accountID's own JSON string has an escape, are decoded
// whatever their bytes. json.Marshal of a base32 id never escapes, so
// grants as the core writes them keep the fast path.
func revokeGrants(tx *bbolt.Tx, accountID string) error {
	b := tx.Bucket(bGrants)
	var keys [][]byte
	needle, err := json.Marshal(accountID)
	if err != nil {
		return err
	}
	compare := bytes.IndexByte(needle, '\\') < 0
	err = b.ForEach(func(k, v []byte) error {
		if compare && bytes.IndexByte(v, '\\') < 0 {
			if rest, ok := bytes.CutPrefix(v, grantAccountField); ok && len(rest) > 0 && rest[0] == '"' {
				if !bytes.HasPrefix(rest, needle) {
					return nil // another account's
				}
			} else if !bytes.Contains(v, needle) {
				return nil
			}
		}
		var g grantRec
		if err := json.Unmarshal(v, &g); err != nil {
			return err
		}
		if g.AccountID == accountID {
			keys = append(keys, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

// MaxNameRunes is the longest display name AddAccount accepts, in
// characters (Unicode code points).
const MaxNameRunes = 200

// validate checks na and returns its normalised e-mail; it defaults an
// empty Method to portal.MethodNone.
func (na *NewAccount) validate() (string, error) {
	// The chat looks addresses up through portal.NormalizeEmail: an
	// account is created under the same form, so that a full-width or
	// upper-case twin is ErrExists and what the chat refuses is refused.
	email, err := portal.NormalizeEmail(na.Email)
	if err != nil {
		return "", fmt.Errorf("%w: e-mail %q is not a plain address of at most %d bytes (local part %d)",
			ErrInvalidAccount, na.Email, portal.MaxEmailBytes, portal.MaxEmailLocalBytes)
	}
	if na.Method == "" {
		na.Method = portal.MethodNone
	}
	// "+60 12-345 6789" and "+60 (12) 3456789" are the same number.
	na.Phone = strings.NewReplacer(" ", "", "-", "", "(", "", ")", "", ".", "").Replace(na.Phone)
	switch {
	case na.Phone != "" && !e164.MatchString(na.Phone):
		return "", fmt.Errorf("%w: phone must be E.164 like +60123456789", ErrInvalidAccount)
	case na.Method != portal.MethodNone && na.Method != portal.MethodSMS:
		return "", fmt.Errorf("%w: method must be %q or %q", ErrInvalidAccount, portal.MethodNone, portal.MethodSMS)
	case na.Method == portal.MethodSMS && na.Phone == "":
		return "", fmt.Errorf("%w: method sms needs a phone", ErrInvalidAccount)
	case utf8.RuneCountInString(na.Name) > MaxNameRunes || !utf8.ValidString(na.Name):
		return "", fmt.Errorf("%w: name must be valid UTF-8 of at most %d characters", ErrInvalidAccount, MaxNameRunes)
	case strings.IndexFunc(na.Name, func(r rune) bool { return unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) }) >= 0:
		return "", fmt.Errorf("%w: name must not contain control or bidirectional formatting characters", ErrInvalidAccount)
	case utf8.RuneCountInString(na.Password) < 8:
		return "", fmt.Errorf("%w: password must have at least 8 characters", ErrInvalidAccount)
	case len(na.Password) > MaxPasswordBytes || !utf8.ValidString(na.Password):
		return "", fmt.Errorf("%w: password must be valid UTF-8 of at most %d bytes", ErrInvalidAccount, MaxPasswordBytes)
	}
	if na.Locale != "" {
		tag, ok := mailtext.Language(na.Locale)
		if !ok {
			return "", fmt.Errorf("%w: locale must be one of %q", ErrInvalidAccount, mailtext.Languages)
		}
		na.Locale = tag
	}
	return email, nil
}

// ListAccounts returns every account sorted by e-mail (byte order); it
// returns an error only when the database cannot be read.
func (c *Core) ListAccounts(ctx context.Context) ([]portal.Account, error) {
	var out []portal.Account
	err := c.db.View(func(tx *bbolt.Tx) error {
		return tx.Bucket(bEmails).ForEach(func(_, id []byte) error {
			a, err := c.loadAccount(tx, string(id))
			if err != nil {
				return err
			}
			out = append(out, a.public())
			return nil
		})
	})
	return out, err
}

// LookupAccount returns the account registered with email (trimmed,
// compared lower-cased), or portal.ErrNotFound.
func (c *Core) LookupAccount(ctx context.Context, email string) (portal.Account, error) {
	var a accountRec
	err := c.db.View(func(tx *bbolt.Tx) error {
		id := tx.Bucket(bEmails).Get([]byte(lookupForm(email)))
		if id == nil {
			return portal.ErrNotFound
		}
		var err error
		a, err = c.loadAccount(tx, string(id))
		return err
	})
	return a.public(), err
}

// Account returns the account with accountID, or portal.ErrNotFound.
func (c *Core) Account(ctx context.Context, accountID string) (portal.Account, error) {
	a, err := c.viewAccount(accountID)
	if err != nil {
		return portal.Account{}, err
	}
	return a.public(), nil
}

// SecurityStatus returns the account's method, its phone masked by
// MaskPhone and how many unused recovery codes it has, or
// portal.ErrNotFound.
func (c *Core) SecurityStatus(ctx context.Context, accountID string) (portal.Status, error) {
	a, err := c.viewAccount(accountID)
	if err != nil {
		return portal.Status{}, err
	}
	return portal.Status{AccountID: a.ID, Method: a.Method, MaskedPhone: MaskPhone(a.Phone), RecoveryCodes: len(a.RecoveryCodes)}, nil
}

// Restrictions is what currently holds an account back, for
// administrators (guidedfix portal show).
type Restrictions struct {
	// LockedUntil is the end of a lock after failed attempts; zero when
	// the account is not locked.
	LockedUntil time.Time
	// Failures is the number of wrong passwords and codes of every source
	// counted toward the next account lock (within the last 15 minutes;
	// 20 lock).
	Failures int
	// Consecutive is, per factor ("password", "sms", "totp", "recovery"),
	// the failures since that factor's last success (100 refuse it until
	// Unlock).
	Consecutive map[string]int
	// ThrottledSources is how many sources are throttled now.
	ThrottledSources int
	// SMSSent is how many SMS codes were sent within the last 15 minutes
	// (at most 5 are).
	SMSSent int
	// SMSUntil is when another SMS code can be sent, when the cap of 5
	// within 15 minutes is reached; zero otherwise.
	SMSUntil time.Time
	// SwitchOpen is true while the second factor is off for a switch
	// under way (Disable2FA done, neither restored nor TOTP confirmed).
	SwitchOpen bool
}

// Restrictions returns the account's locks and limits at the core's
// current time; portal.ErrNotFound for an unknown id.
func (c *Core) Restrictions(ctx context.Context, accountID string) (Restrictions, error) {
	now := c.clock()
	a, err := c.viewAccount(accountID)
	if err != nil {
		return Restrictions{}, err
	}
	r := Restrictions{SwitchOpen: a.SwitchOpen, Failures: len(recent(a.Failures, now)), Consecutive: map[string]int{}}
	for f, n := range a.Consecutive {
		r.Consecutive[f] = n
	}
	r.ThrottledSources = throttledSources(a, now)
	if now.Before(a.LockedUntil) {
		r.LockedUntil = a.LockedUntil
	}
	sent := recent(a.SMSSent, now)
	r.SMSSent = len(sent)
	if len(sent) >= maxSMSPerWindow {
		r.SMSUntil = sent[0].Add(failureWindow)
	}
	return r, nil
}

// MaskPhone masks an E.164 number for display: it keeps "+", the first 2
// digits and the last 4 and replaces each other digit by '•'
// ("+60123456789" -> "+60•••••6789"). It returns "" for "" and only '•'s
// (one per character) for anything that is not E.164.
func MaskPhone(phone string) string {
	if phone == "" {
		return ""
	}
	if !e164.MatchString(phone) {
		return strings.Repeat("•", utf8.RuneCountInString(phone))
	}
	digits := phone[1:]
	return "+" + digits[:2] + strings.Repeat("•", len(digits)-6) + digits[len(digits)-4:]
}

// lookupForm is the bEmails key LookupAccount tries for email: its
// portal.NormalizeEmail form (how AddAccount stores it), or for text
// NormalizeEmail refuses the trimmed lower-case text (accounts created
// before AddAccount normalised stay reachable).
func lookupForm(email string) string {
	if n, err := portal.NormalizeEmail(email); err == nil {
		return n
	}
	return strings.ToLower(strings.TrimSpace(email))
}
