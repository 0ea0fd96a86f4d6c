package main

import (
	"bytes"
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/portal/portaltest"
)

// runCLI runs the guidedfix command line with args and stdin, and returns
// its output.
func runCLI(t *testing.T, stdin string, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetIn(strings.NewReader(stdin))
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	err := cmd.ExecuteContext(context.Background())
	return out.String(), err
}

// openAccount opens the embedded core of data directory dir (no process
// may have it open) and looks up the account with email; the caller closes
// the core.
func openAccount(t *testing.T, dir, email string) (*embedded.Core, portal.Account) {
	t.Helper()
	core, err := embedded.Open(embedded.Options{Path: filepath.Join(dir, "portal.db"), KeyFile: filepath.Join(dir, "portal.key"),
		Mail: &portaltest.MailRecorder{}, SMS: &portaltest.SMSRecorder{}})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := core.LookupAccount(context.Background(), email)
	if err != nil {
		core.Close()
		t.Fatal(err)
	}
	return core, acc
}

// TestPortalShowsLock: after 5 wrong passwords `portal show` says the
// account is locked and until when; before, how many failures count.
func TestPortalShowsLock(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	t.Setenv("GUIDEDFIX_FLOW__ORDER", "disable-then-enroll")
	if out, err := runCLI(t, "a-long-password\n", "portal", "add-account", "--data-dir", dir,
		"--email", "lock@example.com", "--phone", "+60123456789", "--2fa", "sms"); err != nil {
		t.Fatalf("add-account: %v\n%s", err, out)
	}
	wrong := func(n int) {
		core, acc := openAccount(t, dir, "lock@example.com")
		defer core.Close()
		for range n {
			_, _ = core.VerifyPassword(context.Background(), acc.ID, "not the password")
		}
	}
	wrong(2)
	out, err := runCLI(t, "", "portal", "show", "--data-dir", dir, "lock@example.com")
	if err != nil || !strings.Contains(out, "2FA:     sms\n") || !strings.Contains(out, "locked:  no (2 of 20 failures in the last 15 minutes)\n") ||
		!strings.Contains(out, "SMS:     0 of 5 codes sent in the last 15 minutes\n") {
		t.Fatalf("show after 2 failures (%v):\n%s", err, out)
	}
	wrong(3)
	out, err = runCLI(t, "", "portal", "show", "--data-dir", dir, "lock@example.com")
	// One source's 5 failures throttle that source, not the account.
	if err != nil || !strings.Contains(out, "locked:  no (5 of 20 failures in the last 15 minutes); but 1 source(s) throttled") || !strings.Contains(out, "throttled sources: 1\n") ||
		!strings.Contains(out, "failures in a row (password): 5 of 100\n") {
		t.Fatalf("show after 5 failures (%v):\n%s", err, out)
	}
}

// TestPortalUnlock (issue 11 item 2): `guidedfix portal unlock EMAIL`
// clears the counts and throttles and is audited with the operator;
// an address with nothing to unlock is an error.
func TestPortalUnlock(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	if out, err := runCLI(t, "a-long-password\n", "portal", "add-account", "--data-dir", dir,
		"--email", "unl@example.com", "--phone", "+60123456789", "--2fa", "sms"); err != nil {
		t.Fatalf("add-account: %v\n%s", err, out)
	}
	core, acc := openAccount(t, dir, "unl@example.com")
	for range 5 {
		_, _ = core.VerifyPassword(context.Background(), acc.ID, "not the password")
	}
	if _, err := core.VerifyPassword(context.Background(), acc.ID, "a-long-password"); !errors.Is(err, portal.ErrLocked) {
		t.Fatalf("right password while throttled: %v", err)
	}
	core.Close()
	out, err := runCLI(t, "", "portal", "unlock", "--data-dir", dir, "--operator", "ops-anna", "unl@example.com")
	if err != nil || out != "unlocked unl@example.com ("+acc.ID+")\n" {
		t.Fatalf("unlock (%v): %q", err, out)
	}
	core, _ = openAccount(t, dir, "unl@example.com")
	if _, err := core.VerifyPassword(context.Background(), acc.ID, "a-long-password"); err != nil {
		t.Fatalf("right password after unlock: %v", err)
	}
	log, _ := core.AuditLog(context.Background(), acc.ID, 20)
	if len(log) == 0 || log[0].Action != "unlocked" || log[0].Detail != "by ops-anna; cleared password 5; 5 recent failures; 1 source throttle" {
		t.Fatalf("audit %+v, want the unlock by ops-anna first", log)
	}
	core.Close()
	if _, err := runCLI(t, "", "portal", "unlock", "--data-dir", dir, "never@example.com"); err == nil || !strings.Contains(err.Error(), "nothing to unlock") {
		t.Fatalf("unlock of an unknown, untried address: %v", err)
	}
}

// TestAuditShowsFactorChanges: after a demo run, `guidedfix audit` shows
// the core's factor changes among the conversation's steps, newest first.
func TestAuditShowsFactorChanges(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	t.Setenv("GUIDEDFIX_FLOW__ORDER", "disable-then-enroll")
	runDemoAsUser(t, dir, demoOptions{}, &demoUser{t: t})
	out, err := runCLI(t, "", "audit", "--data-dir", dir, "demo@example.com")
	if err != nil {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	activated := strings.Index(out, "totp_activated   none -> totp")
	disabled := strings.Index(out, "2fa_disabled     sms -> none")
	if activated < 0 || disabled < 0 || activated > disabled {
		t.Fatalf("audit lacks the factor changes, newest first:\n%s", out)
	}
	if !strings.Contains(out, "portal:-") {
		t.Fatalf("factor changes not attributed to the portal:\n%s", out)
	}
	out, err = runCLI(t, "", "audit", "--data-dir", dir, "--limit", "2", "demo@example.com")
	if n := strings.Count(out, "\n"); err != nil || n != 2 || !strings.Contains(out, "Completed") {
		t.Fatalf("--limit 2: %d lines, %v:\n%s", n, err, out)
	}
	if out, err := runCLI(t, "", "audit", "--data-dir", dir, "--limit", "0", "demo@example.com"); err == nil || !strings.Contains(err.Error(), "--limit must be 1 or more") {
		t.Fatalf("--limit 0: %v\n%s", err, out)
	}
}
