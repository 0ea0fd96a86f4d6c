package embedded

import (
	"bytes"
	"context"
	"errors"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portaltest"
)

// confirmed returns Alice with TOTP active and the enrollment id.
func (e *env) confirmed(t *testing.T) (portal.Account, string) {
	t.Helper()
	a := e.alice(t)
	en := e.enroll(t, a)
	if err := e.core.ConfirmTOTPEnrollment(context.Background(), en.ID, portaltest.Code(t, en.Secret, e.clock.Now()), "c-"+en.ID); err != nil {
		t.Fatal(err)
	}
	return a, en.ID
}

func TestRecoveryCodesWorkOnceAndAreHashed(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, enID := e.confirmed(t)
	codes, err := e.core.IssueRecoveryCodes(ctx, enID, 8)
	if err != nil {
		t.Fatal(err)
	}
	format := regexp.MustCompile(`^[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$`)
	seen := map[string]bool{}
	for _, c := range codes {
		if !format.MatchString(c) || seen[c] {
			t.Fatalf("code %q malformed or repeated", c)
		}
		seen[c] = true
	}
	if len(codes) != 8 {
		t.Fatalf("%d codes", len(codes))
	}
	// Each works once, typed in lower case and without the hyphen too.
	if err := e.core.VerifyRecoveryCode(ctx, a.ID, strings.ToLower(strings.ReplaceAll(codes[0], "-", ""))); err != nil {
		t.Fatalf("first use: %v", err)
	}
	var bad *portal.BadCodeError
	if err := e.core.VerifyRecoveryCode(ctx, a.ID, codes[0]); !errors.As(err, &bad) {
		t.Fatalf("second use: %v, want BadCodeError", err)
	}
	if err := e.core.VerifyRecoveryCode(ctx, a.ID, codes[1]); err != nil {
		t.Fatalf("another code: %v", err)
	}
	if err := e.core.VerifyRecoveryCode(ctx, a.ID, "O0O0O-1I1I1"); !errors.Is(err, portal.ErrCodeFormat) {
		t.Fatalf("ambiguous characters: %v", err)
	}
	// Not stored in clear.
	e.core.Close()
	raw, err := os.ReadFile(e.opts.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range codes {
		for _, form := range []string{c, strings.ReplaceAll(c, "-", "")} {
			if bytes.Contains(raw, []byte(form)) {
				t.Fatalf("portal.db holds recovery code %q in clear", form)
			}
		}
	}
}

func TestRecoveryCodesNeedFreshConfirmation(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a := e.alice(t)
	en := e.enroll(t, a)
	var ws *portal.WrongStateError
	if _, err := e.core.IssueRecoveryCodes(ctx, en.ID, 5); !errors.As(err, &ws) {
		t.Fatalf("before confirmation: %v", err)
	}
	if err := e.core.ConfirmTOTPEnrollment(ctx, en.ID, portaltest.Code(t, en.Secret, e.clock.Now()), "c"); err != nil {
		t.Fatal(err)
	}
	e.clock.Advance(10*time.Minute + time.Second)
	if _, err := e.core.IssueRecoveryCodes(ctx, en.ID, 5); !errors.Is(err, portal.ErrExpired) {
		t.Fatalf("11 minutes later: %v", err)
	}
	if _, err := e.core.IssueRecoveryCodes(ctx, "nope", 5); !errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("unknown enrollment: %v", err)
	}
	if _, err := e.core.IssueRecoveryCodes(ctx, en.ID, 21); err == nil {
		t.Fatal("21 codes accepted")
	}
}

func TestRecoveryCodesReissueVoidsOldSet(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	a, enID := e.confirmed(t)
	first, err := e.core.IssueRecoveryCodes(ctx, enID, 3)
	if err != nil {
		t.Fatal(err)
	}
	second, err := e.core.IssueRecoveryCodes(ctx, enID, 3)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.core.VerifyRecoveryCode(ctx, a.ID, first[0]); !errors.Is(err, portal.ErrBadCode) {
		t.Fatalf("old set still works: %v", err)
	}
	if err := e.core.VerifyRecoveryCode(ctx, a.ID, second[2]); err != nil {
		t.Fatalf("new set: %v", err)
	}
}
