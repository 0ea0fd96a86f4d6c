package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/portal/portalhttp"
	"guidedfix/internal/simcustomer"
)

const remoteToken = "remote-portal-service-token-0123456789"

// portalProc is a `guidedfix portal serve` process on its own data
// directory.
type portalProc struct {
	dir, url string
	log      string // path of its output
	cmd      *exec.Cmd
	done     chan error
}

// startPortal runs `guidedfix portal serve --listen 127.0.0.1:0` on dir
// and returns once it printed its address.
func startPortal(t *testing.T, dir string, env ...string) *portalProc {
	t.Helper()
	cmd := exec.Command(binary(t), "portal", "serve", "--listen", "127.0.0.1:0")
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GUIDEDFIX_DATA_DIR=" + dir,
		"GUIDEDFIX_PORTAL__ARGON2__MEMORY_KIB=1024", "GUIDEDFIX_PORTAL__ARGON2__TIME=1"}, env...)
	logf, err := os.Create(filepath.Join(t.TempDir(), "portal.log"))
	if err != nil {
		t.Fatal(err)
	}
	pr, pw, _ := os.Pipe()
	cmd.Stdout, cmd.Stderr = logf, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pw.Close()
	p := &portalProc{dir: dir, log: logf.Name(), cmd: cmd, done: make(chan error, 1)}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			logf.WriteString(line + "\n")
			if u, ok := strings.CutPrefix(line, "portal serving on "); ok {
				urlc <- u
			}
		}
	}()
	go func() { p.done <- cmd.Wait() }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-p.done })
	select {
	case p.url = <-urlc:
	case err := <-p.done:
		p.done <- err
		b, _ := os.ReadFile(logf.Name())
		t.Fatalf("portal serve ended: %v\n%s", err, b)
	case <-time.After(20 * time.Second):
		t.Fatal("portal serve did not start")
	}
	return p
}

// stop ends the process with SIGTERM and wants exit status 0.
func (p *portalProc) stop(t *testing.T) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
		if err != nil {
			t.Fatalf("portal serve after SIGTERM: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("portal serve did not stop")
	}
}

// TestTelegramFlowRemotePortal runs the whole change through `guidedfix
// serve` (Telegram webhook, fake Bot API) whose portal is `guidedfix
// portal serve` in another process: the account ends on TOTP with one
// disable, one activation, one alert and one confirmation in the portal's
// data directory, and the bot's data directory has no portal.db or
// portal.key, only its sessions.key.
func TestTelegramFlowRemotePortal(t *testing.T) {
	portalDir, botDir := t.TempDir(), t.TempDir()
	accs := addAccounts(t, portalDir, "remote", 1)
	p := startPortal(t, portalDir, "GUIDEDFIX_PORTAL__SERVE__TOKENS=old-token-0123456789abcdefghijklmnop, "+remoteToken)
	fake := fakebotapi.New(fakebotapi.Options{Token: procToken, BotUsername: procBot})
	t.Cleanup(fake.Close)
	tokFile := filepath.Join(t.TempDir(), "token")
	os.WriteFile(tokFile, []byte(remoteToken+"\n"), 0o600)
	srv := newServer(t, botDir, fake, "GUIDEDFIX_PORTAL__URL="+p.url, "GUIDEDFIX_PORTAL__TOKEN_FILE="+tokFile)
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	inbox := &simcustomer.SMSInbox{Dir: filepath.Join(portalDir, "outbox", "sms")}
	res, err := srv.customer(accs[0], 8101, inbox).Run(context.Background())
	if err != nil {
		t.Fatalf("customer: %v\n%s", err, srv.lastLog())
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	p.stop(t)
	if plog, _ := os.ReadFile(p.log); !strings.Contains(string(plog), "file phone") || strings.Contains(string(plog), remoteToken) {
		t.Errorf("portal serve log lacks the file-phone warning or holds the token:\n%s", plog)
	}
	if n, _ := filepath.Glob(filepath.Join(portalDir, "outbox", "sms", "*.txt")); len(n) != 1 {
		t.Errorf("%d SMS files, want the one code (not expired yet)", len(n))
	}
	e := accountEffects(t, portalDir, accs[0].email)
	if e.method != portal.MethodTOTP || e.disables != 1 || e.activations != 1 || e.restores != 0 || e.alerts != 1 || e.confirmations != 1 || e.restoredMails != 0 {
		t.Fatalf("effects %+v: want totp, 1 disable, 1 activation, no restore, 1 alert, 1 confirmation", e)
	}
	for _, f := range []string{"portal.db", "portal.key"} {
		if _, err := os.Stat(filepath.Join(botDir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("bot data directory has %s (%v)", f, err)
		}
	}
	if fi, err := os.Stat(filepath.Join(botDir, sessionsKeyFile)); err != nil || fi.Size() != 32 || fi.Mode().Perm() != 0o600 {
		t.Errorf("sessions.key: %v %v", fi, err)
	}
	raw, _ := os.ReadFile(filepath.Join(botDir, "sessions.db"))
	for _, s := range []string{accs[0].password, res.TOTPSecret, remoteToken} {
		if s != "" && strings.Contains(string(raw)+srv.lastLog(), s) {
			t.Errorf("a secret (%d bytes) in the bot's sessions.db or log", len(s))
		}
	}
}

// TestPortalServeRefusesWithoutToken: no token, or plain HTTP on a
// non-loopback address, and portal serve exits non-zero naming the fix.
func TestPortalServeRefusesWithoutToken(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		args []string
		env  []string
		want string
	}{
		{[]string{"portal", "serve"}, nil, "GUIDEDFIX_PORTAL__SERVE__TOKENS"},
		{[]string{"portal", "serve", "--listen", "0.0.0.0:0"}, []string{"GUIDEDFIX_PORTAL__SERVE__TOKENS=" + remoteToken}, "plain HTTP only on a loopback address"},
	} {
		cmd := exec.Command(binary(t), tc.args...)
		cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GUIDEDFIX_DATA_DIR=" + dir}, tc.env...)
		out, err := cmd.CombinedOutput()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || !strings.Contains(string(out), tc.want) {
			t.Errorf("%v: %v %q, want a failure naming %q", tc.args, err, out, tc.want)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "portal.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a refused start opened portal.db (%v)", err)
	}
}

// TestDemoRemotePortal runs `guidedfix demo --portal-url` (in this
// process, through pipes) against `guidedfix portal serve` in another
// process, with an account that exists there: the change completes, the
// account uses TOTP in the portal's directory, and the demo's directory
// has no portal.db or portal.key.
func TestDemoRemotePortal(t *testing.T) {
	portalDir, demoDir := t.TempDir(), t.TempDir()
	accs := addAccounts(t, portalDir, "demo-remote", 1)
	p := startPortal(t, portalDir, "GUIDEDFIX_PORTAL__SERVE__TOKENS="+remoteToken)
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	t.Setenv("GUIDEDFIX_PORTAL__TOKEN", remoteToken)
	inbox := &simcustomer.SMSInbox{Dir: filepath.Join(portalDir, "outbox", "sms")}
	u := &demoUser{t: t, email: accs[0].email, password: accs[0].password, pinned: true, smsCode: func() string {
		for range 200 {
			if c, ok := inbox.Latest(accs[0].phone); ok {
				return c
			}
			time.Sleep(10 * time.Millisecond)
		}
		t.Fatal("no SMS in the portal's outbox")
		return ""
	}}
	out, answers := runDemoAsUser(t, demoDir, demoOptions{portalURL: p.url, email: accs[0].email}, u)
	// --email pins the account: 7 answers (no e-mail typed), the flow
	// names the account it uses.
	if answers != 7 || !strings.Contains(out, "All done!") || !strings.Contains(out, "Remote portal "+p.url) ||
		!strings.Contains(out, "I will use the Customer Portal account registered to "+accs[0].email) ||
		strings.Contains(out, "Use another e-mail") {
		t.Fatalf("%d answers, transcript:\n%s", answers, out)
	}
	p.stop(t)
	e := accountEffects(t, portalDir, accs[0].email)
	// The default order (enroll-then-switch): the core swaps SMS for the
	// app in one transaction, so nothing is disabled and no alert is sent.
	if e.method != portal.MethodTOTP || e.disables != 0 || e.activations != 1 || e.restores != 0 || e.alerts != 0 || e.confirmations != 1 || e.restoredMails != 0 {
		t.Fatalf("effects %+v: want totp, 1 activation, no disable, restore or alert, 1 confirmation", e)
	}
	for _, f := range []string{"portal.db", "portal.key"} {
		if _, err := os.Stat(filepath.Join(demoDir, f)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("demo data directory has %s (%v)", f, err)
		}
	}
	raw, _ := os.ReadFile(filepath.Join(demoDir, "guidedfix.log"))
	for _, s := range u.secrets {
		if strings.Contains(string(raw), s) {
			t.Errorf("a secret (%d bytes) in the demo log", len(s))
		}
	}
}

// TestRemotePortalOrderFromCapabilities opens the engine against portals
// over HTTP with reduced capabilities: without restore support the
// disable-then-enroll order is refused at start with a message naming it;
// without the atomic switch enroll-then-switch falls back to
// disable-then-enroll; a full portal runs the configured order.
func TestRemotePortalOrderFromCapabilities(t *testing.T) {
	core := openTestCore(t)
	for _, tc := range []struct {
		caps    portal.Capabilities
		order   string
		wantErr string
		note    string
	}{
		{portal.Capabilities{ContractVersion: "1", AtomicSwitch: true, RecoveryCodes: true}, "disable-then-enroll", "needs the portal to restore SMS", ""},
		{portal.Capabilities{ContractVersion: "1"}, "enroll-then-switch", "neither the atomic switch nor restore support", ""},
		{portal.Capabilities{ContractVersion: "1", RestoreFactor: true}, "enroll-then-switch", "", "running disable-then-enroll"},
		{portal.Capabilities{ContractVersion: "1", AtomicSwitch: true, RestoreFactor: true, RecoveryCodes: true}, "enroll-then-switch", "", ""},
		{portal.Capabilities{ContractVersion: "1", AtomicSwitch: true, RestoreFactor: true, RecoveryCodes: true, ReplaceTOTP: true}, "enroll-then-switch", "", ""},
		{portal.Capabilities{ContractVersion: "2", AtomicSwitch: true, RestoreFactor: true, RecoveryCodes: true}, "enroll-then-switch", `contract version "2"`, ""},
	} {
		caps := tc.caps
		srv := httptest.NewServer(portalhttp.Server(core, portalhttp.ServerOptions{Tokens: []string{remoteToken}, Capabilities: &caps}))
		dir := t.TempDir()
		t.Setenv("GUIDEDFIX_PORTAL__TOKEN", remoteToken)
		t.Setenv("GUIDEDFIX_FLOW__ORDER", tc.order)
		var logs bytes.Buffer
		a, err := openApp(context.Background(), &globalFlags{dataDir: dir}, openOptions{engine: true, logOut: &logs, portalURL: srv.URL})
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("caps %+v order %s: err %v, want %q", tc.caps, tc.order, err, tc.wantErr)
			}
		} else if err != nil {
			t.Errorf("caps %+v order %s: %v", tc.caps, tc.order, err)
		} else {
			// The new-phone flow is registered only with the portal's
			// replacement operations; without them /newphone is no
			// command and the desk cannot hand it off.
			var names []string
			for _, d := range a.engine.Flows() {
				names = append(names, d.Name)
			}
			want := "totpswitch"
			if tc.caps.ReplaceTOTP {
				want = "totpswitch newphone"
			}
			if got := strings.Join(names, " "); got != want || a.engine.IsStartCommand("newphone") != tc.caps.ReplaceTOTP || len(a.desk.Flows) != len(names) {
				t.Errorf("caps %+v: flows %q (desk %d), want %q", tc.caps, got, len(a.desk.Flows), want)
			}
			a.Close()
			if got := strings.Contains(logs.String(), "no atomic switch"); got != (tc.note != "") || !strings.Contains(logs.String(), tc.note) {
				t.Errorf("caps %+v order %s: log %q, want note %q", tc.caps, tc.order, logs.String(), tc.note)
			}
		}
		srv.Close()
		if _, err := os.Stat(filepath.Join(dir, "portal.db")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a remote portal run made portal.db (%v)", err)
		}
	}
}

func mustOutbox(t *testing.T, dir string) *mail.Outbox {
	t.Helper()
	ob, err := mail.NewOutbox(dir)
	if err != nil {
		t.Fatal(err)
	}
	return ob
}

// openTestCore opens an embedded core on a temporary directory.
func openTestCore(t *testing.T) *embedded.Core {
	t.Helper()
	dir := t.TempDir()
	c, err := embedded.Open(embedded.Options{Path: filepath.Join(dir, "portal.db"), KeyFile: filepath.Join(dir, "portal.key"),
		Mail: mustOutbox(t, filepath.Join(dir, "mail")), SMS: embedded.FileSMS{Dir: filepath.Join(dir, "sms")}, Argon2: embedded.Argon2Params{Memory: 64, Time: 1}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// TestServeSlackRemotePortal runs `guidedfix serve --portal-url` with
// Slack (fake, Socket Mode) against `guidedfix portal serve` in another
// process: a DM "2fa" from a user whose profile e-mail is an account of
// the remote portal starts the flow with that account found there.
func TestServeSlackRemotePortal(t *testing.T) {
	portalDir := t.TempDir()
	accs := addAccounts(t, portalDir, "slackremote", 1)
	p := startPortal(t, portalDir, "GUIDEDFIX_PORTAL__SERVE__TOKENS="+remoteToken)
	fake := fakeslack.New(fakeslack.Options{BotToken: "xoxb-test", AppToken: "xapp-test"})
	t.Cleanup(fake.Close)
	fake.AddUser(fakeslack.User{ID: "U1", Email: accs[0].email, Locale: "en-US"})
	t.Setenv("TELEGRAM_BOT_TOKEN", "")
	t.Setenv("SLACK_BOT_TOKEN", "xoxb-test")
	t.Setenv("SLACK_APP_TOKEN", "xapp-test")
	t.Setenv("GUIDEDFIX_SLACK__API_URL", fake.APIURL)
	t.Setenv("GUIDEDFIX_LOG__LEVEL", "error")
	t.Setenv("GUIDEDFIX_PORTAL__TOKEN", remoteToken)
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, &globalFlags{dataDir: dir}, serveFlags{portalURL: p.url}) }()

	wait, stop := context.WithTimeout(context.Background(), 20*time.Second)
	defer stop()
	dm := fake.IM("U1")
	body, _ := fake.MessageEvent("U1", dm, "2fa")
	id, err := fake.Push(wait, "events_api", body)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fake.WaitAck(wait, id); err != nil {
		t.Fatalf("no ack: %v", err)
	}
	for {
		var texts []string
		for _, m := range fake.History(dm) {
			texts = append(texts, m.Text)
		}
		if strings.Contains(strings.Join(texts, "\n"), "registered to "+accs[0].email) {
			break
		}
		select {
		case <-wait.Done():
			t.Fatalf("DM history %q", texts)
		case <-time.After(10 * time.Millisecond):
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "portal.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("serve with a remote portal made portal.db (%v)", err)
	}
}

// TestDemoRemotePortalSMSGateway: `portal serve` with portal.sms.gateway_url
// delivers the SMS code as signed JSON to the operator endpoint (here a
// verifying server in the test), writes no SMS file and logs no
// file-phone warning; the demo completes with the code from the gateway.
func TestDemoRemotePortalSMSGateway(t *testing.T) {
	secret := "operator-gateway-secret-0123"
	var mu sync.Mutex
	var msgs []embedded.GatewayMessage
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if err := embedded.VerifyGateway([]byte(secret), r.Header.Get(embedded.GatewayTimestampHeader), r.Header.Get(embedded.GatewaySignatureHeader), body, time.Now(), time.Minute); err != nil {
			http.Error(w, err.Error(), http.StatusUnauthorized)
			return
		}
		var m embedded.GatewayMessage
		json.Unmarshal(body, &m)
		mu.Lock()
		msgs = append(msgs, m)
		mu.Unlock()
		w.WriteHeader(http.StatusAccepted)
	}))
	defer gw.Close()
	portalDir, demoDir := t.TempDir(), t.TempDir()
	accs := addAccounts(t, portalDir, "gateway", 1)
	p := startPortal(t, portalDir, "GUIDEDFIX_PORTAL__SERVE__TOKENS="+remoteToken,
		"GUIDEDFIX_PORTAL__SMS__GATEWAY_URL="+gw.URL, "GUIDEDFIX_PORTAL__SMS__GATEWAY_SECRET="+secret)
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	t.Setenv("GUIDEDFIX_PORTAL__TOKEN", remoteToken)
	code := regexp.MustCompile(`\b[0-9]{6}\b`)
	u := &demoUser{t: t, email: accs[0].email, password: accs[0].password, pinned: true, smsCode: func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(msgs) != 1 || msgs[0].To != accs[0].phone {
			t.Fatalf("gateway messages %d", len(msgs))
		}
		return code.FindString(msgs[0].Text)
	}}
	out, answers := runDemoAsUser(t, demoDir, demoOptions{portalURL: p.url, email: accs[0].email}, u)
	if answers != 7 || !strings.Contains(out, "All done!") {
		t.Fatalf("%d answers, transcript:\n%s", answers, out)
	}
	p.stop(t)
	if files, _ := filepath.Glob(filepath.Join(portalDir, "outbox", "sms", "*")); len(files) != 0 {
		t.Errorf("SMS files with a gateway: %v", files)
	}
	if plog, _ := os.ReadFile(p.log); strings.Contains(string(plog), "file phone") || strings.Contains(string(plog), secret) {
		t.Errorf("portal log warns of the file phone or holds the gateway secret:\n%s", plog)
	}
	if e := accountEffects(t, portalDir, accs[0].email); e.method != portal.MethodTOTP || e.disables != 0 || e.activations != 1 ||
		e.restores != 0 || e.alerts != 0 || e.confirmations != 1 || e.restoredMails != 0 {
		t.Fatalf("effects %+v: want totp, 1 activation, no disable, restore or alert, 1 confirmation", e)
	}
}

// TestPortalURLFlagValidated: --portal-url with plain http to a host that
// is not loopback is refused before anything opens (the token would cross
// the network in clear), and no portal.db is made.
func TestPortalURLFlagValidated(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GUIDEDFIX_PORTAL__TOKEN", remoteToken)
	_, err := openApp(context.Background(), &globalFlags{dataDir: dir}, openOptions{engine: true, logOut: io.Discard, portalURL: "http://portal.example.com:8710"})
	if err == nil || !strings.Contains(err.Error(), "portal.url") {
		t.Fatalf("err %v, want a portal.url error", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "portal.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("portal.db made (%v)", err)
	}
}

// TestRemotePortalWrongToken: a service token the portal does not accept
// stops the start with an error that is ErrUnauthorized (a configuration
// error naming the setting), not a raw status.
func TestRemotePortalWrongToken(t *testing.T) {
	core := openTestCore(t)
	srv := httptest.NewServer(portalhttp.Server(core, portalhttp.ServerOptions{Tokens: []string{remoteToken}}))
	defer srv.Close()
	t.Setenv("GUIDEDFIX_PORTAL__TOKEN", "not-the-token-0123456789abcdefghijkl")
	_, err := openApp(context.Background(), &globalFlags{dataDir: t.TempDir()}, openOptions{engine: true, logOut: io.Discard, portalURL: srv.URL})
	if !errors.Is(err, portalhttp.ErrUnauthorized) || !strings.Contains(err.Error(), "portal.token") {
		t.Fatalf("start with a wrong token: %v, want portalhttp.ErrUnauthorized naming portal.token", err)
	}
}
