package console

import (
	"bytes"
	"strings"
	"testing"
)

// TestPipedEchoIsSafe: piped input is echoed without the control
// characters that would drive the terminal, and what looks like a password
// or code is shown as dots even at a prompt that is not a secret one.
func TestPipedEchoIsSafe(t *testing.T) {
	var out bytes.Buffer
	c := New(Options{In: strings.NewReader("x\x1b]0;pwned\x07 y\x08z\n609 900\nhello there\n/help\nS3cret-passw0rd\nab \u202egnp.exe\n"), Out: &out})
	for range 6 {
		if _, err := c.readLine(false); err != nil {
			t.Fatal(err)
		}
	}
	want := "you › x\uFFFD]0;pwned\uFFFD y\uFFFDz\n" +
		"you › ••••••\n" +
		"you › hello there\n" +
		"you › /help\n" +
		"you › ••••••\n" +
		"you › ab \uFFFDgnp.exe\n"
	if got := out.String(); got != want {
		t.Fatalf("echo\n%q\nwant\n%q", got, want)
	}
}

// TestSecretLineReadAsTyped: the echo is masked, the line itself is not
// changed (the flow gets the password as typed).
func TestSecretLineReadAsTyped(t *testing.T) {
	var out bytes.Buffer
	c := New(Options{In: strings.NewReader("  pass word \r\n"), Out: &out})
	line, err := c.readLine(true)
	if err != nil || line != "  pass word " {
		t.Fatalf("line %q, %v", line, err)
	}
	if out.String() != "you › ••••••\n" {
		t.Fatalf("echo %q", out.String())
	}
}
