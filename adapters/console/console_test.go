package console

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"guidedfix/bot"
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

// TestFailedTurnKeepsReading: a turn that failed after the engine had
// answered "please try again" (bot.ErrTurnFailed) does not end the
// console: the next line still reaches the engine, and the input's end
// ends Run without an error. Any other error still ends Run with it.
func TestFailedTurnKeepsReading(t *testing.T) {
	var out bytes.Buffer
	c := New(Options{In: strings.NewReader("first\nsecond\n"), Out: &out})
	var texts []string
	handle := func(ctx context.Context, ev bot.Event) error {
		if ev.Kind == bot.KindText {
			texts = append(texts, ev.Text)
			if ev.Text == "first" {
				return fmt.Errorf("%w: portal unreachable", bot.ErrTurnFailed)
			}
		}
		return nil
	}
	noSession := func(context.Context) (*bot.Session, error) { return nil, bot.ErrNoSession }
	if err := c.Run(context.Background(), handle, noSession); err != nil {
		t.Fatalf("Run = %v, want nil at the input's end", err)
	}
	if strings.Join(texts, ",") != "first,second" {
		t.Fatalf("texts handled %q, want first,second", texts)
	}
	other := errors.New("store closed")
	c = New(Options{In: strings.NewReader("first\nsecond\n"), Out: &out})
	texts = nil
	handle2 := func(ctx context.Context, ev bot.Event) error {
		if ev.Kind == bot.KindText {
			texts = append(texts, ev.Text)
			return other
		}
		return nil
	}
	if err := c.Run(context.Background(), handle2, noSession); !errors.Is(err, other) || len(texts) != 1 {
		t.Fatalf("Run = %v after %q, want %v after the first line", err, texts, other)
	}
}

// TestPrintable: control characters and bidirectional formatting
// characters become U+FFFD; tabs and other text stay.
func TestPrintable(t *testing.T) {
	for in, want := range map[string]string{
		"Eve\x1b[31mRED\x07": "Eve\uFFFD[31mRED\uFFFD",
		"ab \u202egnp.exe":   "ab \uFFFDgnp.exe",
		"a\tb\u0085c":        "a\tb\uFFFDc",
		"Siti Nurhaliza":     "Siti Nurhaliza",
	} {
		if got := Printable(in); got != want {
			t.Errorf("Printable(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPinnedEmailOnEveryStart: Options.Email rides on the first start
// event and on a typed /start, and on nothing else (the demo's --email).
func TestPinnedEmailOnEveryStart(t *testing.T) {
	var out bytes.Buffer
	c := New(Options{In: strings.NewReader("hello\n/start\n"), Out: &out, Email: "ana@example.com"})
	var got []string
	handle := func(ctx context.Context, ev bot.Event) error {
		got = append(got, fmt.Sprintf("%s:%s:%v", ev.Kind, ev.Email, ev.EmailPinned))
		return nil
	}
	noSession := func(context.Context) (*bot.Session, error) { return nil, bot.ErrNoSession }
	if err := c.Run(context.Background(), handle, noSession); err != nil {
		t.Fatal(err)
	}
	want := "start:ana@example.com:true,text::false,start:ana@example.com:true"
	if s := strings.Join(got, ","); !strings.HasPrefix(s, want) {
		t.Fatalf("events %q, want them to begin %q", s, want)
	}
}
