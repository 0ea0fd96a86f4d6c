package main

import (
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/creack/pty"
)

// ptyDemo is the built `guidedfix demo` running on a real pseudo-terminal
// for one test: its output arrives in chunks as the terminal gives it, and
// all of it is kept in transcript.
type ptyDemo struct {
	t          *testing.T
	cmd        *exec.Cmd
	tty        *os.File
	chunks     chan string // closed once the terminal reads EIO (the demo exited)
	exited     chan error  // cmd.Wait's result
	transcript strings.Builder
}

// startPTYDemo starts bin demo on a new pseudo-terminal with the test
// process's environment plus env ("KEY=value" entries); a failure to
// start fails t. The terminal is closed when t ends.
func startPTYDemo(t *testing.T, bin string, env ...string) *ptyDemo {
	t.Helper()
	d := &ptyDemo{t: t, cmd: exec.Command(bin, "demo"), chunks: make(chan string), exited: make(chan error, 1)}
	d.cmd.Env = append(os.Environ(), env...)
	tty, err := pty.Start(d.cmd)
	if err != nil {
		t.Fatal(err)
	}
	d.tty = tty
	t.Cleanup(func() { tty.Close() })
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := tty.Read(buf)
			if n > 0 {
				d.chunks <- string(buf[:n])
			}
			if err != nil { // EIO once the demo has exited
				close(d.chunks)
				return
			}
		}
	}()
	go func() { d.exited <- d.cmd.Wait() }()
	return d
}

// converse reads the demo's output until it ends. Each time the output so
// far ends in the console's visible prompt ("you ›"), answer gets the
// screen (the output since the last answer that typed something) and
// returns the bytes to type; nil types nothing and keeps the screen. When
// the output has not ended after a minute, the demo is killed and t fails
// with stuck() (extra words, may be "") and the transcript.
func (d *ptyDemo) converse(answer func(screen string) []byte, stuck func() string) {
	d.t.Helper()
	var screen strings.Builder
	deadline := time.After(time.Minute)
	for {
		select {
		case c, ok := <-d.chunks:
			if !ok {
				return
			}
			d.transcript.WriteString(c)
			screen.WriteString(c)
		case <-deadline:
			_ = d.cmd.Process.Kill()
			d.t.Fatalf("the demo did not end%s:\n%s", stuck(), d.transcript.String())
		}
		s := screen.String()
		if !strings.HasSuffix(strings.TrimRight(s, " "), "you ›") {
			continue
		}
		b := answer(s)
		if b == nil {
			continue
		}
		screen.Reset()
		if _, err := d.tty.Write(b); err != nil {
			d.t.Fatal(err)
		}
	}
}

// wait fails t unless the demo exits with status 0 within a minute (then
// it is killed).
func (d *ptyDemo) wait() {
	d.t.Helper()
	select {
	case err := <-d.exited:
		if err != nil {
			d.t.Fatalf("demo exited with %v:\n%s", err, d.transcript.String())
		}
	case <-time.After(time.Minute):
		_ = d.cmd.Process.Kill()
		d.t.Fatalf("the demo did not exit:\n%s", d.transcript.String())
	}
}
