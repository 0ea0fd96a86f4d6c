package main

import (
	"context"
	"io"
	"regexp"
	"strings"
	"testing"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
)

// TestHandoffCLIPicksFlowByDescriptor: `guidedfix handoff --flow` takes a
// flow's name or start command; the link carries that flow's payload
// prefix; an unknown flow is refused with the list of flows and creates
// nothing.
func TestHandoffCLIPicksFlowByDescriptor(t *testing.T) {
	t.Setenv("GUIDEDFIX_TELEGRAM__BOT_USERNAME", "portal_bot")
	dir := t.TempDir()
	a, err := openApp(context.Background(), &globalFlags{dataDir: dir}, openOptions{logOut: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.core.AddAccount(context.Background(), embedded.NewAccount{Email: "ivy@example.com", Phone: "+60123456789",
		Method: portal.MethodSMS, Password: "correct horse battery"}); err != nil {
		t.Fatal(err)
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	addTOTPAccountAt(t, dir, "ian@example.com") // the new-phone flow needs an app account
	for _, tc := range []struct {
		flag  []string
		email string
		link  string
	}{
		{nil, "ivy@example.com", `\?start=[A-Za-z0-9_-]{43}\n`},
		{[]string{"--flow", "2fa"}, "ivy@example.com", `\?start=[A-Za-z0-9_-]{43}\n`},
		{[]string{"--flow", "newphone"}, "ian@example.com", `\?start=np_[A-Za-z0-9_-]{43}\n`},
		{[]string{"--flow", "/NewPhone"}, "ian@example.com", `\?start=np_[A-Za-z0-9_-]{43}\n`},
	} {
		args := append(append([]string{"--data-dir", dir, "handoff"}, tc.flag...), tc.email)
		out, err := runCLI(t, "", args...)
		if err != nil || !regexp.MustCompile(`https://t\.me/portal_bot`+tc.link).MatchString(out) {
			t.Fatalf("%q: %q, %v", tc.flag, out, err)
		}
	}
	out, err := runCLI(t, "", "--data-dir", dir, "handoff", "--flow", "nosuch", "ivy@example.com")
	if err == nil || !strings.Contains(err.Error(), "totpswitch, newphone") || strings.Contains(out, "t.me") {
		t.Fatalf("unknown flow: %q, %v", out, err)
	}
}
