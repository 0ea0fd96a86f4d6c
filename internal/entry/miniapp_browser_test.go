package entry_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"guidedfix/flows/totpswitch"
	"guidedfix/internal/entry"
)

// TestBrowserMiniApp opens a Mini App link in Chromium with
// https://telegram.org mapped to a local TLS server that serves a
// stand-in telegram-web-app.js (the machine has no internet): the page
// loads it under its CSP, the page's script hands Telegram.WebApp.initData
// to the form, the password goes in, and the Mini App closes itself.
func TestBrowserMiniApp(t *testing.T) {
	r := newRig(t, true)
	initData := entry.SignInitData(map[string]string{
		"user":      `{"id":4242,"first_name":"Ana+Bob","last_name":"100% real"}`,
		"auth_date": strconv.FormatInt(r.env.Clock.Now().Unix(), 10), "chat_type": "sender",
	}, botToken)
	tg := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if req.URL.Path != "/js/telegram-web-app.js" {
			http.NotFound(w, req)
			return
		}
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, "window.Telegram={WebApp:{initData:%q,ready:function(){window.tgReady=true},close:function(){window.tgClosed=true}}};", initData)
	}))
	t.Cleanup(tg.Close)
	port := tg.Listener.Addr().String()[strings.LastIndex(tg.Listener.Addr().String(), ":")+1:]
	ctx := browser(t,
		chromedp.Flag("host-resolver-rules", "MAP telegram.org:443 127.0.0.1:"+port),
		chromedp.Flag("ignore-certificate-errors", true))
	dir := shots(t)

	link := r.toPassword()
	do(t, ctx, chromedp.Navigate(link), chromedp.WaitVisible(chromedp.ID("secret")))
	if ok := eval[bool](t, ctx, "window.tgReady === true"); !ok {
		t.Fatal("telegram-web-app.js did not run (blocked by the CSP?)")
	}
	if v := eval[string](t, ctx, "document.querySelector('input[name=init_data]').value"); v != initData {
		t.Fatalf("the form's init_data is %q, want the Mini App's", v)
	}
	shoot(t, ctx, dir, "miniapp_password")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("secret"), r.pw+"\r"), chromedp.WaitVisible(chromedp.ID("result")))
	if st := pageState(t, ctx); st != "received" {
		t.Fatalf("page state %q", st)
	}
	r.wantState(totpswitch.StateAwaitingSMSCode)
	if closed, err := chromedp.Run(ctx, chromedp.Poll[bool]("window.tgClosed === true")); err != nil || !closed {
		t.Fatalf("the Mini App did not close itself: %v", err)
	}
	r.checkChat(r.pw)
}
