package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"mime/quotedprintable"
	"net/http"
	"net/mail"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/internal/simcustomer"
)

// opsServe runs `guidedfix serve` in this process with long polling against
// fake, on a data directory holding one SMS account, and returns the ops
// listener's base URL. The returned stop cancels serve and waits for it.
type opsRun struct {
	t      *testing.T
	dir    string
	base   string
	acc    account
	cancel context.CancelFunc
	done   chan error
}

func startOpsServe(t *testing.T, fake *fakebotapi.Server, onDrain func(base string)) *opsRun {
	t.Helper()
	dir := t.TempDir()
	acc := addAccounts(t, dir, "ops", 1)[0]
	r := serveOn(t, dir, fake, onDrain)
	r.acc = acc
	return r
}

// serveOn runs serve on the data directory dir (see startOpsServe).
func serveOn(t *testing.T, dir string, fake *fakebotapi.Server, onDrain func(base string)) *opsRun {
	return serveWith(t, dir, fake, serveOptions{}, onDrain)
}

// serveWith runs serve on dir with so (its opsListening and draining are
// set here).
func serveWith(t *testing.T, dir string, fake *fakebotapi.Server, so serveOptions, onDrain func(base string)) *opsRun {
	t.Helper()
	t.Setenv("TELEGRAM_BOT_TOKEN", procToken)
	t.Setenv("SLACK_BOT_TOKEN", "")
	t.Setenv("GUIDEDFIX_TELEGRAM__API_URL", fake.URL)
	t.Setenv("GUIDEDFIX_TELEGRAM__BOT_USERNAME", procBot)
	t.Setenv("GUIDEDFIX_TELEGRAM__PER_CHAT_INTERVAL", "-1s")
	t.Setenv("GUIDEDFIX_TELEGRAM__GLOBAL_PER_SECOND", "-1")
	// The knowledge-base order: its funnel states and its two e-mails
	// (the alert at "Disable 2FA", the confirmation) are what the
	// metrics test counts.
	t.Setenv("GUIDEDFIX_FLOW__ORDER", "disable-then-enroll")
	t.Setenv("GUIDEDFIX_PORTAL__ARGON2__MEMORY_KIB", "1024")
	t.Setenv("GUIDEDFIX_PORTAL__ARGON2__TIME", "1")
	if so.logOut == nil {
		t.Setenv("GUIDEDFIX_LOG__LEVEL", "error")
	}
	t.Setenv("GUIDEDFIX_OPS__LISTEN", "127.0.0.1:0")
	t.Setenv("GUIDEDFIX_MAIL__SUPPORT_CONTACT", opsSupport)
	r := &opsRun{t: t, dir: dir, done: make(chan error, 1)}
	addr := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	so.opsListening = func(a string) { addr <- a }
	if onDrain != nil {
		so.draining = func() { onDrain(r.base) }
	}
	go func() { r.done <- serve(ctx, &globalFlags{dataDir: dir}, serveFlags{}, so) }()
	select {
	case a := <-addr:
		r.base = "http://" + a
	case err := <-r.done:
		t.Fatalf("serve ended: %v", err)
	case <-time.After(20 * time.Second):
		t.Fatal("the ops listener never listened")
	}
	t.Cleanup(func() { r.stop() })
	return r
}

func (r *opsRun) stop() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	select {
	case err := <-r.done:
		if err != nil {
			r.t.Errorf("serve returned %v", err)
		}
	case <-time.After(70 * time.Second):
		r.t.Error("serve did not stop")
	}
}

// get returns the status and body of GET base+path.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// scrape returns the samples of the /metrics text exposition whose name
// starts with prefix, keyed "name{labels}" as exposed (labels sorted).
func scrape(t *testing.T, base, prefix string) map[string]float64 {
	t.Helper()
	code, body := get(t, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "#") || !strings.HasPrefix(line, prefix) {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("sample %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestOpsReadinessAndMetricsAfterFlow runs serve with long polling
// against the fake Bot API: /readyz answers 503 while the startup call
// deleteWebhook is held and 200 once it succeeded; one customer then goes
// through the whole flow, after which /metrics shows exactly one flow
// started and completed, each funnel state entered once, one turn per
// update, and /readyz is 503 while serve drains at shutdown.
func TestOpsReadinessAndMetricsAfterFlow(t *testing.T) {
	release := make(chan struct{})
	var once sync.Once
	fake := fakebotapi.New(fakebotapi.Options{Token: procToken, BotUsername: procBot, MaxPoll: time.Second,
		OnCall: func(c fakebotapi.Call, applied bool) bool {
			if c.Method == "deleteWebhook" && !applied {
				<-release
			}
			return true
		}})
	t.Cleanup(fake.Close)
	t.Cleanup(func() { once.Do(func() { close(release) }) })
	var drainCode int
	var drainBody string
	r := startOpsServe(t, fake, func(base string) { drainCode, drainBody = get(t, base+"/readyz") })

	if code, body := get(t, r.base+"/healthz"); code != 200 || body != "ok\n" {
		t.Fatalf("/healthz = %d %q", code, body)
	}
	wait, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	if _, err := fake.WaitCalls(wait, "setMyCommands", 1); err != nil {
		t.Fatal(err)
	}
	if code, body := get(t, r.base+"/readyz"); code != 503 || body != "portal: ok\nstores: ok\ntelegram: waiting for startup calls\nnot ready\n" {
		t.Fatalf("/readyz before deleteWebhook = %d %q", code, body)
	}
	once.Do(func() { close(release) })
	for {
		code, body := get(t, r.base+"/readyz")
		if code == 200 {
			if body != "portal: ok\nstores: ok\ntelegram: ok\nready\n" {
				t.Fatalf("/readyz = %q", body)
			}
			break
		}
		if wait.Err() != nil {
			t.Fatalf("/readyz stayed %d %q", code, body)
		}
		time.Sleep(10 * time.Millisecond)
	}

	c := &simcustomer.Customer{Fake: fake, User: fakebotapi.User{ID: 7001, FirstName: "Ana", LanguageCode: "en"},
		Email: r.acc.email, Password: r.acc.password, Phone: r.acc.phone,
		SMS: &simcustomer.SMSInbox{Dir: filepath.Join(r.dir, "outbox", "sms")}, Timeout: 60 * time.Second}
	res, err := c.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The last turn's observer runs before its replies go out; wait for
	// the turn counter to settle on the customer's updates.
	var m map[string]float64
	for deadline := time.Now().Add(10 * time.Second); ; {
		m = scrape(t, r.base, "guidedfix_")
		if m[`guidedfix_turn_duration_seconds_count{channel="telegram"}`] >= float64(res.Turns) || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	want := map[string]float64{
		`guidedfix_flows_started_total{channel="telegram",flow="totpswitch"}`:                      1,
		`guidedfix_flows_finished_total{channel="telegram",flow="totpswitch",outcome="completed"}`: 1,
	}
	for _, s := range []string{"awaiting_email", "awaiting_password", "awaiting_sms_code", "confirm_disable",
		"offer_setup", "choose_method", "awaiting_totp_code", "activated", "done"} {
		want[fmt.Sprintf(`guidedfix_funnel_entered_total{flow="totpswitch",state=%q}`, s)] = 1
	}
	got := map[string]float64{}
	for k, v := range m {
		if strings.HasPrefix(k, "guidedfix_flows_") || strings.HasPrefix(k, "guidedfix_funnel_") {
			got[k] = v
		}
	}
	if fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
		t.Errorf("flow metrics:\n got %v\nwant %v", sorted(got), sorted(want))
	}
	if n := m[`guidedfix_turn_duration_seconds_count{channel="telegram"}`]; n != float64(res.Turns) {
		t.Errorf("turns counted %v, customer's updates %d", n, res.Turns)
	}
	if n := m[`guidedfix_platform_api_calls_total{method="deleteWebhook",platform="telegram",result="ok"}`]; n != 1 {
		t.Errorf("deleteWebhook calls %v, want 1", n)
	}
	if n := m[`guidedfix_portal_calls_total{operation="verify_password",result="ok"}`]; n != 1 {
		t.Errorf("verify_password ok %v, want 1", n)
	}
	if n := m[`guidedfix_mail_sent_total`]; n != 2 {
		t.Errorf("mail sent %v, want 2 (the alert at disable, the confirmation)", n)
	}
	if n, ok := m[`guidedfix_deliveries_pending`]; !ok || n != 0 {
		t.Errorf("deliveries pending %v (exported %v), want 0 after the flow", n, ok)
	}
	if n := m[`guidedfix_platform_rate_limiter_wait_seconds_count{platform="telegram"}`]; n < 1 {
		t.Errorf("no rate limiter waits recorded for the sends")
	}
	checkMails(t, r.dir, "Customer "+r.acc.email, 2)
	for _, db := range []string{"portal", "sessions", "support"} {
		if _, ok := m[fmt.Sprintf(`guidedfix_bolt_pages_written_total{db=%q}`, db)]; !ok {
			t.Errorf("no bolt stats for %s", db)
		}
	}
	for k := range m {
		if strings.Contains(k, "7001") || strings.Contains(k, r.acc.email) || strings.Contains(k, procToken) {
			t.Errorf("a label holds a user id, an e-mail or the token: %s", k)
		}
	}

	r.stop()
	if drainCode != 503 || drainBody != "portal: ok\nstores: ok\ntelegram: ok\nshutting down\nnot ready\n" {
		t.Fatalf("/readyz while draining = %d %q", drainCode, drainBody)
	}
}

// opsSupport is mail.support_contact in these tests.
const opsSupport = "support@ipserverone.example, +60 3 1234 5678"

// checkMails checks the n e-mails in dir's .eml outbox: each greets
// holder and ends with the support contact (mail.support_contact).
func checkMails(t *testing.T, dir, holder string, n int) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "outbox", "mail", "*.eml"))
	if len(files) != n {
		t.Fatalf("%d e-mails in the outbox, want %d", len(files), n)
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatal(err)
		}
		text := strings.ReplaceAll(string(body), "\r\n", "\n")
		if !strings.HasPrefix(text, "Hello "+holder+",\n") || !strings.HasSuffix(text, "\n\nOur support team: "+opsSupport+"\n") {
			t.Errorf("%s (%s):\n%s", filepath.Base(f), msg.Header.Get("Subject"), text)
		}
	}
}

func sorted(m map[string]float64) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s %v", k, v))
	}
	sort.Strings(out)
	return out
}
