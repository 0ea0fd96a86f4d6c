package entry

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Errors of ValidateInitData. Each is wrapped with detail that never holds
// the init data itself.
var (
	// ErrInitDataMalformed: the string is not a query string, or lacks hash,
	// auth_date or user.
	ErrInitDataMalformed = errors.New("entry: telegram init data malformed")
	// ErrInitDataSignature: hash does not match (forged, or another bot's).
	ErrInitDataSignature = errors.New("entry: telegram init data signature invalid")
	// ErrInitDataStale: auth_date is older than the allowed age, or more
	// than a minute in the future.
	ErrInitDataStale = errors.New("entry: telegram init data too old")
)

// WebAppUser is the "user" field of Telegram Mini App init data (Bot API
// "WebAppUser"), with the fields guidedfix reads.
type WebAppUser struct {
	// ID is the Telegram user id; in a private chat it is also the chat id.
	ID int64 `json:"id"`
	// FirstName, LastName and Username are as Telegram sends them.
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
	// LanguageCode is the user's IETF language tag ("en", "ms").
	LanguageCode string `json:"language_code,omitempty"`
}

// InitData is validated Telegram Mini App init data.
type InitData struct {
	// User is the user who opened the Mini App.
	User WebAppUser
	// AuthDate is when Telegram signed the data (second precision).
	AuthDate time.Time
	// ChatType is "sender" for a Mini App opened from the bot's private
	// chat, "" when Telegram did not send it.
	ChatType string
}

// ValidateInitData checks raw, the value of Telegram.WebApp.initData (a
// URL query string), for the bot with token botToken, as the Bot API
// documents it ("Validating data received via the Mini App"):
//
//   - the fields are split on "&" and "=" and each value is URL-decoded
//     exactly once;
//   - data-check-string = the fields except "hash", as "key=value" sorted
//     by key, joined by "\n";
//   - secret_key = HMAC-SHA256(key "WebAppData", message botToken);
//   - hash must equal hex(HMAC-SHA256(key secret_key, data-check-string)),
//     compared in constant time (hmac.Equal);
//   - auth_date (unix seconds) must be at most maxAge before now and at
//     most one minute after it.
//
// It returns the parsed data, or an error wrapping ErrInitDataMalformed,
// ErrInitDataSignature or ErrInitDataStale. The "signature" field
// (Ed25519, for third parties) is part of the check string like any other
// field and is not verified separately.
func ValidateInitData(raw, botToken string, now time.Time, maxAge time.Duration) (*InitData, error) {
	if raw == "" || botToken == "" {
		return nil, fmt.Errorf("%w: empty", ErrInitDataMalformed)
	}
	fields := map[string]string{}
	for _, pair := range strings.Split(raw, "&") {
		k, v, ok := strings.Cut(pair, "=")
		if !ok {
			return nil, fmt.Errorf("%w: field without '='", ErrInitDataMalformed)
		}
		dk, err1 := url.QueryUnescape(k)
		dv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("%w: bad escape", ErrInitDataMalformed)
		}
		if _, dup := fields[dk]; dup {
			return nil, fmt.Errorf("%w: field %q twice", ErrInitDataMalformed, dk)
		}
		fields[dk] = dv
	}
	want, ok := fields["hash"]
	if !ok {
		return nil, fmt.Errorf("%w: no hash", ErrInitDataMalformed)
	}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		if k != "hash" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + "=" + fields[k]
	}
	sk := hmac.New(sha256.New, []byte("WebAppData"))
	sk.Write([]byte(botToken))
	mac := hmac.New(sha256.New, sk.Sum(nil))
	mac.Write([]byte(strings.Join(lines, "\n")))
	got, err := hex.DecodeString(want)
	if err != nil || !hmac.Equal(got, mac.Sum(nil)) {
		return nil, ErrInitDataSignature
	}
	secs, err := strconv.ParseInt(fields["auth_date"], 10, 64)
	if err != nil {
		return nil, fmt.Errorf("%w: auth_date", ErrInitDataMalformed)
	}
	at := time.Unix(secs, 0)
	if now.Sub(at) > maxAge || at.Sub(now) > time.Minute {
		return nil, fmt.Errorf("%w: signed %v ago", ErrInitDataStale, now.Sub(at).Round(time.Second))
	}
	d := &InitData{AuthDate: at, ChatType: fields["chat_type"]}
	if err := json.Unmarshal([]byte(fields["user"]), &d.User); err != nil || d.User.ID == 0 {
		return nil, fmt.Errorf("%w: user", ErrInitDataMalformed)
	}
	return d, nil
}

// SignInitData returns init data for fields signed for botToken the way
// Telegram signs it (the inverse of ValidateInitData): the values are
// URL-encoded once and "hash" is appended. Tests and the demo use it to
// stand in for Telegram; fields must not contain "hash".
func SignInitData(fields map[string]string, botToken string) string {
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	lines := make([]string, len(keys))
	q := make([]string, len(keys))
	for i, k := range keys {
		lines[i] = k + "=" + fields[k]
		q[i] = url.QueryEscape(k) + "=" + url.QueryEscape(fields[k])
	}
	sk := hmac.New(sha256.New, []byte("WebAppData"))
	sk.Write([]byte(botToken))
	mac := hmac.New(sha256.New, sk.Sum(nil))
	mac.Write([]byte(strings.Join(lines, "\n")))
	return strings.Join(q, "&") + "&hash=" + hex.EncodeToString(mac.Sum(nil))
}
