package main

import (
	"bytes"
	"context"
	"path/filepath"
	"strings"
	"testing"

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

// TestPortalShowsLock: after 5 wrong passwords `portal show` says the
// account is locked and until when; before, how many failures count.
func TestPortalShowsLock(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("GUIDEDFIX_DATA_DIR", "")
	if out, err := runCLI(t, "a-long-password\n", "portal", "add-account", "--data-dir", dir,
		"--email", "lock@example.com", "--phone", "+60123456789", "--2fa", "sms"); err != nil {
		t.Fatalf("add-account: %v\n%s", err, out)
	}
	wrong := func(n int) {
		core, err := embedded.Open(embedded.Options{Path: filepath.Join(dir, "portal.db"), KeyFile: filepath.Join(dir, "portal.key"),
			Mail: &portaltest.MailRecorder{}, SMS: &portaltest.SMSRecorder{}})
		if err != nil {
			t.Fatal(err)
		}
		defer core.Close()
		acc, err := core.LookupAccount(context.Background(), "lock@example.com")
		if err != nil {
			t.Fatal(err)
		}
		for range n {
			_, _ = core.VerifyPassword(context.Background(), acc.ID, "not the password")
		}
	}
	wrong(2)
	out, err := runCLI(t, "", "portal", "show", "--data-dir", dir, "lock@example.com")
	if err != nil || !strings.Contains(out, "2FA:     sms\n") || !strings.Contains(out, "locked:  no (2 of 5 failures in the last 15 minutes)\n") {
		t.Fatalf("show after 2 failures (%v):\n%s", err, out)
	}
	wrong(3)
	out, err = runCLI(t, "", "portal", "show", "--data-dir", dir, "lock@example.com")
	if err != nil || !strings.Contains(out, "locked:  until ") || !strings.Contains(out, "(too many failed attempts)") {
		t.Fatalf("show after 5 failures (%v):\n%s", err, out)
	}
}
