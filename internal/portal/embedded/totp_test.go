package embedded

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
	qrcode "github.com/skip2/go-qrcode"
	"go.etcd.io/bbolt"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portaltest"
)

// TestRFC6238Vectors checks matchStep, the core's validation path, with the
// SHA1 test vectors of RFC 6238 Appendix B (8 digits, X = 30, T0 = 0).
func TestRFC6238Vectors(t *testing.T) {
	secret := b32.EncodeToString([]byte("12345678901234567890"))
	vectors := []struct {
		unix int64
		code string
	}{
		{59, "94287082"},
		{1111111109, "07081804"},
		{1111111111, "14050471"},
		{1234567890, "89005924"},
		{2000000000, "69279037"},
		{20000000000, "65353130"},
	}
	for _, v := range vectors {
		now := time.Unix(v.unix, 0)
		got, ok := matchStep(secret, v.code, now, otp.DigitsEight)
		if !ok || got != v.unix/30 {
			t.Errorf("T=%d code %s: step %d, %v; want step %d", v.unix, v.code, got, ok, v.unix/30)
		}
		wrong := v.code[:7] + string('0'+(v.code[7]-'0'+1)%10)
		if _, ok := matchStep(secret, wrong, now, otp.DigitsEight); ok {
			t.Errorf("T=%d: altered code %s accepted", v.unix, wrong)
		}
	}
}

// TestMatchStepLeadingZero finds a 6-digit code starting with "0" and
// checks it is matched as a string (leading zero kept).
func TestMatchStepLeadingZero(t *testing.T) {
	secret := b32.EncodeToString([]byte("12345678901234567890"))
	for s := int64(1); s < 1000; s++ {
		at := time.Unix(s*30, 0)
		code := portaltest.Code(t, secret, at)
		if code[0] != '0' {
			continue
		}
		if got, ok := matchStep(secret, code, at, otp.DigitsSix); !ok || got != s {
			t.Fatalf("code %s of step %d: got step %d, %v", code, s, got, ok)
		}
		if _, ok := matchStep(secret, strings.TrimLeft(code, "0"), at, otp.DigitsSix); ok {
			t.Fatalf("code %s without its leading zero accepted", code)
		}
		return
	}
	t.Fatal("no code with a leading zero in 1000 steps")
}

func TestVerifyTOTPWindowAndReplay(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, secret := e.totpAccount(t)
	code := func(d time.Duration) string { return portaltest.Code(t, secret, e.clock.Now().Add(d)) }

	e.clock.Advance(10 * time.Minute) // far from the enrollment's step
	portaltest.WantBadCode(t, e.core.VerifyTOTP(ctx, a.ID, code(-60*time.Second)), 4)
	portaltest.WantBadCode(t, e.core.VerifyTOTP(ctx, a.ID, code(60*time.Second)), 3)
	if err := e.core.VerifyTOTP(ctx, a.ID, code(-30*time.Second)); err != nil {
		t.Fatalf("step c-1: %v", err)
	}
	portaltest.WantErr(t, e.core.VerifyTOTP(ctx, a.ID, code(-30*time.Second)), portal.ErrCodeReplayed)
	if err := e.core.VerifyTOTP(ctx, a.ID, code(0)); err != nil {
		t.Fatalf("step c: %v", err)
	}
	portaltest.WantErr(t, e.core.VerifyTOTP(ctx, a.ID, code(0)), portal.ErrCodeReplayed)
	if err := e.core.VerifyTOTP(ctx, a.ID, code(30*time.Second)); err != nil {
		t.Fatalf("step c+1: %v", err)
	}

	// A code of step c-1 once step c was accepted is refused.
	e.clock.Advance(5 * time.Minute)
	if err := e.core.VerifyTOTP(ctx, a.ID, code(0)); err != nil {
		t.Fatal(err)
	}
	portaltest.WantErr(t, e.core.VerifyTOTP(ctx, a.ID, code(-30*time.Second)), portal.ErrCodeReplayed)
	portaltest.WantErr(t, e.core.VerifyTOTP(ctx, a.ID, "12 34"), portal.ErrCodeFormat)
}

func TestVerifyTOTPConcurrentReplay(t *testing.T) {
	e := newEnv(t)
	a, secret := e.totpAccount(t)
	e.clock.Advance(time.Minute)
	code := portaltest.Code(t, secret, e.clock.Now())
	errs := make([]error, 50)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { errs[i] = e.core.VerifyTOTP(context.Background(), a.ID, code) })
	}
	wg.Wait()
	ok, replayed := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, portal.ErrCodeReplayed):
			replayed++
		default:
			t.Errorf("unexpected error %v", err)
		}
	}
	if ok != 1 || replayed != 49 {
		t.Fatalf("%d successes, %d replays; want 1 and 49", ok, replayed)
	}
}

// TestEnrollmentCodeConsumed: the code that confirmed the enrollment
// cannot be used again in the same time step (RFC 6238 §5.2).
func TestEnrollmentCodeConsumed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	en := e.enroll(t, a)
	code := portaltest.Code(t, en.Secret, e.clock.Now())
	if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, code, "c1"); err != nil {
		t.Fatal(err)
	}
	portaltest.WantErr(t, e.core.VerifyTOTP(ctx, a.ID, code), portal.ErrCodeReplayed)
	var rec accountRec
	e.core.db.View(func(tx *bbolt.Tx) error { rec, _ = e.core.loadAccount(tx, a.ID); return nil })
	if rec.LastStep != step(e.clock.Now()) {
		t.Fatalf("last step %d, want %d", rec.LastStep, step(e.clock.Now()))
	}
}

func TestLeadingZeroAndUnicodeCodes(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, secret := e.totpAccount(t)
	arabicIndic := func(code string) string {
		var b strings.Builder
		for _, r := range code {
			b.WriteRune(r - '0' + '٠')
		}
		return b.String()
	}
	e.clock.Advance(30 * time.Second)
	if code := arabicIndic(portaltest.Code(t, secret, e.clock.Now())); e.core.VerifyTOTP(ctx, a.ID, code) != nil {
		t.Fatalf("Arabic-Indic code %q refused", code)
	}
	for i := 0; ; i++ {
		e.clock.Advance(30 * time.Second)
		if code := portaltest.Code(t, secret, e.clock.Now()); code[0] == '0' {
			if err := e.core.VerifyTOTP(ctx, a.ID, code); err != nil {
				t.Fatalf("code %q: %v", code, err)
			}
			break
		}
		if i == 1000 {
			t.Fatal("no code with a leading zero in 1000 steps")
		}
	}

	// Arabic-Indic digits confirm an enrollment too.
	b := e.add(t, "bob@example.com", "", portal.MethodNone, portaltest.Password)
	en, err := e.core.BeginTOTPEnrollment(ctx, e.grant(t, b).Token, "b1")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, arabicIndic(portaltest.Code(t, en.Secret, e.clock.Now())), "c1"); err != nil {
		t.Fatalf("Arabic-Indic code: %v", err)
	}
}

// TestSecretEntropy: 20-byte secrets, 1000 generations all distinct.
func TestSecretEntropy(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 1000; i++ {
		_, s, err := newTOTPKey("IP ServerOne", "alice@example.com", nil)
		if err != nil {
			t.Fatal(err)
		}
		raw, err := b32.DecodeString(s)
		if err != nil || len(raw) != 20 || len(s) != 32 {
			t.Fatalf("secret %q: %d bytes, %v", s, len(raw), err)
		}
		if seen[s] {
			t.Fatalf("secret repeated after %d generations", i)
		}
		seen[s] = true
	}
}

// TestLibraryLabelEscaping records what pquerna/otp round-trips by itself:
// the account name (URI path) survives every character, the issuer (query,
// url.PathEscape) loses '&' and '+'. It is why the issuer refuses them.
func TestLibraryLabelEscaping(t *testing.T) {
	roundTrips := func(issuer, account string) bool {
		k, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account})
		if err != nil {
			t.Fatal(err)
		}
		back, err := otp.NewKeyFromURL(k.String())
		return err == nil && back.Issuer() == issuer && back.AccountName() == account
	}
	for _, account := range []string{"o'neil+x@example.com", "a&b@x.com", "a=b@x.com", "a#b@x.com", "a?b@x.com", "a%b@x.com", "a b@x.com"} {
		if !roundTrips("IP ServerOne", account) {
			t.Errorf("account %q does not round-trip", account)
		}
	}
	for issuer, want := range map[string]bool{"Bot & Co": false, "A+B": false, "A#B": true, "IP ServerOne": true} {
		if got := roundTrips(issuer, "x@example.com"); got != want {
			t.Errorf("issuer %q round-trips = %v, want %v", issuer, got, want)
		}
	}
}

func TestLabels(t *testing.T) {
	uri, _, err := newTOTPKey("IP ServerOne", "o'neil+x@example.com", nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(uri, "otpauth://totp/IP%20ServerOne:o%27neil%2Bx@example.com?issuer=IP%20ServerOne&secret=") {
		t.Fatalf("URI = %s", uri)
	}
	k, err := otp.NewKeyFromURL(uri)
	if err != nil || k.Issuer() != "IP ServerOne" || k.AccountName() != "o'neil+x@example.com" {
		t.Fatalf("round trip: %v %q %q", err, k.Issuer(), k.AccountName())
	}
	for _, label := range []string{"", "a:b@x.com", "a&b@x.com", "a#b@x.com", "a?b@x.com", "a%b@x.com", "a/b@x.com", "a=b@x.com", "a\nb@x.com"} {
		if _, _, err := newTOTPKey("IP ServerOne", label, nil); !errors.Is(err, ErrInvalidLabel) {
			t.Errorf("label %q: %v, want ErrInvalidLabel", label, err)
		}
	}
	for _, issuer := range []string{"Evil:Co", "Bot & Co", "A+B", "A/B", "A=B", "A%B", "A?B", "A#B"} {
		if _, _, err := newTOTPKey(issuer, "x@example.com", nil); !errors.Is(err, ErrInvalidLabel) {
			t.Errorf("issuer %q: %v, want ErrInvalidLabel", issuer, err)
		}
		if _, err := Open(Options{Path: t.TempDir() + "/p.db", Key: make([]byte, 32), Mail: &portaltest.MailRecorder{}, SMS: &portaltest.SMSRecorder{}, Issuer: issuer}); !errors.Is(err, ErrInvalidLabel) {
			t.Errorf("Open with issuer %q: %v, want ErrInvalidLabel", issuer, err)
		}
	}
}

func TestEnrollmentLabels(t *testing.T) {
	e := newEnv(t, func(o *Options) { o.Issuer = "Acme Hosting" })
	ctx := context.Background()
	a := e.add(t, "O'Neil+x@Example.com", "", portal.MethodNone, portaltest.Password)
	en, err := e.core.BeginTOTPEnrollment(ctx, e.grant(t, a).Token, "b1")
	if err != nil {
		t.Fatal(err)
	}
	k, err := otp.NewKeyFromURL(en.URI)
	if err != nil || en.Label != "o'neil+x@example.com" || k.AccountName() != en.Label || k.Issuer() != "Acme Hosting" || en.Issuer != "Acme Hosting" {
		t.Fatalf("enrollment %+v, key %q %q, %v", en, k.AccountName(), k.Issuer(), err)
	}
	if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, portaltest.Code(t, en.Secret, e.clock.Now()), "c1"); err != nil {
		t.Fatal(err)
	}
	amp := e.add(t, "a&b@example.com", "", portal.MethodNone, portaltest.Password)
	_, err = e.core.BeginTOTPEnrollment(ctx, e.grant(t, amp).Token, "b2")
	portaltest.WantErr(t, err, ErrInvalidLabel)
}

// TestCountersPersisted: wrong codes are committed although the call
// reports an error (the bbolt rollback trap), so they survive a reopen.
func TestCountersPersisted(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	en := e.enroll(t, a)
	for left := 4; left >= 3; left-- {
		portaltest.WantBadCode(t, e.core.ConfirmTOTPEnrollment(ctx, en.ID, portaltest.WrongCode(t, en.Secret, e.clock.Now()), "c1"), left)
	}
	g := e.grant(t, a)
	ch, err := e.core.SendSMSChallenge(ctx, g.Token, "s1")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := e.sms.LastCode(a.Phone)
	wrong := fmt.Sprintf("%06d", (atoi(code)+1)%1_000_000)
	for left := 2; left >= 1; left-- {
		_, err := e.core.VerifySMSChallenge(ctx, g.Token, ch.ID, wrong)
		portaltest.WantBadCode(t, err, left)
	}

	e.reopen(t)
	// The 5th failure of this source (2 + 2 before the reopen, issue 11
	// items 3 and 4: enrollment codes count per account) throttles it.
	portaltest.WantErr(t, e.core.ConfirmTOTPEnrollment(ctx, en.ID, portaltest.WrongCode(t, en.Secret, e.clock.Now()), "c1"), portal.ErrLocked)
	_, err = e.core.VerifySMSChallenge(ctx, g.Token, ch.ID, code)
	portaltest.WantErr(t, err, portal.ErrLocked)
	r, err := e.core.Restrictions(ctx, a.ID)
	if err != nil || r.Consecutive["totp"] != 3 || r.Consecutive["sms"] != 2 {
		t.Fatalf("counts %v (%v), want totp 3 and sms 2", r.Consecutive, err)
	}
}

func atoi(s string) int {
	n := 0
	for _, r := range s {
		n = n*10 + int(r-'0')
	}
	return n
}

// TestKeyURIFitsVersion10 checks issue 14's bound: with an issuer at the
// configured limit (24 bytes percent-encoded) and a 100-byte e-mail, the
// otpauth URI, which leaves out the default algorithm, digits and period,
// encodes as a QR code of version 10 or less at level M.
func TestKeyURIFitsVersion10(t *testing.T) {
	issuer := "Customer Portal Asia" // 24 bytes percent-encoded
	if n := len(url.PathEscape(issuer)); n != 24 {
		t.Fatalf("issuer is %d bytes encoded, want 24", n)
	}
	label := strings.Repeat("a", 100-len("@example.com")) + "@example.com"
	uri, secret, err := newTOTPKey(issuer, label, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"algorithm=", "digits=", "period="} {
		if strings.Contains(uri, p) {
			t.Errorf("URI %s carries the default %s", uri, p)
		}
	}
	k, err := otp.NewKeyFromURL(uri)
	if err != nil || k.Issuer() != issuer || k.AccountName() != label || k.Secret() != secret ||
		k.Period() != 30 || k.Digits() != otp.DigitsSix || k.Algorithm() != otp.AlgorithmSHA1 {
		t.Fatalf("round trip of %s: %v", uri, err)
	}
	q, err := qrcode.New(uri, qrcode.Medium)
	if err != nil {
		t.Fatal(err)
	}
	if q.VersionNumber > 10 {
		t.Fatalf("%d-byte URI needs QR version %d, want <= 10", len(uri), q.VersionNumber)
	}
}
