package entry_test

import (
	"context"
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp"

	"guidedfix/flows/totpswitch"
	"guidedfix/internal/qr/qrdecode"
)

// browser starts a fresh headless Chromium (Debian package "chromium")
// for t and returns its context. Without the package the test skips, and
// fails when CI=true.
func browser(t *testing.T, extra ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("the browser tests need the Debian package chromium (apt-get install chromium); .ci/run installs it")
		}
		t.Skip("skipped: the browser tests need the Debian package chromium (apt-get install chromium)")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-features", "Translate,OptimizationHints,MediaRouter"),
		chromedp.Flag("password-store", "basic"),
		chromedp.WindowSize(360, 720),
	}
	opts = append(opts, extra...)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(360, 720)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// shots returns the folder for screenshots: $GUIDEDFIX_SCREENSHOTS, or a
// temporary folder; it prints it.
func shots(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("GUIDEDFIX_SCREENSHOTS")
	if dir == "" {
		dir = t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of the entry page states: %s", dir)
	return dir
}

func shoot(t *testing.T, ctx context.Context, dir, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatal(err)
	}
}

// pageState returns the data-state of the page's body.
func pageState(t *testing.T, ctx context.Context) string {
	t.Helper()
	a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("body"), "data-state"))
	if err != nil {
		t.Fatal(err)
	}
	return a.Value
}

func eval[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

// TestBrowserPasswordAndSMSCode is the customer's way in a real browser:
// the chat's link opens the page, the password is typed and submitted,
// the conversation moves to the SMS step; the code likewise, submitted
// with the Enter key; the used link then shows an error and changes
// nothing.
func TestBrowserPasswordAndSMSCode(t *testing.T) {
	ctx := browser(t)
	dir := shots(t)
	r := newRig(t, false)
	link := r.toPassword()

	do(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("secret")))
	if st := pageState(t, ctx); st != "password" {
		t.Fatalf("page state %q", st)
	}
	typ, _ := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("secret"), "type"))
	ac, _ := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("secret"), "autocomplete"))
	if typ.Value != "password" || ac.Value != "current-password" {
		t.Fatalf("password field type=%q autocomplete=%q", typ.Value, ac.Value)
	}
	if id := eval[string](t, ctx, "document.activeElement.id"); id != "secret" {
		t.Fatalf("focus on %q, want the field", id)
	}
	// Readable at 320 px: nothing wider than the screen.
	do(t, ctx, chromedp.EmulateViewport(320, 640))
	if w := eval[int](t, ctx, "document.documentElement.scrollWidth"); w > 320 {
		t.Fatalf("page is %d px wide at a 320 px screen", w)
	}
	do(t, ctx, chromedp.EmulateViewport(360, 720))
	// The stylesheet loaded under the CSP: the field's label is bold.
	if fw := eval[string](t, ctx, "getComputedStyle(document.querySelector('label')).fontWeight"); fw != "600" {
		t.Fatalf("label font-weight %q: entry.css not applied", fw)
	}
	shoot(t, ctx, dir, "password")
	// Keyboard: Tab moves from the field to the button, whose focus is a
	// visible 3 px outline.
	do(t, ctx, chromedp.KeyEvent("\t"))
	if id := eval[string](t, ctx, "document.activeElement.id"); id != "submit" {
		t.Fatalf("Tab moved focus to %q, want the submit button", id)
	}
	if o := eval[string](t, ctx, "(s => s.outlineStyle + ' ' + s.outlineWidth)(getComputedStyle(document.activeElement))"); o != "solid 3px" {
		t.Fatalf("focused button outline %q, want solid 3px", o)
	}
	do(t, ctx, chromedp.SendKeys(chromedp.ID("secret"), r.pw))
	if v := eval[string](t, ctx, "document.getElementById('secret').value"); v != r.pw {
		t.Fatal("the field does not hold what was typed")
	}
	do(t, ctx, chromedp.Click(chromedp.ID("submit")), chromedp.WaitVisible(chromedp.ID("result")))
	if st := pageState(t, ctx); st != "received" {
		t.Fatalf("after submit page state %q", st)
	}
	shoot(t, ctx, dir, "received")
	r.wantState(totpswitch.StateAwaitingSMSCode)
	smsLink := r.link(r.replies(), "totp.sms_sent")

	// The used link: an error page, the conversation stays where it is.
	do(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("result")))
	if st := pageState(t, ctx); st != "error" {
		t.Fatalf("used link page state %q", st)
	}
	shoot(t, ctx, dir, "error")
	r.wantState(totpswitch.StateAwaitingSMSCode)

	do(t, ctx, chromedp.Navigate(smsLink), chromedp.WaitVisible(chromedp.ID("secret")))
	im, _ := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("secret"), "inputmode"))
	ac, _ = chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("secret"), "autocomplete"))
	if im.Value != "numeric" || ac.Value != "one-time-code" {
		t.Fatalf("code field inputmode=%q autocomplete=%q", im.Value, ac.Value)
	}
	shoot(t, ctx, dir, "sms_code")
	code := r.env.LastSMSCode(t)
	do(t, ctx, chromedp.SendKeys(chromedp.ID("secret"), code+"\r"), chromedp.WaitVisible(chromedp.ID("result")))
	if st := pageState(t, ctx); st != "received" {
		t.Fatalf("after Enter page state %q", st)
	}
	r.wantState(totpswitch.StateConfirmDisable)
	r.checkChat(r.pw, code)
}

// TestBrowserQRCode shows the QR page in a real browser: the code appears
// only after the button, decodes to the enrollment's otpauth URI, the
// copy button appears (the page's script runs under the CSP), and the
// app's code typed on the page activates the app.
func TestBrowserQRCode(t *testing.T) {
	ctx := browser(t)
	dir := shots(t)
	r := newRig(t, false)
	toQR(t, r)
	rs := r.Last
	qrLink := r.link(rs, "entry.qr_moved")
	codeLink := r.link(rs, "totp.ask_totp")

	do(t, ctx, chromedp.Navigate(qrLink), chromedp.WaitVisible(chromedp.ID("submit")))
	if st := pageState(t, ctx); st != "qr_reveal" {
		t.Fatalf("page state %q", st)
	}
	shoot(t, ctx, dir, "qr_reveal")
	do(t, ctx, chromedp.Click(chromedp.ID("submit")), chromedp.WaitVisible(chromedp.ID("qr")), chromedp.WaitVisible(chromedp.ID("copy")))
	src, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("qr"), "src"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(src.Value, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	uri, err := qrdecode.Decode(img)
	if err != nil {
		t.Fatal(err)
	}
	if want := r.spy.lastQR(); want == "" || uri != want {
		t.Fatalf("the page's QR decodes to %q, want %q", uri, want)
	}
	key, _ := otp.NewKeyFromURL(uri)
	r.env.AddSecret(key.Secret())
	if w := eval[int](t, ctx, "document.getElementById('qr').getBoundingClientRect().width"); w < 200 {
		t.Fatalf("QR shown %d px wide", w)
	}
	shoot(t, ctx, dir, "qr")

	do(t, ctx, chromedp.Navigate(codeLink), chromedp.WaitVisible(chromedp.ID("secret")))
	shoot(t, ctx, dir, "totp_code")
	code := r.env.TOTPCode(t, key, 0)
	do(t, ctx, chromedp.SendKeys(chromedp.ID("secret"), code), chromedp.Click(chromedp.ID("submit")), chromedp.WaitVisible(chromedp.ID("result")))
	r.wantState(totpswitch.StateActivated)
	r.checkChat(r.pw, key.Secret(), code)
}

// toQR takes r's conversation to the QR step through the page.
func toQR(t *testing.T, r *rig) {
	t.Helper()
	wantPage(t, post(t, r.toPassword(), map[string][]string{"secret": {r.pw}}), 200, "received")
	code := r.env.LastSMSCode(t)
	wantPage(t, post(t, r.link(r.replies(), "totp.sms_sent"), map[string][]string{"secret": {code}}), 200, "received")
	r.replies()
	r.pressLast("disable")
	r.pressLast("setup")
	r.pressLast("app")
	if r.state() != totpswitch.StateAwaitingTOTPCode {
		t.Fatalf("state %q", r.state())
	}
}

// resultID returns the catalog id of the page's result message.
func resultID(t *testing.T, ctx context.Context) string {
	t.Helper()
	do(t, ctx, chromedp.WaitVisible(chromedp.ID("result")))
	a, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.ID("result"), "data-message"))
	if err != nil {
		t.Fatal(err)
	}
	return a.Value
}

// TestBrowserStaleAndExpiredLinks: a link of a step that has passed and
// an expired link show their own clear error in the browser, and the
// conversation stays where it is.
func TestBrowserStaleAndExpiredLinks(t *testing.T) {
	ctx := browser(t)
	dir := shots(t)
	r := newRig(t, false)
	first := r.toPassword()
	r.startOver()
	second := r.link(r.send(textEvent("alice@example.com")), "totp.ask_password")

	do(t, ctx, chromedp.Navigate(first))
	if id := resultID(t, ctx); id != "entry.error.stale" {
		t.Fatalf("other-step link shows %q", id)
	}
	shoot(t, ctx, dir, "error_stale")

	do(t, ctx, chromedp.Navigate(second), chromedp.WaitVisible(chromedp.ID("secret")))
	r.env.Clock.Advance(10*time.Minute + time.Second)
	// The form was open before the link expired: submitting it now fails.
	do(t, ctx, chromedp.SendKeys(chromedp.ID("secret"), r.pw+"\r"))
	if id := resultID(t, ctx); id != "entry.error.invalid" {
		t.Fatalf("expired link shows %q", id)
	}
	r.wantState(totpswitch.StateAwaitingPassword)
	if st := r.env.Core.Stats(); st.SMSSent != 0 {
		t.Fatalf("a stale or expired link reached the portal: %+v", st)
	}
}
