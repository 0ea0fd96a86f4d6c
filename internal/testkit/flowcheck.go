package testkit

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/flowgraph"
)

// This file holds the checks and walk helpers every flow package's tests
// share: the state diagram against the transition table, the descriptor's
// staff names against the catalog, core faults on purpose and crashes at a
// checkpoint.

// CheckMermaid fails t when the file at path (a flow's state.mermaid) is
// not, byte for byte, what g writes in the "mermaid" format
// (flowgraph.Graph.Write); regen is the shell command that regenerates
// the file, named in the failure. A read or write error fails t at once.
func CheckMermaid(t testing.TB, path string, g flowgraph.Graph, regen string) {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := g.Write(&want, "mermaid"); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(raw, want.Bytes()) {
		t.Fatalf("%s differs from the table; regenerate it with `%s`", path, regen)
	}
}

// CheckDescriptorCatalog checks d, the descriptor of f (bot.Describe), against
// f's own catalog files (f must be a bot.MessageSource) and its states
// (every state of the transition table, as a map from a state to its
// successors): d names exactly len(states) states, each name is a message
// id of the catalog whose Malay text differs from the English, and the
// catalog has d's title and its first command's description and label.
// Each mismatch is reported with t.Errorf; a flow without catalog files,
// one whose files do not load, or a descriptor without a command fails t
// at once.
func CheckDescriptorCatalog(t testing.TB, f bot.Flow, d bot.Descriptor, states map[bot.State][]bot.State) {
	t.Helper()
	ms, ok := f.(bot.MessageSource)
	if !ok {
		t.Fatalf("flow %s brings no catalog files", f.Name())
	}
	if len(d.Commands) == 0 {
		t.Fatalf("flow %s: descriptor has no command", f.Name())
	}
	cat := bot.NewCatalog()
	fsys, paths := ms.Messages()
	if err := cat.Load(fsys, paths...); err != nil {
		t.Fatal(err)
	}
	if len(d.States) != len(states) {
		t.Errorf("%d state names for %d states", len(d.States), len(states))
	}
	for s := range states {
		id := d.StateName(s)
		if id == "" || !cat.Has(id) {
			t.Errorf("state %s: name id %q not in the catalog", s, id)
		}
		if en, ms := cat.Text("en", id, nil), cat.Text("ms", id, nil); en == ms {
			t.Errorf("state %s: the Malay name equals the English %q", s, en)
		}
	}
	for _, id := range []string{d.Title, d.Commands[0].Description, d.Commands[0].Label} {
		if !cat.Has(id) {
			t.Errorf("catalog lacks %q", id)
		}
	}
}

// Faults makes chosen operations of a test's core wrapper fail once: a
// wrapper method calls Take with its operation's name first and returns
// the error when it is not nil. The zero value fails nothing; it is safe
// for concurrent use.
type Faults struct {
	mu   sync.Mutex
	next map[string]error
}

// FailNext makes the next Take(op) return err (nil clears it).
func (f *Faults) FailNext(op string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.next == nil {
		f.next = map[string]error{}
	}
	f.next[op] = err
}

// Take returns the error FailNext set for op, once, and nil otherwise.
func (f *Faults) Take(op string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := f.next[op]
	delete(f.next, op)
	return err
}

// Crash "kills" an engine at a checkpoint: set its Hook as the engine's
// bot.Options.Hook; after Arm, the next bot.HookCheckpoint panics (the
// engine returns bot.ErrPanic and leaves the session in the state that
// checkpointed), once. The zero value is disarmed; it is safe for
// concurrent use.
type Crash struct {
	mu    sync.Mutex
	armed bool
}

// Hook is the engine hook: it panics at a checkpoint when armed, and
// disarms.
func (c *Crash) Hook(p bot.Hook, _ *bot.Session) {
	c.mu.Lock()
	crash := p == bot.HookCheckpoint && c.armed
	if crash {
		c.armed = false
	}
	c.mu.Unlock()
	if crash {
		panic("killed at the checkpoint")
	}
}

// Arm makes the next checkpoint crash.
func (c *Crash) Arm() {
	c.mu.Lock()
	c.armed = true
	c.mu.Unlock()
}

// Fired disarms c and reports whether the crash Arm asked for happened
// (false when no checkpoint was reached since).
func (c *Crash) Fired() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	armed := c.armed
	c.armed = false
	return !armed
}

// NewestButton returns the press (a bot.KindButton event) of the newest
// button among replies whose data is action followed by "|", and false
// when none offers one.
func NewestButton(replies []bot.Reply, action string) (bot.Event, bool) {
	for i := len(replies) - 1; i >= 0; i-- {
		for _, b := range replies[i].Buttons {
			if strings.HasPrefix(b.Data, action+"|") {
				return bot.Event{Kind: bot.KindButton, Data: b.Data}, true
			}
		}
	}
	return bot.Event{}, false
}
