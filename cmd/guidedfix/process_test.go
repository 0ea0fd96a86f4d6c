package main

// Process-level tests: the real binary, built once, run as `guidedfix
// serve` in webhook mode against the fake Bot API and driven by simulated
// customers (internal/simcustomer).

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/bot"
	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/simcustomer"
)

const (
	procToken  = "123456:PROC-token"
	procSecret = "proc_Webhook-secret"
	procBot    = "guidedfix_bot"
)

var (
	buildOnce sync.Once
	builtBin  string
	buildErr  error
)

// binary builds ./cmd/guidedfix once per test process (without -race,
// unless GUIDEDFIX_PROC_RACE is set) and returns its path.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "guidedfix-bin-")
		if err != nil {
			buildErr = err
			return
		}
		builtBin = filepath.Join(dir, "guidedfix")
		args := []string{"build", "-o", builtBin}
		if os.Getenv("GUIDEDFIX_PROC_RACE") != "" {
			args = append(args, "-race")
		}
		out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return builtBin
}

func TestMain(m *testing.M) {
	// Tests listen on port 0 only: the ops listener's default port is
	// fixed.
	os.Setenv("GUIDEDFIX_OPS__LISTEN", "127.0.0.1:0")
	code := m.Run()
	if builtBin != "" {
		os.RemoveAll(filepath.Dir(builtBin))
	}
	os.Exit(code)
}

// server runs `guidedfix serve` processes on one data directory, one at a
// time, against fake.
type server struct {
	t      *testing.T
	dir    string
	logDir string
	fake   *fakebotapi.Server
	listen string // 127.0.0.1:port of the webhook server
	extra  []string
	// polling runs the server with Telegram long polling instead of the
	// webhook; customers then queue their updates in the fake.
	polling bool

	mu      sync.Mutex
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error
	starts  int
	killed  bool // the current process was killed on purpose
}

func newServer(t *testing.T, dir string, fake *fakebotapi.Server, extraEnv ...string) *server {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := &server{t: t, dir: dir, logDir: t.TempDir(), fake: fake, listen: addr, extra: extraEnv}
	t.Cleanup(func() {
		s.mu.Lock()
		cmd, exited := s.cmd, s.exited
		s.mu.Unlock()
		if cmd != nil {
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	return s
}

// webhook is the URL the customers post to (what a TLS terminator would
// forward to).
func (s *server) webhook() string {
	if s.polling {
		return ""
	}
	return "http://" + s.listen + "/telegram"
}

func (s *server) env() []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.dir,
		"TELEGRAM_BOT_TOKEN=" + procToken,
		"GUIDEDFIX_DATA_DIR=" + s.dir,
		"GUIDEDFIX_TELEGRAM__API_URL=" + s.fake.URL,
		"GUIDEDFIX_TELEGRAM__BOT_USERNAME=" + procBot,
		"GUIDEDFIX_TELEGRAM__PER_CHAT_INTERVAL=-1s",
		"GUIDEDFIX_TELEGRAM__GLOBAL_PER_SECOND=-1",
		"GUIDEDFIX_FLOW__SWEEP_INTERVAL=200ms",
		"GUIDEDFIX_FLOW__ORDER=disable-then-enroll", // these tests follow the KB order; the default is covered in flows/totpswitch
		"GUIDEDFIX_PORTAL__ARGON2__MEMORY_KIB=1024",
		"GUIDEDFIX_PORTAL__ARGON2__TIME=1",
		"GUIDEDFIX_LOG__LEVEL=info",
		"GUIDEDFIX_OPS__LISTEN=127.0.0.1:0",
	}
	if !s.polling {
		env = append(env,
			"GUIDEDFIX_TELEGRAM__WEBHOOK_URL=https://bot.example.com/telegram",
			"GUIDEDFIX_TELEGRAM__WEBHOOK_SECRET="+procSecret,
			"GUIDEDFIX_TELEGRAM__LISTEN="+s.listen)
	}
	return append(env, s.extra...)
}

// start runs a new process and waits until it registered its webhook;
// it returns an error when the process ends first (killed while
// starting, or failed).
func (s *server) start() error {
	s.t.Helper()
	readyCall := "setWebhook" // the last startup call
	if s.polling {
		readyCall = "deleteWebhook"
	}
	ready := len(s.fake.Calls(readyCall))
	s.mu.Lock()
	s.starts++
	log, err := os.Create(filepath.Join(s.logDir, fmt.Sprintf("serve-%03d.log", s.starts)))
	if err != nil {
		s.mu.Unlock()
		return err
	}
	cmd := exec.Command(binary(s.t), "serve")
	cmd.Env, cmd.Stdout, cmd.Stderr = s.env(), log, log
	if err := cmd.Start(); err != nil {
		s.mu.Unlock()
		log.Close()
		return err
	}
	exited := make(chan struct{})
	s.cmd, s.exited, s.killed, s.waitErr = cmd, exited, false, nil
	s.mu.Unlock()
	go func() {
		err := cmd.Wait()
		log.Close()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(exited)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for len(s.fake.Calls(readyCall)) <= ready {
		select {
		case <-exited:
			return fmt.Errorf("guidedfix serve ended while starting: %v", s.exitErr())
		case <-ctx.Done():
			return fmt.Errorf("guidedfix serve did not register its webhook: %w\n%s", ctx.Err(), s.lastLog())
		case <-time.After(2 * time.Millisecond):
		}
	}
	return nil
}

// kill sends SIGKILL to the current process (if it runs) without waiting;
// it reports whether it did.
func (s *server) kill() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil && !s.killed {
		s.killed = true
		_ = s.cmd.Process.Signal(syscall.SIGKILL)
		return true
	}
	return false
}

// exitedCh is closed when the current process has ended.
func (s *server) exitedCh() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exited
}

func (s *server) exitErr() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.waitErr
}

func (s *server) wasKilled() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.killed
}

// stop sends SIGTERM and waits for a clean exit (status 0).
func (s *server) stop() error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-exited:
	case <-time.After(30 * time.Second):
		return errors.New("guidedfix serve did not stop within 30 s of SIGTERM")
	}
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
	if err := s.exitErr(); err != nil {
		return fmt.Errorf("guidedfix serve after SIGTERM: %v\n%s", err, s.lastLog())
	}
	return nil
}

// waitExit waits for the current (killed) process to end.
func (s *server) waitExit() {
	<-s.exitedCh()
	s.mu.Lock()
	s.cmd = nil
	s.mu.Unlock()
}

func (s *server) lastLog() string {
	s.mu.Lock()
	n := s.starts
	s.mu.Unlock()
	b, _ := os.ReadFile(filepath.Join(s.logDir, fmt.Sprintf("serve-%03d.log", n)))
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// account is a portal account of a process test.
type account struct {
	email, password, phone string
}

// addAccounts creates accounts with SMS 2FA in dir's portal core (cheap
// argon2id parameters: password hashing is not under test here).
func addAccounts(t *testing.T, dir, prefix string, n int) []account {
	t.Helper()
	ob, err := mail.NewOutbox(filepath.Join(dir, "outbox", "mail"))
	if err != nil {
		t.Fatal(err)
	}
	core, err := embedded.Open(embedded.Options{
		Path: filepath.Join(dir, "portal.db"), KeyFile: filepath.Join(dir, "portal.key"),
		Mail: ob, SMS: embedded.FileSMS{Dir: filepath.Join(dir, "outbox", "sms")},
		Argon2: embedded.Argon2Params{Memory: 1024, Time: 1, Threads: 1},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer core.Close()
	out := make([]account, n)
	for i := range out {
		a := account{email: fmt.Sprintf("%s-%d@example.com", prefix, i), password: fmt.Sprintf("pw-%s-%d-Secret!", prefix, i),
			phone: fmt.Sprintf("+6011%07d", 1000*len(prefix)+i)}
		if _, err := core.AddAccount(context.Background(), embedded.NewAccount{Email: a.email, Name: "Customer " + a.email,
			Phone: a.phone, Method: portal.MethodSMS, Password: a.password}); err != nil {
			t.Fatal(err)
		}
		out[i] = a
	}
	return out
}

// customer returns a simulated customer for account a with Telegram user
// id user.
func (s *server) customer(a account, user int64, inbox *simcustomer.SMSInbox) *simcustomer.Customer {
	return &simcustomer.Customer{
		Fake: s.fake, Webhook: s.webhook(), Secret: procSecret,
		User:  fakebotapi.User{ID: user, FirstName: "Customer", LanguageCode: "en"},
		Email: a.email, Password: a.password, Phone: a.phone, SMS: inbox,
		Stall: 3 * time.Second, Timeout: 90 * time.Second,
	}
}

// checkBolt opens every *.db file of dir read-only and runs bbolt's
// consistency check.
func checkBolt(t *testing.T, dir string) {
	t.Helper()
	files, _ := filepath.Glob(filepath.Join(dir, "*.db"))
	if len(files) == 0 {
		t.Fatalf("no database in %s", dir)
	}
	for _, f := range files {
		db, err := bolt.Open(f, 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
		if err != nil {
			t.Fatalf("open %s: %v", filepath.Base(f), err)
		}
		err = db.View(func(tx *bolt.Tx) error {
			for err := range tx.Check() {
				return err
			}
			return nil
		})
		db.Close()
		if err != nil {
			t.Fatalf("%s is not a valid bbolt file: %v", filepath.Base(f), err)
		}
	}
}

// viewBolt runs fn in a read transaction of dir/name (the server must be
// stopped).
func viewBolt(t *testing.T, dir, name string, fn func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(filepath.Join(dir, name), 0o600, &bolt.Options{ReadOnly: true, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(fn); err != nil {
		t.Fatal(err)
	}
}

// storedSession reads the session of Telegram chat from dir/sessions.db.
func storedSession(t *testing.T, dir string, chat int64) *bot.Session {
	t.Helper()
	var s *bot.Session
	viewBolt(t, dir, "sessions.db", func(tx *bolt.Tx) error {
		raw := tx.Bucket([]byte("sessions")).Get([]byte(fmt.Sprintf("telegram\x00%d", chat)))
		if raw == nil {
			return nil
		}
		s = &bot.Session{}
		return json.Unmarshal(raw, s)
	})
	return s
}

// effects are the portal changes and e-mails one account got.
type effects struct {
	method                               portal.Method
	disables, activations, restores      int
	alerts, confirmations, restoredMails int
}

// accountEffects reads the audit log and the account from dir/portal.db
// and the e-mails from dir/outbox/mail.
func accountEffects(t *testing.T, dir, email string) effects {
	t.Helper()
	var e effects
	viewBolt(t, dir, "portal.db", func(tx *bolt.Tx) error {
		id := string(tx.Bucket([]byte("emails")).Get([]byte(email)))
		var acc struct{ Method portal.Method }
		if err := json.Unmarshal(tx.Bucket([]byte("accounts")).Get([]byte(id)), &acc); err != nil {
			return fmt.Errorf("account %s: %w", email, err)
		}
		e.method = acc.Method
		return tx.Bucket([]byte("audit")).ForEach(func(k, v []byte) error {
			var a embedded.AuditEntry
			if err := json.Unmarshal(v, &a); err != nil || a.AccountID != id {
				return err
			}
			switch a.Action {
			case "2fa_disabled":
				e.disables++
			case "totp_activated":
				e.activations++
			case "2fa_restored":
				e.restores++
			}
			return nil
		})
	})
	paths, _ := filepath.Glob(filepath.Join(dir, "outbox", "mail", "*.eml"))
	for _, p := range paths {
		m, err := mail.ReadEML(p)
		if err != nil {
			t.Fatalf("e-mail %s: %v", p, err)
		}
		if !strings.EqualFold(m.To, email) {
			continue
		}
		switch {
		case strings.Contains(m.Subject, "was disabled"):
			e.alerts++
		case strings.Contains(m.Subject, "updated to TOTP"):
			e.confirmations++
		case strings.Contains(m.Subject, "restored"):
			e.restoredMails++
		}
	}
	return e
}

// TestSecondProcessFailsFast: while `guidedfix serve` owns a data
// directory, a second process on it (serve, or an admin command) fails
// within a couple of seconds with a message naming the lock, not a hang.
func TestSecondProcessFailsFast(t *testing.T) {
	dir := t.TempDir()
	addAccounts(t, dir, "lock", 1)
	fake := fakebotapi.New(fakebotapi.Options{Token: procToken, BotUsername: procBot})
	t.Cleanup(fake.Close)
	srv := newServer(t, dir, fake)
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	second := newServer(t, dir, fake)
	for _, args := range [][]string{{"serve"}, {"portal", "list"}} {
		cmd := exec.Command(binary(t), args...)
		cmd.Env = second.env()
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		start := time.Now()
		err := cmd.Run()
		took := time.Since(start)
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() == 0 {
			t.Fatalf("second %v: %v\n%s", args, err, out.String())
		}
		if !strings.Contains(out.String(), "is in use by another guidedfix process") {
			t.Fatalf("second %v says %q", args, out.String())
		}
		if took > 3*time.Second {
			t.Fatalf("second %v took %v to fail", args, took)
		}
		t.Logf("second %v failed after %v: %s", args, took.Round(time.Millisecond), strings.TrimSpace(out.String()))
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
}

// TestGracefulShutdownAndRestart: SIGTERM while a turn is in flight (its
// Bot API call held by the fake) stops taking updates, finishes the turn
// (every reply delivered, saved), closes the databases and exits 0; a new
// process on the same directory continues the conversation to the end.
func TestGracefulShutdownAndRestart(t *testing.T) {
	dir := t.TempDir()
	accs := addAccounts(t, dir, "term", 1)
	var (
		mu      sync.Mutex
		holding = make(chan struct{})
		release = make(chan struct{})
		armed   = true
	)
	fake := fakebotapi.New(fakebotapi.Options{Token: procToken, BotUsername: procBot, OnCall: func(c fakebotapi.Call, applied bool) bool {
		// Hold the message that says SMS 2FA was disabled: the turn of
		// "Disable 2FA" is then in flight.
		// (The pressed message is edited into it: editMessageText.)
		if !applied && (c.Method == "sendMessage" || c.Method == "editMessageText") && strings.Contains(c.Fields["text"], "is now disabled") {
			mu.Lock()
			hold := armed
			armed = false
			mu.Unlock()
			if hold {
				close(holding)
				<-release
			}
		}
		return true
	}})
	t.Cleanup(fake.Close)
	srv := newServer(t, dir, fake)
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	inbox := &simcustomer.SMSInbox{Dir: filepath.Join(dir, "outbox", "sms")}
	cust := srv.customer(accs[0], 7001, inbox)
	done := make(chan error, 1)
	go func() { _, err := cust.Run(context.Background()); done <- err }()

	select {
	case <-holding:
	case err := <-done:
		t.Fatalf("the flow ended before the held turn: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("the turn of Disable 2FA never came")
	}
	srv.mu.Lock()
	proc := srv.cmd.Process
	srv.mu.Unlock()
	if err := proc.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// New updates are refused from now on (503, or no connection). Each
	// try is another user; the ones refused must leave no trace.
	var refusedUsers []int64
	for user := int64(7100); len(refusedUsers) < 3 && user < 7400; user++ {
		u := fakebotapi.User{ID: user, FirstName: "Late"}
		code, err := fake.Post(context.Background(), srv.webhook(), procSecret, fake.Text(fakebotapi.PrivateChat(u), u, "/start"))
		switch {
		case err != nil || code == 503:
			refusedUsers = append(refusedUsers, user)
		case len(refusedUsers) > 0:
			t.Fatalf("update of user %d taken (%d) after an earlier one was refused", user, code)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(refusedUsers) == 0 {
		t.Fatal("updates were still taken after SIGTERM")
	}
	close(release)
	select {
	case <-srv.exitedCh():
	case <-time.After(30 * time.Second):
		t.Fatal("guidedfix serve did not stop after SIGTERM")
	}
	if err := srv.exitErr(); err != nil {
		t.Fatalf("exit after SIGTERM: %v\n%s", err, srv.lastLog())
	}
	srv.waitExit()
	// The turn in flight was finished: the rest of its replies went out
	// and it was saved with nothing left to deliver.
	checkBolt(t, dir)
	s := storedSession(t, dir, 7001)
	if s == nil || s.State != "offer_setup" || len(s.Outbox) != 0 {
		t.Fatalf("session after SIGTERM: %+v", s)
	}
	for _, user := range refusedUsers {
		if late := storedSession(t, dir, user); late != nil {
			t.Fatalf("an update refused after SIGTERM made a session: %+v", late)
		}
	}
	found := false
	for _, m := range fake.Messages(7001) {
		found = found || strings.Contains(m.Text, "Tap \"Setup Two-Factor Authentication\"")
	}
	if !found {
		t.Fatal("the held turn's last reply was not delivered before the exit")
	}
	// A new process continues where the conversation stopped.
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("the flow after the restart: %v", err)
		}
	case <-time.After(90 * time.Second):
		t.Fatal("the flow did not finish after the restart")
	}
	if err := srv.stop(); err != nil {
		t.Fatal(err)
	}
	e := accountEffects(t, dir, accs[0].email)
	if e.method != portal.MethodTOTP || e.disables != 1 || e.activations != 1 || e.alerts != 1 || e.confirmations != 1 {
		t.Fatalf("effects %+v", e)
	}
	t.Logf("SIGTERM with a turn in flight: %d later updates refused, the turn finished; %d processes in all", len(refusedUsers), srv.starts)
}
