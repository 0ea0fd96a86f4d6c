package console

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/testkit"
	"guidedfix/internal/testkit/contract"
	"guidedfix/internal/testkit/scriptflow"
)

// TestAdapterContract runs the adapter contract suite on the console:
// the real Run loop reading piped lines (button labels, commands, the
// secret line) and Deliver printing to a buffer and writing the QR image
// file, the engine running scriptflow. Effects are read from what the
// console printed and from the QR directory.
func TestAdapterContract(t *testing.T) {
	contract.Run(t, func(t *testing.T, locale string) contract.Driver { return newConsoleDriver(t, locale) })
}

// newConsoleDriver returns a console for a user of locale on a pipe,
// printing to a buffer, with the engine running scriptflow.
func newConsoleDriver(t *testing.T, locale string) *consoleDriver {
	env := testkit.New(t, testkit.Options{Flows: []bot.Flow{scriptflow.New()}})
	d := &consoleDriver{t: t, env: env, out: &testkit.SafeBuffer{}, qrDir: filepath.Join(t.TempDir(), "qr"),
		turns: make(chan struct{}, 16), res: contract.NewResolver(env.Engine, locale, Channel)}
	pr, pw := io.Pipe()
	d.in = pw
	d.c = New(Options{In: pr, Out: d.out, QRDir: d.qrDir, Locale: locale})
	env.Engine.Register(Channel, tap{d})
	return d
}

// consoleDriver is the contract driver of the console adapter.
type consoleDriver struct {
	t     *testing.T
	env   *testkit.Env
	c     *Console
	in    *io.PipeWriter
	out   *testkit.SafeBuffer
	qrDir string
	res   *contract.Resolver
	turns chan struct{} // one per turn the engine finished

	mu      sync.Mutex
	printed []printed
}

// printed is one Deliver call and what it printed.
type printed struct {
	r   bot.Reply
	id  string
	out string
}

// tap records what the console prints for each reply; the console's
// platform words pass through.
type tap struct{ d *consoleDriver }

var _ bot.WordSource = tap{}

// Wording returns the console's words.
func (p tap) Wording() bot.Wording { return p.d.c.Wording() }

func (p tap) Deliver(ctx context.Context, to bot.Conversation, r bot.Reply) (string, error) {
	before := len(p.d.out.String())
	id, err := p.d.c.Deliver(ctx, to, r)
	p.d.mu.Lock()
	p.d.printed = append(p.d.printed, printed{r: r, id: id, out: p.d.out.String()[before:]})
	p.d.mu.Unlock()
	return id, err
}

func (d *consoleDriver) Env() *testkit.Env              { return d.env }
func (d *consoleDriver) Conversation() bot.Conversation { return d.c.Conversation() }

func (d *consoleDriver) Caps() contract.Caps {
	return contract.Caps{TypedSecret: "read"}
}

// Start runs the console's Run loop, which starts the flow, until the
// test ends: then the input closes and Run must return nil.
func (d *consoleDriver) Start() {
	handle := func(ctx context.Context, ev bot.Event) error {
		err := d.env.Engine.Handle(ctx, ev)
		d.turns <- struct{}{}
		return err
	}
	session := func(ctx context.Context) (*bot.Session, error) {
		return d.env.Engine.Session(ctx, d.c.Conversation())
	}
	done := make(chan error, 1)
	go func() { done <- d.c.Run(context.Background(), handle, session) }()
	d.t.Cleanup(func() {
		d.in.Close()
		select {
		case err := <-done:
			if err != nil {
				d.t.Errorf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			d.t.Error("Run did not return after the input closed")
		}
	})
	d.wait()
}

// wait waits for the engine to finish a turn.
func (d *consoleDriver) wait() {
	d.t.Helper()
	select {
	case <-d.turns:
	case <-time.After(30 * time.Second):
		d.t.Fatal("the console handed no event to the engine")
	}
}

// line types one line and waits for its turn.
func (d *consoleDriver) line(s string) {
	d.t.Helper()
	if _, err := io.WriteString(d.in, s+"\n"); err != nil {
		d.t.Fatal(err)
	}
	d.wait()
}

func (d *consoleDriver) Text(s string)         { d.line(s) }
func (d *consoleDriver) Command(name string)   { d.line("/" + name) }
func (d *consoleDriver) Secret(s string)       { d.line(s) }
func (d *consoleDriver) TypeAtPrompt(s string) { d.line(s) }
func (d *consoleDriver) Unsupported()          { d.t.Fatal("the console has no media") }
func (d *consoleDriver) Redeliver()            { d.t.Fatal("the console never delivers a line twice") }

// Press types the label of the newest button of action, as printed.
func (d *consoleDriver) Press(action string) {
	d.t.Helper()
	d.c.mu.Lock()
	label := ""
	for _, b := range d.c.buttons {
		if strings.HasPrefix(b.Data, action+"|") {
			label = b.Label
		}
	}
	d.c.mu.Unlock()
	if label == "" {
		d.t.Fatalf("no button %q shown", action)
	}
	d.line(label)
}

func (d *consoleDriver) ButtonData(action string) string {
	d.c.mu.Lock()
	defer d.c.mu.Unlock()
	for _, b := range d.c.buttons {
		if strings.HasPrefix(b.Data, action+"|") {
			return b.Data
		}
	}
	return ""
}

// PressData is impossible on the console: a line becomes a button only
// by a label or number of the buttons shown last.
func (d *consoleDriver) PressData(string) { d.t.Skip("the console cannot send button data of its own") }

var (
	textRE   = regexp.MustCompile(`(?m)^guidedfix › (.*)$`)
	buttonRE = regexp.MustCompile(`\[\d+\] ([^\[]*[^\[ ])`)
	imageRE  = regexp.MustCompile(`\(QR code image: (.*)\)`)
)

// Effects reads what the console printed since the last look.
func (d *consoleDriver) Effects() []contract.Effect {
	t := d.t
	t.Helper()
	d.mu.Lock()
	ps := d.printed
	d.printed = nil
	d.mu.Unlock()
	if strings.Contains(d.out.String(), scriptflow.Passphrase) || strings.Contains(d.out.String(), "wrong-passphrase-1234") {
		t.Fatal("the console echoed a secret")
	}
	var out []contract.Effect
	for _, p := range ps {
		switch p.r.Op {
		case bot.OpDelete:
			e := contract.Effect{Kind: contract.Delete, Msgs: []string{p.r.MessageID}}
			if strings.HasSuffix(p.r.MessageID, ".png") {
				if _, err := os.Stat(p.r.MessageID); !os.IsNotExist(err) {
					t.Fatalf("QR image %s not removed: %v", p.r.MessageID, err)
				}
				if !strings.Contains(p.out, "removed") {
					t.Fatalf("QR removal not told: %q", p.out)
				}
			}
			out = append(out, e)
		case bot.OpEdit, bot.OpSend:
			m := textRE.FindStringSubmatch(p.out)
			if m == nil {
				t.Fatalf("%s printed %q", p.r.Op, p.out)
			}
			e := contract.Effect{Kind: contract.Send, Msgs: []string{p.id}, ID: d.res.ID(m[1])}
			if p.r.Op == bot.OpEdit {
				e.Kind, e.Msgs = contract.Edit, []string{p.r.MessageID}
			}
			for _, b := range buttonRE.FindAllStringSubmatch(p.out, -1) {
				id := d.res.ID(b[1])
				if id == "" {
					id = "?" + b[1]
				}
				e.Buttons = append(e.Buttons, id)
			}
			if im := imageRE.FindStringSubmatch(p.out); im != nil {
				if _, err := os.Stat(im[1]); err != nil || im[1] != p.id || filepath.Dir(im[1]) != d.qrDir {
					t.Fatalf("QR image %s (id %s): %v", im[1], p.id, err)
				}
				e.Image = true
			}
			out = append(out, e)
		}
	}
	return out
}

// TestHeadlessFinishesConsoleSession: a console session left at the
// secret prompt (the QR image on disk) is finished by the serve process,
// whose console deliverer is Headless: the sweeper expires it, Headless
// removes the QR image file and prints nothing, and the session ends
// expired.
func TestHeadlessFinishesConsoleSession(t *testing.T) {
	d := newConsoleDriver(t, "en")
	d.Start()
	d.Press(scriptflow.ActionGo)
	d.Press(scriptflow.ActionNext)
	var image string
	for _, e := range d.Effects() {
		if e.Image {
			image = e.Msgs[0]
		}
	}
	if _, err := os.Stat(image); err != nil {
		t.Fatalf("QR image %q: %v", image, err)
	}
	printed := len(d.out.String())
	d.env.Engine.Register(Channel, Headless{QRDir: d.qrDir, Logger: slog.New(slog.NewTextHandler(d.env.Log, nil))})
	d.env.Clock.Advance(15*time.Minute + time.Second)
	if n, err := d.env.Engine.Sweep(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("sweep: %d, %v", n, err)
	}
	if _, err := os.Stat(image); !os.IsNotExist(err) {
		t.Fatalf("QR image still on disk after the expiry: %v", err)
	}
	// (The Run loop may print its own input prompt meanwhile.)
	if out := strings.ReplaceAll(d.out.String()[printed:], "you › ", ""); out != "" {
		t.Fatalf("Headless printed %q", out)
	}
	s, err := d.env.Engine.Session(context.Background(), d.c.Conversation())
	if err != nil || s.State != scriptflow.StateExpired || !s.Done {
		t.Fatalf("session %+v, %v; want done in %s", s, err, scriptflow.StateExpired)
	}
	if _, ok := s.Messages[scriptflow.RefQR]; ok {
		t.Fatalf("the QR ref is left: %v", s.Messages)
	}
}
