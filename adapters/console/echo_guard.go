package console

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/term"
	"golang.org/x/text/width"

	"guidedfix/bot"
)

// What the terminal shows of typed lines (issue 14): a password or code
// must not stay on the screen, also where the prompt was a visible one.
//
//   - A hidden prompt turns echo off before its prompt shows and leaves it
//     off after the line is read, until the next prompt: what the person
//     types ahead while the turn runs (argon2 takes a moment) is not
//     echoed. When the turn ended the change (a lockout after the last
//     wrong password) the next prompt is a visible one; the person,
//     typing ahead, may well be typing the password again. That one line
//     is read without echo too and then shown: in clear when it looks
//     like neither a password nor a code, as "••••••" otherwise.
//   - At a visible prompt the terminal echoes as the person types (they
//     see the e-mail they type); a line that looks like a password or a
//     code (bot.LooksSecret), not a command, is erased from the screen
//     once read and shown as "••••••", as the piped transcript does.

// maskedText replaces a secret-looking line on the screen.
const maskedText = "••••••"

// promptText is what readLine prints before a line.
const promptText = "you › "

// shownLine is what the console shows for line read without echo at a
// visible prompt: the printable text, or maskedText when it looks like a
// password or code and is not one of the engine's commands.
func (c *Console) shownLine(line string) string {
	if c.looksTypedSecret(line) {
		return maskedText
	}
	return Printable(line)
}

// looksTypedSecret reports whether line, typed at a visible prompt, may be
// a password or a code (bot.LooksSecret) and is not one of the engine's
// commands (Options.Commands).
func (c *Console) looksTypedSecret(line string) bool {
	if name, _, ok := command(strings.TrimSpace(line)); ok && c.cmds[name] {
		return false
	}
	return bot.LooksSecret(line, false)
}

// readHidden reads one line with the terminal's echo off. For a secret
// prompt echo stays off afterwards (Console.echoHeld) until the next
// prompt; for a visible prompt after a hidden one echo comes back on once
// the line is read, and the line is shown (shownLine). If echo cannot be
// turned off, term.ReadPassword reads the secret instead.
func (c *Console) readHidden(secret bool, prompt func()) (string, error) {
	if c.echoHeld == nil {
		restore, err := echoOff(c.fd)
		if err != nil {
			prompt()
			b, err := term.ReadPassword(c.fd)
			c.mu.Lock()
			fmt.Fprintln(c.opts.Out)
			c.mu.Unlock()
			return string(b), err
		}
		c.echoHeld = restore
	}
	prompt()
	line, err := c.in.ReadString('\n')
	line = strings.TrimRight(line, "\r\n")
	c.mu.Lock()
	if !secret {
		c.echoHeld()
		c.echoHeld = nil
		fmt.Fprint(c.opts.Out, c.shownLine(line))
	}
	fmt.Fprintln(c.opts.Out)
	c.mu.Unlock()
	if err != nil && (line == "" || !errors.Is(err, io.EOF)) {
		return "", err
	}
	return line, nil
}

// maskEchoed erases line, just read at a visible prompt with the
// terminal's echo on, from the screen when it looks like a password or a
// code, and prints the prompt with maskedText in its place: ECMA-48 CUU
// (cursor up as many rows as prompt and line took), CR, ED (erase to the
// end of the screen). It does nothing when the output is not that
// terminal (its escapes would land in a file).
func (c *Console) maskEchoed(line string) {
	if !c.looksTypedSecret(line) {
		return
	}
	out, ok := c.opts.Out.(*os.File)
	if !ok || !term.IsTerminal(int(out.Fd())) {
		return
	}
	cols := 80
	if w, _, err := term.GetSize(int(out.Fd())); err == nil && w > 0 {
		cols = w
	}
	rows := max(1, (columns(promptText+line)+cols-1)/cols)
	c.mu.Lock()
	fmt.Fprintf(c.opts.Out, "\x1b[%dA\r\x1b[J%s%s\n", rows, promptText, maskedText)
	c.mu.Unlock()
}

// columns is how many terminal columns s takes when echoed: 2 for East
// Asian wide and full-width characters (UAX #11) and for a control
// character (echoed as ^X), 1 for the others.
func columns(s string) int {
	n := 0
	for _, r := range s {
		switch k := width.LookupRune(r).Kind(); {
		case r < 0x20 || r == 0x7f:
			n += 2
		case k == width.EastAsianWide || k == width.EastAsianFullwidth:
			n += 2
		default:
			n++
		}
	}
	return n
}
