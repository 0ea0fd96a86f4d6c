package entry_test

import (
	"encoding/base64"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pquerna/otp"

	"guidedfix/flows/totpswitch"
	"guidedfix/internal/qr/qrdecode"
)

// page is one HTTP answer of the entry page.
type page struct {
	status int
	body   string
	header http.Header
}

func get(t *testing.T, u string) page {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b), resp.Header}
}

func post(t *testing.T, u string, form url.Values) page {
	t.Helper()
	resp, err := http.PostForm(u, form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{resp.StatusCode, string(b), resp.Header}
}

// state returns the page's data-state attribute.
func (p page) state() string {
	m := regexp.MustCompile(`data-state="([a-z_]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

// message returns the catalog id of the page's result message.
func (p page) message() string {
	m := regexp.MustCompile(`data-message="([a-z_.]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return m[1]
}

func wantError(t *testing.T, p page, status int, id string) {
	t.Helper()
	if p.status != status || p.state() != "error" || p.message() != id {
		t.Fatalf("page %d %q %q, want %d error %q", p.status, p.state(), p.message(), status, id)
	}
}

func wantPage(t *testing.T, p page, status int, state string) {
	t.Helper()
	if p.status != status || p.state() != state {
		t.Fatalf("page %d %q, want %d %q", p.status, p.state(), status, state)
	}
}

func TestPasswordAndCodeThroughPage(t *testing.T) {
	r := newRig(t, false)
	link := r.toPassword()
	if !strings.HasPrefix(link, r.http.URL+"/e/") || len(strings.TrimPrefix(link, r.http.URL+"/e/")) != 22 {
		t.Fatalf("link %q", link)
	}
	// A GET (a preview fetcher) shows the form and spends nothing.
	for range 2 {
		p := get(t, link)
		wantPage(t, p, 200, "password")
		if !strings.Contains(p.body, `type="password"`) || !strings.Contains(p.body, `autocomplete="current-password"`) {
			t.Fatalf("password field missing: %s", p.body)
		}
	}
	r.wantState(totpswitch.StateAwaitingPassword)

	// An empty submission re-asks and spends nothing.
	wantPage(t, post(t, link, url.Values{"secret": {""}}), 422, "password")

	p := post(t, link, url.Values{"secret": {r.pw}})
	wantPage(t, p, 200, "received")
	if !strings.Contains(p.body, "entry.received.password") && !strings.Contains(p.body, "Password received") {
		t.Fatalf("no receipt: %s", p.body)
	}
	r.wantState(totpswitch.StateAwaitingSMSCode)
	smsLink := r.link(r.replies(), "totp.sms_sent")

	// The spent link: a clear error, nothing changes.
	wantError(t, post(t, link, url.Values{"secret": {r.pw}}), 410, "entry.error.invalid")
	wantError(t, get(t, link), 410, "entry.error.invalid")
	r.wantState(totpswitch.StateAwaitingSMSCode)

	p = get(t, smsLink)
	wantPage(t, p, 200, "sms_code")
	if !strings.Contains(p.body, `inputmode="numeric"`) || !strings.Contains(p.body, `autocomplete="one-time-code"`) {
		t.Fatalf("code field attributes missing: %s", p.body)
	}
	code := r.env.LastSMSCode(t)
	wantPage(t, post(t, smsLink, url.Values{"secret": {code}}), 200, "received")
	r.wantState(totpswitch.StateConfirmDisable)
	r.checkChat(r.pw, code)
	if strings.Contains(r.env.Log.String(), strings.TrimPrefix(link, r.http.URL+"/e/")) {
		t.Fatal("the log holds a link's token")
	}
}

func TestHeaders(t *testing.T) {
	r := newRig(t, false)
	p := get(t, r.toPassword())
	for k, v := range map[string]string{
		"Cache-Control":   "no-store",
		"Referrer-Policy": "no-referrer",
		"X-Frame-Options": "DENY",
		"Content-Type":    "text/html; charset=utf-8",
	} {
		if got := p.header.Get(k); got != v {
			t.Errorf("%s: %q, want %q", k, got, v)
		}
	}
	csp := p.header.Get("Content-Security-Policy")
	for _, d := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, d) {
			t.Errorf("CSP %q lacks %q", csp, d)
		}
	}
	if strings.Contains(csp, "telegram.org") || strings.Contains(p.body, "telegram-web-app.js") {
		t.Error("a browser page loads Telegram's script")
	}
}

func TestStaleAndExpiredLinksChangeNothing(t *testing.T) {
	r := newRig(t, false)
	first := r.toPassword()
	// /start again, Start over: a new session; the first link belongs to a
	// step that passed.
	r.startOver()
	second := r.link(r.send(textEvent("alice@example.com")), "totp.ask_password")
	wantError(t, get(t, first), 409, "entry.error.stale")
	wantError(t, post(t, first, url.Values{"secret": {r.pw}}), 409, "entry.error.stale")
	r.wantState(totpswitch.StateAwaitingPassword)

	// Expired: the clock passes the 10-minute lifetime.
	r.env.Clock.Advance(10*time.Minute + time.Second)
	wantError(t, post(t, second, url.Values{"secret": {r.pw}}), 410, "entry.error.invalid")
	r.wantState(totpswitch.StateAwaitingPassword)
	if st := r.env.Core.Stats(); st.SMSSent != 0 {
		t.Fatalf("an SMS was sent: %+v", st)
	}
	// A token of the wrong shape and an unknown one.
	wantPage(t, get(t, r.http.URL+"/e/short"), 410, "error")
	wantPage(t, get(t, r.http.URL+"/e/AAAAAAAAAAAAAAAAAAAAAA"), 410, "error")
	// A cross-site form POST is refused before anything is read.
	r.startOver()
	third := r.link(r.send(textEvent("alice@example.com")), "totp.ask_password")
	req, _ := http.NewRequest("POST", third, strings.NewReader("secret=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 410 {
		t.Fatalf("cross-site POST: %d", resp.StatusCode)
	}
	wantPage(t, get(t, third), 200, "password")
}

func TestQRPage(t *testing.T) {
	r := newRig(t, false)
	wantPage(t, post(t, r.toPassword(), url.Values{"secret": {r.pw}}), 200, "received")
	code := r.env.LastSMSCode(t)
	wantPage(t, post(t, r.link(r.replies(), "totp.sms_sent"), url.Values{"secret": {code}}), 200, "received")
	r.replies()
	r.pressLast("disable")
	r.pressLast("setup")
	rs := r.pressLast("app")
	if got := strings.Join(ids(rs), " "); got != "send:entry.qr_moved send:totp.ask_totp" {
		t.Fatalf("replies %s", got)
	}
	qrLink := r.link(rs, "entry.qr_moved")
	codeLink := r.link(rs, "totp.ask_totp")
	// GET shows a button only: no key before a POST.
	p := get(t, qrLink)
	wantPage(t, p, 200, "qr_reveal")
	if strings.Contains(p.body, "data:image") {
		t.Fatal("GET shows the QR code")
	}
	p = post(t, qrLink, url.Values{})
	wantPage(t, p, 200, "qr")
	m := regexp.MustCompile(`src="data:image/png;base64,([^"]+)"`).FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no inline QR image: %.600s", p.body[strings.Index(p.body, "<main>"):])
	}
	img, _ := base64.StdEncoding.DecodeString(html.UnescapeString(m[1]))
	uri, err := qrdecode.Decode(img)
	if err != nil {
		t.Fatal(err)
	}
	if want := r.spy.lastQR(); uri != want || want == "" {
		t.Fatalf("QR decodes to %q, want the enrollment's %q", uri, want)
	}
	key, _ := otp.NewKeyFromURL(uri)
	r.env.AddSecret(key.Secret())
	if !strings.Contains(p.body, `data-copy="`+key.Secret()+`"`) {
		t.Fatal("no copy button for the manual key")
	}
	totp := r.env.TOTPCode(t, key, 0)
	wantPage(t, post(t, codeLink, url.Values{"secret": {totp}}), 200, "received")
	r.wantState(totpswitch.StateActivated)
	// The QR link dies with its step.
	wantPage(t, post(t, qrLink, url.Values{}), 409, "error")
	r.checkChat(r.pw, code, key.Secret(), totp)
}
