// Package console is the terminal adapter: it reads the user's lines from
// an io.Reader and prints the engine's replies to an io.Writer. Buttons show
// as "[1] Label"; the user types the label (any case) or its number. Secret
// prompts are read without echo when the input is a terminal, and one line
// at a time from a pipe, so the demo can be scripted.
package console

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"unicode"

	"golang.org/x/term"

	"guidedfix/bot"
	"guidedfix/internal/qr"
)

// Channel is the adapter's channel name in sessions and update ids.
const Channel = "console"

// Options configure a Console.
type Options struct {
	// In is where the user's lines come from (os.Stdin in the demo).
	In io.Reader
	// Out is where replies are printed (os.Stdout in the demo).
	Out io.Writer
	// QRDir is where QR code PNGs are written (DATA/outbox/qr); each is
	// deleted when the flow deletes the QR message.
	QRDir string
	// UserID names the local user; default "local".
	UserID string
	// Locale is the user's language tag; default "en".
	Locale string
	// Light draws QR codes for a terminal with a light background (dark
	// text); the default suits dark backgrounds.
	Light bool
	// Email, if set, is the account e-mail the terminal vouches for: every
	// start event carries it pinned (bot.Event.Email, EmailPinned), so the
	// flow uses that account only and asks just its password (the demo's
	// --email with a remote portal).
	Email string
	// Commands are the engine's commands (bot.Engine.Commands): typed as
	// "/word" they are commands at every step, also while a secret is
	// expected; default "start", "cancel", "help" and "language".
	Commands []string
	// Text renders the console's own notes (MsgIdleHint and the other
	// Msg* ids) with the console's platform words: the engine's Text
	// (bot.Engine.Text) once the console's Messages are loaded into its
	// catalog. Nil renders them from the console's own catalog.
	Text TextFunc
}

// Console is the terminal adapter. Deliver is safe for concurrent use (the
// engine's sweeper may deliver while Run reads).
type Console struct {
	opts    Options
	in      *bufio.Reader
	fd      int
	tty     bool
	mu      sync.Mutex
	buttons []bot.Button
	n       int
	conv    bot.Conversation
	cmds    map[string]bool // Options.Commands
	// echoHeld restores the terminal's echo that a hidden read left off
	// (echo_guard.go); nil while echo is on.
	echoHeld func()
	// locMu guards locale, the locale of the console's notes (the last
	// session's; see Note).
	locMu  sync.Mutex
	locale string
	// codes holds the ids of the messages printed with copyable code
	// (Reply.Code: a manual key), whose deletion is told to the user.
	codes map[string]bool
}

var _ bot.Deliverer = (*Console)(nil)

// New returns a console adapter for opts.
func New(opts Options) *Console {
	if opts.UserID == "" {
		opts.UserID = "local"
	}
	if opts.Locale == "" {
		opts.Locale = "en"
	}
	if len(opts.Commands) == 0 {
		opts.Commands = []string{"start", "cancel", "help", bot.CommandLanguage}
	}
	c := &Console{opts: opts, in: bufio.NewReader(opts.In), conv: bot.Conversation{Channel: Channel, ID: opts.UserID}, cmds: map[string]bool{}}
	for _, n := range opts.Commands {
		c.cmds[strings.ToLower(n)] = true
	}
	if f, ok := opts.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		c.fd, c.tty = int(f.Fd()), true
	}
	return c
}

// Conversation returns the console's one conversation.
func (c *Console) Conversation() bot.Conversation { return c.conv }

// Deliver prints r. Images are written as PNG files under QRDir and drawn
// as text; deleting one removes the file. It returns the message id: the
// PNG path for images, "m<n>" otherwise.
func (c *Console) Deliver(ctx context.Context, to bot.Conversation, r bot.Reply) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	w := c.opts.Out
	switch r.Op {
	case bot.OpDelete:
		if strings.HasSuffix(r.MessageID, ".png") {
			if err := os.Remove(r.MessageID); err != nil && !errors.Is(err, os.ErrNotExist) {
				return "", err
			}
			fmt.Fprintln(w, "          "+c.Note(MsgQRRemoved, nil))
		} else if c.codes[r.MessageID] {
			delete(c.codes, r.MessageID)
			fmt.Fprintln(w, "          "+c.Note(MsgKeyRemoved, nil))
		}
		return "", nil
	case bot.OpEdit:
		fmt.Fprintf(w, "guidedfix › %s\n", r.Text)
		c.printButtons(r.Buttons)
		return r.MessageID, nil
	}
	c.n++
	id := "m" + strconv.Itoa(c.n)
	if len(r.Image) > 0 {
		if err := os.MkdirAll(c.opts.QRDir, 0o700); err != nil {
			return "", err
		}
		f, err := os.CreateTemp(c.opts.QRDir, "qr-*.png")
		if err != nil {
			return "", err
		}
		_, werr := f.Write(r.Image)
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return "", werr
		}
		id = f.Name()
		if r.QR != "" {
			if art, err := qr.Terminal(r.QR, c.opts.Light); err == nil {
				fmt.Fprintln(w, art)
			}
		}
		fmt.Fprintf(w, "guidedfix › %s\n          (QR code image: %s)\n", r.Text, id)
	} else {
		fmt.Fprintf(w, "guidedfix › %s\n", r.Text)
		if len(r.Code) > 0 {
			if c.codes == nil {
				c.codes = map[string]bool{}
			}
			c.codes[id] = true
		}
	}
	c.printButtons(r.Buttons)
	return id, nil
}

func (c *Console) printButtons(bs []bot.Button) {
	if len(bs) == 0 {
		return
	}
	c.buttons = bs
	parts := make([]string, len(bs))
	for i, b := range bs {
		parts[i] = fmt.Sprintf("[%d] %s", i+1, b.Label)
	}
	fmt.Fprintf(c.opts.Out, "          %s\n", strings.Join(parts, "   "))
}

// Run starts the default flow and then feeds the user's lines to handle
// until the input ends or ctx is cancelled (Ctrl-C, SIGTERM); a finished
// guided change does not end it, so "/start" begins another. session
// reports the conversation's session, so a line is read without echo
// when a secret is expected. Update ids carry a random run id, so lines of
// an earlier run are never taken for duplicates. It returns nil at the end
// of input or on cancellation, after sending /cancel to a guided change
// that has not ended (so SMS 2FA is back on and the QR image deleted), and
// restores the terminal it changed.
func (c *Console) Run(ctx context.Context, handle func(context.Context, bot.Event) error, session func(context.Context) (*bot.Session, error)) error {
	if c.tty {
		if st, err := term.GetState(c.fd); err == nil {
			defer term.Restore(c.fd, st)
		}
	}
	runID := make([]byte, 6)
	_, _ = rand.Read(runID)
	prefix := "c" + hex.EncodeToString(runID) + "-"
	seq := 0
	next := func() string { seq++; return prefix + strconv.Itoa(seq) }
	if err := handle(ctx, bot.Event{Conversation: c.conv, UserID: c.opts.UserID, UpdateID: next(), Kind: bot.KindStart, Locale: c.opts.Locale, Email: c.opts.Email, EmailPinned: c.opts.Email != ""}); err != nil {
		return err
	}
	requests, results := make(chan bool), make(chan readResult)
	go func() {
		for secret := range requests {
			line, err := c.readLine(secret)
			results <- readResult{line, err}
		}
	}()
	defer close(requests)
	// At the end of input or on cancellation (Ctrl-D, Ctrl-C, a closed
	// pipe) an unfinished guided change is cancelled, so that no account
	// is left with SMS 2FA off and no QR code image stays on disk.
	defer c.cancelUnfinished(context.WithoutCancel(ctx), handle, session, next)
	hinted := false
	for {
		s, err := session(ctx)
		if err != nil && !errors.Is(err, bot.ErrNoSession) {
			return err
		}
		expect := bot.SecretNone
		if s != nil {
			c.setLocale(s.Locale)
		}
		if s != nil && !s.Done {
			expect = s.Expect
			hinted = false
		} else if !hinted {
			hinted = true
			c.mu.Lock()
			fmt.Fprintln(c.opts.Out, "          "+c.Note(MsgIdleHint, nil))
			c.mu.Unlock()
		}
		select {
		case requests <- expect != bot.SecretNone:
		case <-ctx.Done():
			return nil
		}
		var r readResult
		select {
		case r = <-results:
		case <-ctx.Done():
			return nil
		}
		if r.err != nil {
			if errors.Is(r.err, io.EOF) {
				return nil
			}
			return r.err
		}
		ev := c.event(r.line, expect)
		ev.UpdateID = next()
		// A failed turn was answered "please try again" and changed
		// nothing: the person may try again, so reading goes on.
		if err := handle(ctx, ev); err != nil && !errors.Is(err, bot.ErrPanic) && !errors.Is(err, bot.ErrTurnFailed) {
			return err
		}
	}
}

// cancelUnfinished sends /cancel when the conversation's guided change has
// not ended, and says why.
func (c *Console) cancelUnfinished(ctx context.Context, handle func(context.Context, bot.Event) error, session func(context.Context) (*bot.Session, error), next func() string) {
	s, err := session(ctx)
	if err != nil || s == nil || s.Done {
		return
	}
	c.setLocale(s.Locale)
	c.mu.Lock()
	fmt.Fprintln(c.opts.Out, "\n          "+c.Note(MsgInputEnded, nil))
	c.mu.Unlock()
	_ = handle(ctx, bot.Event{Conversation: c.conv, UserID: c.opts.UserID, UpdateID: next(), Kind: bot.KindCommand, Command: "cancel", Locale: c.opts.Locale})
}

type readResult struct {
	line string
	err  error
}

// event turns one typed line into an event: a command, a button press (by
// label or number), a secret answer, or text. A secret keeps its spaces.
func (c *Console) event(line string, expect bot.SecretField) bot.Event {
	ev := bot.Event{Conversation: c.conv, UserID: c.opts.UserID, Locale: c.opts.Locale}
	trimmed := strings.TrimSpace(line)
	if name, arg, ok := command(trimmed); ok && (expect == bot.SecretNone || c.cmds[name]) {
		if name == "start" {
			ev.Kind, ev.Data, ev.Email, ev.EmailPinned = bot.KindStart, arg, c.opts.Email, c.opts.Email != ""
		} else {
			ev.Kind, ev.Command, ev.Text = bot.KindCommand, name, arg
		}
		return ev
	}
	c.mu.Lock()
	buttons := c.buttons
	c.mu.Unlock()
	for i, b := range buttons {
		// A button's number is never a secret: passwords have 8 or more
		// characters and codes 6 digits.
		if strings.EqualFold(trimmed, b.Label) || trimmed == strconv.Itoa(i+1) {
			ev.Kind, ev.Data = bot.KindButton, b.Data
			return ev
		}
	}
	if expect != bot.SecretNone {
		ev.Kind, ev.Secret = bot.KindSecret, bot.Secret(line)
		return ev
	}
	ev.Kind, ev.Text = bot.KindText, trimmed
	return ev
}

// command splits "/name arg" into the lower-cased name and the argument.
func command(line string) (name, arg string, ok bool) {
	if !strings.HasPrefix(line, "/") {
		return "", "", false
	}
	name, arg, _ = strings.Cut(strings.TrimPrefix(line, "/"), " ")
	return strings.ToLower(name), strings.TrimSpace(arg), name != ""
}

// readLine reads one line without its line ending; secret lines are read
// without echo on a terminal. The end of input (Ctrl-D) returns io.EOF at
// every prompt, hidden ones too.
func (c *Console) readLine(secret bool) (string, error) {
	prompt := func() {
		c.mu.Lock()
		fmt.Fprint(c.opts.Out, "you › ")
		c.mu.Unlock()
	}
	if c.tty && (secret || c.echoHeld != nil) {
		return c.readHidden(secret, prompt)
	}
	prompt()
	line, err := c.in.ReadString('\n')
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", err
	}
	line = strings.TrimRight(line, "\r\n")
	if c.tty {
		c.maskEchoed(line)
	}
	if !c.tty {
		// Echo piped input so a transcript reads like a conversation; a
		// secret, or what looks like a password or code at another prompt,
		// shows as dots, a command in clear; control characters (escape
		// sequences that would drive the terminal) as "�".
		shown := Printable(line)
		if name, _, ok := command(strings.TrimSpace(line)); (secret || bot.LooksSecret(line, false)) && !(ok && c.cmds[name]) {
			shown = "••••••"
		}
		c.mu.Lock()
		fmt.Fprintln(c.opts.Out, shown)
		c.mu.Unlock()
	}
	return line, nil
}

// Printable returns s with its control characters (C0 but tab, DEL, C1:
// escape sequences that would drive the terminal) and its bidirectional
// formatting characters (U+202A–U+202E, U+2066–U+2069, …, which reorder
// how a terminal shows the line) replaced by U+FFFD, for text from a
// person or a store shown on a terminal (Unicode TR #36 §3.2).
func Printable(s string) string {
	return strings.Map(func(r rune) rune {
		if (unicode.IsControl(r) && r != '\t') || unicode.Is(unicode.Bidi_Control, r) {
			return unicode.ReplacementChar
		}
		return r
	}, s)
}

// QRDir returns the default QR directory under dataDir: DATA/outbox/qr.
func QRDir(dataDir string) string { return filepath.Join(dataDir, "outbox", "qr") }
