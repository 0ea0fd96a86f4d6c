package entry_test

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"guidedfix/flows/totpswitch"
	"guidedfix/internal/entry"
)

// pct percent-encodes s the way Telegram clients encode init data values
// (encodeURIComponent: everything but A-Z a-z 0-9 - _ . ! ~ * ' ( ) as
// %XX, a space as %20).
func pct(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		if 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || strings.IndexByte("-_.!~*'()", c) >= 0 {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// signed returns init data for user JSON userJSON signed at authDate, with
// the hash computed here from the documented formula (independent of
// entry.SignInitData).
func signed(token, userJSON string, authDate int64) string {
	check := "auth_date=" + strconv.FormatInt(authDate, 10) + "\nchat_type=sender\nquery_id=AAHdF6IQAAAAAN0XohDhrOrc\nuser=" + userJSON
	sk := hmac.New(sha256.New, []byte("WebAppData"))
	sk.Write([]byte(token))
	mac := hmac.New(sha256.New, sk.Sum(nil))
	mac.Write([]byte(check))
	return "query_id=AAHdF6IQAAAAAN0XohDhrOrc&user=" + pct(userJSON) + "&chat_type=sender&auth_date=" +
		strconv.FormatInt(authDate, 10) + "&hash=" + hex.EncodeToString(mac.Sum(nil))
}

const plusPercentUser = `{"id":4242,"first_name":"Ana+Bob","last_name":"100% real","username":"ana_b","language_code":"en"}`

func TestInitDataGenuineWithPlusAndPercent(t *testing.T) {
	now := time.Unix(1_764_000_000, 0)
	raw := signed(botToken, plusPercentUser, now.Add(-30*time.Second).Unix())
	if !strings.Contains(raw, "%2B") || !strings.Contains(raw, "%25") {
		t.Fatalf("test data lacks an encoded + or %%: %s", raw)
	}
	d, err := entry.ValidateInitData(raw, botToken, now, 5*time.Minute)
	if err != nil {
		t.Fatalf("genuine init data refused: %v", err)
	}
	if d.User.ID != 4242 || d.User.FirstName != "Ana+Bob" || d.User.LastName != "100% real" || d.ChatType != "sender" ||
		!d.AuthDate.Equal(now.Add(-30*time.Second)) {
		t.Fatalf("parsed %+v", d)
	}
	// SignInitData (the tests' and the demo's stand-in for Telegram)
	// produces data the validator accepts, too.
	raw2 := entry.SignInitData(map[string]string{"user": plusPercentUser, "auth_date": strconv.FormatInt(now.Unix(), 10)}, botToken)
	if _, err := entry.ValidateInitData(raw2, botToken, now, 5*time.Minute); err != nil {
		t.Fatalf("SignInitData output refused: %v", err)
	}
}

func TestInitDataRefused(t *testing.T) {
	now := time.Unix(1_764_000_000, 0)
	good := signed(botToken, plusPercentUser, now.Unix())
	for _, tc := range []struct {
		name string
		raw  string
		want error
	}{
		{"other user id", strings.Replace(good, "%22id%22%3A4242", "%22id%22%3A4243", 1), entry.ErrInitDataSignature},
		{"other bot's token", signed("999:other", plusPercentUser, now.Unix()), entry.ErrInitDataSignature},
		{"hash of another field set", strings.Replace(good, "chat_type=sender", "chat_type=private", 1), entry.ErrInitDataSignature},
		{"hash not hex", good[:strings.Index(good, "hash=")] + "hash=zz", entry.ErrInitDataSignature},
		{"stale", signed(botToken, plusPercentUser, now.Add(-5*time.Minute-time.Second).Unix()), entry.ErrInitDataStale},
		{"from the future", signed(botToken, plusPercentUser, now.Add(2*time.Minute).Unix()), entry.ErrInitDataStale},
		{"no hash", good[:strings.Index(good, "&hash=")], entry.ErrInitDataMalformed},
		{"empty", "", entry.ErrInitDataMalformed},
		{"bad escape", "user=%zz&hash=00", entry.ErrInitDataMalformed},
		{"field twice", good + "&auth_date=1", entry.ErrInitDataMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := entry.ValidateInitData(tc.raw, botToken, now, 5*time.Minute)
			if !errors.Is(err, tc.want) || d != nil {
				t.Fatalf("got %v, %v; want %v", d, err, tc.want)
			}
		})
	}
}

// TestMiniAppBinding opens a link as Telegram's Mini App would: the page
// loads Telegram's script under its own CSP, and the POST counts only with
// fresh init data of the conversation's own user.
func TestMiniAppBinding(t *testing.T) {
	r := newRig(t, true)
	link := r.toPassword()
	for _, rep := range r.Last {
		if rep.ID == "totp.ask_password" && !rep.Link.WebApp {
			t.Fatal("the prompt's link is not a Mini App link")
		}
	}
	p := get(t, link)
	wantPage(t, p, 200, "password")
	if !strings.Contains(p.body, `src="https://telegram.org/js/telegram-web-app.js"`) {
		t.Fatal("the Mini App page does not load telegram-web-app.js")
	}
	csp := p.header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self' https://telegram.org") || !strings.Contains(csp, "frame-ancestors https://web.telegram.org") ||
		p.header.Get("X-Frame-Options") != "" {
		t.Fatalf("Mini App CSP %q, X-Frame-Options %q", csp, p.header.Get("X-Frame-Options"))
	}
	now := r.env.Clock.Now()
	user := func(id int) string { return strings.Replace(plusPercentUser, "4242", strconv.Itoa(id), 1) }
	for name, initData := range map[string]string{
		"none":       "",
		"forged":     signed("999:other", user(4242), now.Unix()),
		"stale":      signed(botToken, user(4242), now.Add(-6*time.Minute).Unix()),
		"other user": signed(botToken, user(777), now.Unix()),
	} {
		p := post(t, link, url.Values{"secret": {r.pw}, "init_data": {initData}})
		if p.status != 403 || p.state() != "error" || p.message() != "entry.error.telegram" {
			t.Fatalf("%s init data: page %d %q, want 403 error", name, p.status, p.state())
		}
		r.wantState(totpswitch.StateAwaitingPassword)
	}
	if st := r.env.Core.Stats(); st.SMSSent != 0 {
		t.Fatalf("refused posts reached the portal: %+v", st)
	}
	wantPage(t, post(t, link, url.Values{"secret": {r.pw}, "init_data": {signed(botToken, user(4242), now.Unix())}}), 200, "received")
	r.wantState(totpswitch.StateAwaitingSMSCode)
	if !strings.Contains(r.env.Log.String(), "Mini App data refused") {
		t.Fatal("refusals are not logged")
	}
	r.checkChat(r.pw)
}

// TestMiniAppLinksOnlyInPrivateChat: outside the user's private chat
// (conversation id not the user id) no Mini App link is issued; the chat
// path stays.
func TestMiniAppLinksOnlyInPrivateChat(t *testing.T) {
	r := newRig(t, true)
	r.Conv.ID = "-100500"
	r.send(startEvent())
	for _, rep := range r.send(textEvent("alice@example.com")) {
		if rep.Link != nil {
			t.Fatalf("reply %s got a link outside the private chat", rep.ID)
		}
		if rep.ID == "totp.ask_password" && rep.Secret == "" {
			t.Fatal("the prompt lost its chat path")
		}
	}
	r.wantState(totpswitch.StateAwaitingPassword)
}
