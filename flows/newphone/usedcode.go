package newphone

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"

	"guidedfix/bot"
	"guidedfix/internal/portal"
)

// msgOldCodeUsed answers, at the new app's code step, the code of the
// old phone's app that this session already used to prove the current
// factor (issue 14 F5): it was deleted from the chat like any typed code,
// is not sent to the core and costs no try.
const msgOldCodeUsed = "newphone.old_code_used"

// newCodeKey returns 32 bytes from crypto/rand: the flow's key for
// usedCodeMAC, held in memory only. It panics if the system's random
// source fails (crypto/rand.Read does not fail on supported platforms).
func newCodeKey() []byte {
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		panic("newphone: crypto/rand: " + err.Error())
	}
	return k
}

// usedCodeMAC returns the base64url HMAC-SHA256 (RFC 2104), under the
// flow's in-memory key, of the session id and code normalized by
// portal.NormalizeCode, truncated to 128 bits; "" for text that is not a
// code. It is what the session data keeps of the current app's accepted
// code (never the code: a 6-digit code's hash without a secret key could
// be reversed by trying all of them). A key that changed (a restart,
// another replica) only makes the check miss: the code then goes to the
// core as before.
func (f *Flow) usedCodeMAC(sessionID, code string) string {
	c, ok := portal.NormalizeCode(code)
	if !ok {
		return ""
	}
	m := hmac.New(sha256.New, f.codeKey)
	m.Write([]byte("newphone-used-code\x00" + sessionID + "\x00" + c))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:16])
}

// oldCodeAgain reports whether code, typed at the new app's code step, is
// the current app's code this session accepted (data.UsedCode), compared
// in constant time and only with that one code, so the answer tells
// nothing about any other code. It then answers msgOldCodeUsed and asks
// for the new app's code again; the state does not change and the core is
// not asked.
func (f *Flow) oldCodeAgain(t *turn, code bot.Secret) bool {
	if t.d.UsedCode == "" {
		return false
	}
	mac := f.usedCodeMAC(t.Session.ID, code.Reveal())
	if mac == "" || !hmac.Equal([]byte(mac), []byte(t.d.UsedCode)) {
		return false
	}
	t.Tag(bot.TagLastError, "old authenticator code typed for the new app")
	t.Ask(bot.SecretTOTPCode, msgOldCodeUsed, nil, f.newCodeButtons(t)...)
	return true
}
