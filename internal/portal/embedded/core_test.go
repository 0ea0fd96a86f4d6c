package embedded

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portaltest"
)

func TestLockSurvivesReopen(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	for i := 0; i < 4; i++ {
		_, err := e.core.VerifyPassword(ctx, a.ID, "wrong password")
		portaltest.WantErr(t, err, portal.ErrBadPassword)
	}
	e.reopen(t)
	_, err := e.core.VerifyPassword(ctx, a.ID, "wrong password")
	portaltest.WantLocked(t, err, e.clock.Now().Add(15*time.Minute))
	e.reopen(t)
	_, err = e.core.VerifyPassword(ctx, a.ID, portaltest.Password)
	portaltest.WantLocked(t, err, e.clock.Now().Add(15*time.Minute))
}

// TestSMSFailuresCountPerAccount: wrong SMS codes and wrong passwords
// share the account's failure count.
func TestSMSFailuresCountPerAccount(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	g := e.grant(t, a)
	ch, err := e.core.SendSMSChallenge(ctx, g.Token, "s1")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := e.sms.LastCode(a.Phone)
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
	for i := 0; i < 3; i++ {
		_, err = e.core.VerifySMSChallenge(ctx, g.Token, ch.ID, wrong)
	}
	portaltest.WantErr(t, err, portal.ErrExpired)
	_, err = e.core.VerifyPassword(ctx, a.ID, "wrong password")
	portaltest.WantErr(t, err, portal.ErrBadPassword)
	_, err = e.core.VerifyPassword(ctx, a.ID, "wrong password")
	portaltest.WantLocked(t, err, e.clock.Now().Add(15*time.Minute))
	_, err = e.core.SendSMSChallenge(ctx, g.Token, "s2")
	portaltest.WantLocked(t, err, e.clock.Now().Add(15*time.Minute))
}

func TestSMSText(t *testing.T) {
	for _, issuer := range []string{"", "Acme Hosting"} {
		e := newEnv(t, func(o *Options) { o.Issuer = issuer })
		a := e.alice(t)
		if _, err := e.core.SendSMSChallenge(context.Background(), e.grant(t, a).Token, "s1"); err != nil {
			t.Fatal(err)
		}
		msgs := e.sms.Messages()
		code, _ := e.sms.LastCode(a.Phone)
		name := issuer
		if name == "" {
			name = "IP ServerOne"
		}
		want := name + ": your verification code is " + code + ". It expires in 5 minutes. Never share it."
		if len(msgs) != 1 || msgs[0].Phone != a.Phone || msgs[0].Text != want {
			t.Fatalf("SMS = %+v, want %q", msgs, want)
		}
		if s := e.core.Stats(); s.SMSSent != 1 {
			t.Fatalf("Stats = %+v", s)
		}
	}
}

func TestSMSSenderFailure(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	g := e.grant(t, a)
	e.sms.SetError(errors.New("gateway down"))
	_, err := e.core.SendSMSChallenge(ctx, g.Token, "s1")
	if err == nil || !strings.Contains(err.Error(), "gateway down") {
		t.Fatalf("error = %v", err)
	}
	e.sms.SetError(nil)
	ch, err := e.core.SendSMSChallenge(ctx, g.Token, "s1") // the key was forgotten
	if err != nil {
		t.Fatal(err)
	}
	code, n := e.sms.LastCode(a.Phone)
	if n != 1 || e.core.Stats().SMSSent != 1 {
		t.Fatalf("%d SMS, stats %+v", n, e.core.Stats())
	}
	if _, err := e.core.VerifySMSChallenge(ctx, g.Token, ch.ID, code); err != nil {
		t.Fatal(err)
	}
}

// TestExactlyOnceEffects checks Stats and the e-mails for repeated keys.
func TestExactlyOnceEffects(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	g, _ := e.elevated(t, a)
	for i := 0; i < 2; i++ {
		if err := e.core.Disable2FA(ctx, g.Token, "d1"); err != nil {
			t.Fatal(err)
		}
	}
	en1, err := e.core.BeginTOTPEnrollment(ctx, g.Token, "b1")
	if err != nil {
		t.Fatal(err)
	}
	en2, err := e.core.BeginTOTPEnrollment(ctx, g.Token, "b1")
	if err != nil || en2.Secret != en1.Secret || en2.URI != en1.URI || en2.ID != en1.ID {
		t.Fatalf("repeated begin: %+v, %v", en2, err)
	}
	code := portaltest.Code(t, en1.Secret, e.clock.Now())
	for i := 0; i < 2; i++ {
		if err := e.core.ConfirmTOTPEnrollment(ctx, en1.ID, code, "c1"); err != nil {
			t.Fatal(err)
		}
	}
	want := Stats{Disables: 1, Activations: 1, AlertsSent: 1, ConfirmationsSent: 1, SMSSent: 1}
	if s := e.core.Stats(); s != want {
		t.Fatalf("Stats = %+v, want %+v", s, want)
	}
	mails := e.mail.Messages()
	if len(mails) != 2 {
		t.Fatalf("%d e-mails, want 2", len(mails))
	}
	alert, conf := mails[0], mails[1]
	for _, m := range mails {
		if !regexp.MustCompile(`^[A-Za-z0-9._-]{1,200}$`).MatchString(m.ID) {
			t.Errorf("message id %q is not a mail.Message id", m.ID)
		}
	}
	if alert.Subject != "Security alert: two-factor authentication was disabled" ||
		!strings.Contains(alert.Text, "2FA was disabled on your account alice@example.com at 2026-03-02 09:00:10 UTC") ||
		!strings.Contains(alert.Text, "If this was not you") || alert.ID != messageID(opDisable, "d1") {
		t.Fatalf("alert = %+v", alert)
	}
	if !strings.Contains(conf.Text, "your account security method has been updated to TOTP (authenticator app)") ||
		!strings.Contains(conf.Text, "IP ServerOne team") || conf.ID != messageID(opConfirm, "c1") || conf.To != a.Email {
		t.Fatalf("confirmation = %+v", conf)
	}
}

// TestOutboxRecovery: an e-mail that could not be sent after commit is
// sent by a repeat of the key or by the next Open, once.
func TestOutboxRecovery(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	g, _ := e.elevated(t, a)
	e.mail.SetError(errors.New("smtp down"))
	if err := e.core.Disable2FA(ctx, g.Token, "d1"); err != nil {
		t.Fatalf("Disable2FA must report the committed change: %v", err)
	}
	if err := e.core.Disable2FA(ctx, g.Token, "d1"); err != nil {
		t.Fatal(err)
	}
	if s := e.core.Stats(); s.Disables != 1 || s.AlertsSent != 0 {
		t.Fatalf("Stats = %+v", s)
	}
	e.mail.SetError(nil)
	e.reopen(t) // crash recovery
	if s := e.core.Stats(); s.AlertsSent != 1 || s.Disables != 0 {
		t.Fatalf("after reopen Stats = %+v", s)
	}
	if err := e.core.Disable2FA(ctx, g.Token, "d1"); err != nil {
		t.Fatal(err)
	}
	e.reopen(t)
	mails := e.mail.Messages()
	if len(mails) != 1 || mails[0].ID != messageID(opDisable, "d1") || e.core.Stats().AlertsSent != 0 {
		t.Fatalf("e-mails %+v, stats %+v", mails, e.core.Stats())
	}

	// A repeat of the key also sends a pending message.
	en, err := e.core.BeginTOTPEnrollment(ctx, g.Token, "b1")
	if err != nil {
		t.Fatal(err)
	}
	code := portaltest.Code(t, en.Secret, e.clock.Now())
	e.mail.SetError(errors.New("smtp down"))
	if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, code, "c1"); err != nil {
		t.Fatal(err)
	}
	e.mail.SetError(nil)
	if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, code, "c1"); err != nil {
		t.Fatal(err)
	}
	if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, code, "c1"); err != nil {
		t.Fatal(err)
	}
	if s := e.core.Stats(); s.ConfirmationsSent != 1 || s.Activations != 1 || len(e.mail.Messages()) != 2 {
		t.Fatalf("Stats %+v, %d e-mails", s, len(e.mail.Messages()))
	}
}

// TestSecretsNotAtRest: after a full flow the database file holds no
// password, SMS code, grant token or TOTP secret (base32 or raw).
func TestSecretsNotAtRest(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	g, smsCode := e.elevated(t, a)
	old, err := e.core.BeginTOTPEnrollment(ctx, g.Token, "b0") // voided below
	if err != nil {
		t.Fatal(err)
	}
	en, err := e.core.BeginTOTPEnrollment(ctx, g.Token, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, portaltest.Code(t, en.Secret, e.clock.Now()), "c1"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(time.Minute)
	if err := e.core.VerifyTOTP(ctx, a.ID, portaltest.Code(t, en.Secret, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	if err := e.core.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(e.opts.Path)
	if err != nil {
		t.Fatal(err)
	}
	for name, secret := range map[string]string{
		"password": portaltest.Password, "SMS code": smsCode, "grant token": g.Token,
		"secret": en.Secret, "old secret": old.Secret,
	} {
		if bytes.Contains(data, []byte(secret)) {
			t.Errorf("database holds the %s", name)
		}
	}
	for _, s := range []string{en.Secret, old.Secret} {
		raw, _ := b32.DecodeString(s)
		if bytes.Contains(data, raw) || bytes.Contains(data, []byte(base64.StdEncoding.EncodeToString(raw))) {
			t.Error("database holds a raw secret")
		}
	}
	logs := e.logs.String()
	for _, s := range []string{portaltest.Password, smsCode, g.Token, en.Secret} {
		if strings.Contains(logs, s) {
			t.Errorf("logs hold a secret %q", s)
		}
	}
	if !strings.Contains(logs, en.ID) {
		t.Error("logs lack the enrollment id")
	}
}

func TestSecondOpenFailsFast(t *testing.T) {
	e := newEnv(t)
	start := time.Now()
	_, err := Open(e.opts)
	if !errors.Is(err, bberrors.ErrTimeout) {
		t.Fatalf("second Open: %v, want ErrTimeout", err)
	}
	want := fmt.Sprintf("portal database %s is in use by another guidedfix process", e.opts.Path)
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("error %q lacks %q", err, want)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("second Open took %v", d)
	}
}

func TestDefaultArgon2Params(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Argon2 = Argon2Params{} })
	a := e.alice(t)
	var rec accountRec
	e.core.db.View(func(tx *bbolt.Tx) error { rec, _ = e.core.loadAccount(tx, a.ID); return nil })
	if !strings.HasPrefix(rec.PasswordHash, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", rec.PasswordHash)
	}
	p, salt, sum, err := parsePHC(rec.PasswordHash)
	if err != nil || len(salt) != 16 || len(sum) != 32 || p.Threads != 1 {
		t.Fatalf("PHC %q: %+v salt %d hash %d %v", rec.PasswordHash, p, len(salt), len(sum), err)
	}
	e.grant(t, a)
	// A hash made with other parameters is checked with its own.
	e.core.argon = withDefaults(testArgon2)
	b := e.add(t, "bob@example.com", "", portal.MethodNone, "another password")
	e.core.argon = DefaultArgon2
	if _, err := e.core.VerifyPassword(context.Background(), b.ID, "another password"); err != nil {
		t.Fatal(err)
	}
}

// TestHashConcurrencyBound starts more password checks than hashing slots
// and shows that no more than the bound run at once.
func TestHashConcurrencyBound(t *testing.T) {
	const bound, callers = 2, 6
	e := newEnv(t, func(o *Options) { o.MaxConcurrentHashes = bound })
	entered := make(chan struct{}, callers)
	release := make(chan struct{})
	e.core.hashHook = func() {
		entered <- struct{}{}
		<-release
	}
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			_, err := e.core.VerifyPassword(context.Background(), "", "whatever")
			if !errors.Is(err, portal.ErrBadPassword) {
				t.Errorf("VerifyPassword: %v", err)
			}
		})
	}
	for range bound {
		<-entered
	}
	deadline := time.Now().Add(10 * time.Second)
	for e.core.hashWaiting.Load() != callers-bound {
		select {
		case <-entered:
			t.Fatal("a hash started beyond the bound")
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d callers waiting, want %d", e.core.hashWaiting.Load(), callers-bound)
		}
		runtime.Gosched()
	}
	if n := e.core.hashRunning.Load(); n != bound || len(entered) != 0 {
		t.Fatalf("%d hashes running, %d more entered; want %d, 0", n, len(entered), bound)
	}
	close(release)
	wg.Wait()
	if m := e.core.hashMax.Load(); m != bound {
		t.Fatalf("at most %d hashes ran at once, want %d", m, bound)
	}

	// A caller whose context ends while waiting gives up.
	block := make(chan struct{})
	e.core.hashHook = func() { <-block }
	defer close(block)
	for range bound {
		go e.core.VerifyPassword(context.Background(), "", "x")
	}
	for e.core.hashRunning.Load() != bound {
		runtime.Gosched()
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.core.VerifyPassword(ctx, "", "x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled wait: %v", err)
	}
}

// TestUnknownAccountHashes: an unknown account costs one hash, as a known
// one does.
func TestUnknownAccountHashes(t *testing.T) {
	e := newEnv(t)
	a := e.alice(t)
	hashes := 0
	e.core.hashHook = func() { hashes++ }
	for i, id := range []string{"", "no-such-id", a.ID} {
		_, err := e.core.VerifyPassword(context.Background(), id, "wrong password")
		portaltest.WantErr(t, err, portal.ErrBadPassword)
		if hashes != i+1 {
			t.Fatalf("%d hashes after %d checks", hashes, i+1)
		}
	}
}

func TestKeyFile(t *testing.T) {
	e := newEnv(t)
	info, err := os.Stat(e.opts.KeyFile)
	if err != nil || info.Mode().Perm() != 0o600 || info.Size() != 32 {
		t.Fatalf("key file: %v %v", info, err)
	}
	if info, err := os.Stat(e.opts.Path); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("database file: %v %v", info, err)
	}
	key, _ := os.ReadFile(e.opts.KeyFile)
	a, secret := e.totpAccount(t)
	e.reopen(t) // same key file: the sealed secret still opens
	e.clock.Advance(time.Minute)
	if err := e.core.VerifyTOTP(context.Background(), a.ID, portaltest.Code(t, secret, e.clock.Now())); err != nil {
		t.Fatal(err)
	}
	e.core.Close()

	// An explicit key wins over the file; a wrong key cannot open secrets.
	other := bytes.Repeat([]byte{7}, 32)
	e.opts.Key = other
	e.open(t)
	e.clock.Advance(time.Minute)
	err = e.core.VerifyTOTP(context.Background(), a.ID, portaltest.Code(t, secret, e.clock.Now()))
	if err == nil || errors.Is(err, portal.ErrBadCode) {
		t.Fatalf("wrong key: %v, want a decryption error", err)
	}
	if got, _ := os.ReadFile(e.opts.KeyFile); !bytes.Equal(got, key) {
		t.Fatal("key file changed")
	}
	e.opts.Key = []byte("short")
	if _, err := Open(e.opts); err == nil {
		t.Fatal("Open accepted a 5-byte key")
	}
}

func TestAddAccountValidation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	bad := []NewAccount{
		{Email: "not-an-email", Password: "long enough"},
		{Email: "Alice <alice@example.com>", Password: "long enough"},
		{Email: "a@example.com", Phone: "0123456789", Password: "long enough"},
		{Email: "a@example.com", Phone: "+0123456789", Password: "long enough"},
		{Email: "a@example.com", Phone: "+12345", Password: "long enough"},
		{Email: "a@example.com", Method: portal.MethodSMS, Password: "long enough"},
		{Email: "a@example.com", Method: portal.MethodTOTP, Password: "long enough"},
		{Email: "a@example.com", Password: "7 chars"},
		{Email: "a@example.com", Name: "Eve\x1b[31mRED\x07", Password: "long enough"},
		{Email: "a@example.com", Name: "ab \u202egnp.exe", Password: "long enough"},
		{Email: "a@example.com", Name: strings.Repeat("n", MaxNameRunes+1), Password: "long enough"},
	}
	for _, na := range bad {
		if _, err := e.core.AddAccount(ctx, na); !errors.Is(err, ErrInvalidAccount) {
			t.Errorf("AddAccount(%+v) = %v, want ErrInvalidAccount", na, err)
		}
	}
	for _, email := range []string{"carol@example.com", "Alice@Example.com", "bob@example.com"} {
		e.add(t, email, "", "", "long enough")
	}
	if _, err := e.core.AddAccount(ctx, NewAccount{Email: "ALICE@example.com", Password: "long enough"}); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate: %v, want ErrExists", err)
	}
	list, err := e.core.ListAccounts(ctx)
	if err != nil || len(list) != 3 {
		t.Fatalf("ListAccounts: %+v, %v", list, err)
	}
	for i, want := range []string{"alice@example.com", "bob@example.com", "carol@example.com"} {
		if list[i].Email != want || list[i].Method != portal.MethodNone || !list[i].CreatedAt.Equal(portaltest.Start) {
			t.Errorf("account %d = %+v, want %s", i, list[i], want)
		}
	}
}

func TestMaskPhone(t *testing.T) {
	for in, want := range map[string]string{
		"+60123456789":     "+60•••••6789",
		"+14155552671":     "+14•••••2671",
		"+1234567":         "+12•4567",
		"+123456789012345": "+12•••••••••2345",
		"":                 "",
		"0123":             "••••",
	} {
		if got := MaskPhone(in); got != want {
			t.Errorf("MaskPhone(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestFileSMS(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sms")
	f := FileSMS{Dir: dir}
	for i := 0; i < 2; i++ {
		if err := f.SendSMS(context.Background(), "+60123456789", "hello"); err != nil {
			t.Fatal(err)
		}
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Fatalf("dir: %v %v", info, err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil || len(entries) != 2 {
		t.Fatalf("%d files, %v; want 2", len(entries), err)
	}
	name := regexp.MustCompile(`^\d{8}T\d{6}\.\d{9}Z-[0-9a-f]{8}\.txt$`)
	for _, en := range entries {
		info, _ := en.Info()
		data, _ := os.ReadFile(filepath.Join(dir, en.Name()))
		if !name.MatchString(en.Name()) || info.Mode().Perm() != 0o600 || string(data) != "To: +60123456789\n\nhello\n" {
			t.Errorf("file %s (%v): %q", en.Name(), info.Mode(), data)
		}
	}
}

func TestGrantsStoredHashed(t *testing.T) {
	e := newEnv(t)
	g := e.grant(t, e.alice(t))
	e.core.db.View(func(tx *bbolt.Tx) error {
		if tx.Bucket(bGrants).Get([]byte(g.Token)) != nil || tx.Bucket(bGrants).Get([]byte(grantKey(g.Token))) == nil {
			t.Error("grant not stored under sha256(token)")
		}
		return nil
	})
	if raw, err := base64.RawURLEncoding.DecodeString(g.Token); err != nil || len(raw) != 32 {
		t.Fatalf("token %q: %d bytes, %v", g.Token, len(raw), err)
	}
}

func TestResetAccountRestoresSMSAndKeepsLastStep(t *testing.T) {
	e := newEnv(t)
	a, secret := e.totpAccount(t)
	ctx := context.Background()
	var lastBefore int64
	readLastStep := func() int64 {
		var rec accountRec
		if err := e.core.db.View(func(tx *bbolt.Tx) error {
			var err error
			rec, err = e.core.loadAccount(tx, a.ID)
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return rec.LastStep
	}
	lastBefore = readLastStep()
	got, err := e.core.ResetAccount(ctx, NewAccount{Email: strings.ToUpper(a.Email), Phone: "+60111222333", Method: portal.MethodSMS, Password: "a-new-password"})
	if err != nil {
		t.Fatal(err)
	}
	if got.Method != portal.MethodSMS || got.Phone != "+60111222333" || got.ID != a.ID {
		t.Fatalf("reset account %+v", got)
	}
	if last := readLastStep(); last != lastBefore || last == 0 {
		t.Fatalf("last step %d, want %d kept", last, lastBefore)
	}
	if _, err := e.core.VerifyPassword(ctx, a.ID, "a-new-password"); err != nil {
		t.Fatalf("new password refused: %v", err)
	}
	if err := e.core.VerifyTOTP(ctx, a.ID, portaltest.Code(t, secret, e.clock.Now())); !errors.Is(err, portal.ErrWrongState) {
		t.Fatalf("TOTP after reset: %v, want ErrWrongState", err)
	}
	if _, err := e.core.ResetAccount(ctx, NewAccount{Email: "nobody@example.com", Method: portal.MethodNone, Password: "12345678"}); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("reset of unknown account: %v", err)
	}
}

// TestUnknownRecordsPruned: the failure records of unknown e-mails do not
// pile up: once their 15 minutes are over, the next failure prunes them.
func TestUnknownRecordsPruned(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	count := func() int {
		n := 0
		_ = e.core.db.View(func(tx *bbolt.Tx) error {
			n = tx.Bucket(bUnknown).Stats().KeyN
			return nil
		})
		return n
	}
	for i := range 20 {
		_, err := e.core.VerifyPassword(ctx, e.core.UnknownAccount(fmt.Sprintf("ghost%d@example.com", i)), "guess-password")
		portaltest.WantErr(t, err, portal.ErrBadPassword)
	}
	if n := count(); n != 20 {
		t.Fatalf("%d records, want 20", n)
	}
	e.clock.Advance(16 * time.Minute)
	_, err := e.core.VerifyPassword(ctx, e.core.UnknownAccount("late@example.com"), "guess-password")
	portaltest.WantErr(t, err, portal.ErrBadPassword)
	if n := count(); n != 1 {
		t.Fatalf("%d records after the window, want only the new one", n)
	}
	// A record still counting is kept: 4 more failures lock it.
	for range 3 {
		_, _ = e.core.VerifyPassword(ctx, e.core.UnknownAccount("late@example.com"), "guess-password")
	}
	_, err = e.core.VerifyPassword(ctx, e.core.UnknownAccount("late@example.com"), "guess-password")
	var locked *portal.LockedError
	if !errors.As(err, &locked) {
		t.Fatalf("fifth failure: %v, want locked", err)
	}
}

// TestChangesDuringTheHashWin: the password hash runs outside any
// transaction; a factor change or a password reset that commits meanwhile
// wins over the answer being prepared.
func TestChangesDuringTheHashWin(t *testing.T) {
	ctx := context.Background()
	t.Run("app confirmed during a renewal", func(t *testing.T) {
		e := newEnv(t)
		a := e.alice(t)
		eg, _ := e.elevated(t, a)
		e.clock.Advance(6 * time.Minute)
		if err := e.core.Disable2FA(ctx, eg.Token, "d1"); err != nil {
			t.Fatal(err)
		}
		en, err := e.core.BeginTOTPEnrollment(ctx, eg.Token, "b1")
		if err != nil {
			t.Fatal(err)
		}
		e.clock.Advance(5 * time.Minute) // the grant has lapsed, the QR code not
		var once sync.Once
		e.core.hashHook = func() {
			once.Do(func() {
				if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, portaltest.Code(t, en.Secret, e.clock.Now()), "c1"); err != nil {
					t.Error(err)
				}
			})
		}
		_, err = e.core.Reauthenticate(ctx, eg.Token, portaltest.Password)
		portaltest.WantErr(t, err, portal.ErrBadGrant)
	})
	t.Run("password reset during a check", func(t *testing.T) {
		e := newEnv(t)
		a := e.alice(t)
		var once sync.Once
		e.core.hashHook = func() {
			once.Do(func() {
				err := e.core.db.Update(func(tx *bbolt.Tx) error {
					acct, err := e.core.loadAccount(tx, a.ID)
					if err != nil {
						return err
					}
					acct.PasswordHash = "$argon2id$v=19$m=1024,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
					return e.core.putAccount(tx, acct)
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		_, err := e.core.VerifyPassword(ctx, a.ID, portaltest.Password)
		portaltest.WantErr(t, err, portal.ErrBadPassword)
		r, err := e.core.Restrictions(ctx, a.ID)
		if err != nil || r.Failures != 0 {
			t.Fatalf("restrictions %+v, %v: the refused check must count nothing", r, err)
		}
	})
}

// TestUnknownRecordsStayBounded: with a steady stream of new unknown
// addresses (5 a minute for 3 hours, 75 counting at any time), the records
// stay near those still counting instead of growing with every address.
func TestUnknownRecordsStayBounded(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	for minute := range 180 {
		for i := range 5 {
			_, _ = e.core.VerifyPassword(ctx, e.core.UnknownAccount(fmt.Sprintf("g%d-%d@example.com", minute, i)), "guess-password")
		}
		e.clock.Advance(time.Minute)
	}
	n := 0
	_ = e.core.db.View(func(tx *bbolt.Tx) error {
		n = tx.Bucket(bUnknown).Stats().KeyN
		return nil
	})
	if n > 150 {
		t.Fatalf("%d records after 900 addresses, 75 of them still counting; want at most 150", n)
	}
	t.Logf("%d records", n)
}
