package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"

	"github.com/spf13/cobra"

	"guidedfix/adapters/console"
	"guidedfix/bot"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
)

// Demo account defaults: an SMS-2FA account created on the first run.
const (
	demoEmail = "demo@example.com"
	demoPhone = "+60123456789"
	demoName  = "Demo Customer"
)

func newDemoCmd(g *globalFlags) *cobra.Command {
	var reset, light bool
	var portalURL, email string
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the SMS → authenticator app change in the terminal on the embedded portal core",
		Long: "demo runs the guided change in this terminal. On the first run in a data\n" +
			"directory it creates the demo account " + demoEmail + " with SMS 2FA and prints\n" +
			"its generated password. SMS codes appear as the phone would show them; the\n" +
			"QR code is drawn in the terminal and written under DATA/outbox/qr. It reads\n" +
			"one answer per line, so it can also be driven through a pipe.\n\n" +
			"With --portal-url (portal.url) it runs against a remote portal instead, e.g.\n" +
			"`guidedfix portal serve` in another terminal, with the token portal.token:\n" +
			"then --email names an account of that portal; the conversation uses it (no\n" +
			"e-mail is asked), its password is typed, and SMS codes arrive where that\n" +
			"portal sends them.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runDemo(cmd.Context(), g, cmd.InOrStdin(), cmd.OutOrStdout(), demoOptions{reset: reset, light: light, portalURL: portalURL, email: email})
		},
	}
	cmd.Flags().BoolVar(&reset, "reset", false, "give the demo account SMS 2FA and a new password again")
	cmd.Flags().BoolVar(&light, "light", false, "draw the QR code for a light-background terminal")
	cmd.Flags().StringVar(&portalURL, "portal-url", "", "use the remote portal at this URL (portal.url) with the service token portal.token")
	cmd.Flags().StringVar(&email, "email", "", "with a remote portal: the e-mail of an existing account of it")
	return cmd
}

// demoOptions are the demo's flags.
type demoOptions struct {
	reset bool // give the demo account SMS 2FA and a new password
	light bool // QR code for light-background terminals
	// portalURL overrides portal.url; email names the remote account.
	portalURL, email string
}

// runDemo wires the console adapter to a fresh engine and runs one guided
// change. Logs go to DATA/guidedfix.log so the terminal shows only the
// conversation.
func runDemo(ctx context.Context, g *globalFlags, in io.Reader, out io.Writer, o demoOptions) error {
	_, dir, err := loadConfig(g)
	if err != nil {
		return err
	}
	logf, err := os.OpenFile(filepath.Join(dir, "guidedfix.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer logf.Close()
	var outMu sync.Mutex
	a, err := openApp(ctx, g, openOptions{
		engine: true,
		logOut: logf,
		sms: func(outbox portal.SMSSender) portal.SMSSender {
			return phone{next: outbox, out: out, mu: &outMu}
		},
		portalURL: o.portalURL,
	})
	if err != nil {
		return err
	}
	defer a.Close()
	if a.core == nil {
		if err := checkRemoteAccount(ctx, a, out, o); err != nil {
			return err
		}
	} else if err := ensureDemoAccount(ctx, a.core, out, o.reset); err != nil {
		return err
	}
	co := console.Options{In: in, Out: out, QRDir: console.QRDir(dir), Light: o.light, Commands: a.engine.Commands(),
		Text: a.engine.Text}
	if a.core == nil {
		co.Email = o.email // pinned: the flow asks only the password
	}
	con := console.New(co)
	fsys, paths := con.Messages() // the console's platform words
	if err := a.engine.Catalog().Load(fsys, paths...); err != nil {
		return err
	}
	a.engine.Register(console.Channel, con)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { _ = a.engine.Run(ctx, a.cfg.Flow.SweepInterval) }()
	if a.core != nil { // a remote portal retries its own mail
		go func() { _ = a.core.RunMailRetry(ctx, mailRetryInterval) }()
	}
	err = con.Run(ctx, a.engine.Handle, func(ctx context.Context) (*bot.Session, error) {
		return a.engine.Session(ctx, con.Conversation())
	})
	if a.core == nil {
		fmt.Fprintf(out, "\n%s\n", con.Note(console.MsgDemoRemote, map[string]any{"Portal": a.cfg.Portal.URL, "Log": logf.Name()}))
	} else {
		fmt.Fprintf(out, "\n%s\n", con.Note(console.MsgDemoOutbox, map[string]any{
			"Mail": filepath.Join(dir, "outbox", "mail"), "SMS": filepath.Join(dir, "outbox", "sms"), "Log": logf.Name()}))
	}
	if errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// ensureDemoAccount creates the demo account on the first run (or resets
// it) and prints its credentials; the password exists only on screen.
func ensureDemoAccount(ctx context.Context, core *embedded.Core, out io.Writer, reset bool) error {
	acc, err := core.LookupAccount(ctx, demoEmail)
	exists := err == nil
	if err != nil && !errors.Is(err, portal.ErrNotFound) {
		return err
	}
	if exists && !reset {
		fmt.Fprintf(out, "Demo account: %s (2FA: %s). Its password was printed on the first run; run `guidedfix demo --reset` for a new one.\n\n", acc.Email, acc.Method)
		return nil
	}
	pw := demoPassword()
	na := embedded.NewAccount{Email: demoEmail, Name: demoName, Phone: demoPhone, Method: portal.MethodSMS, Password: pw}
	if exists {
		_, err = core.ResetAccount(ctx, na)
	} else {
		_, err = core.AddAccount(ctx, na)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "Demo account ready — e-mail: %s   password: %s   2FA: SMS to %s\n(Keep the password: it is shown only now.)\n\n",
		demoEmail, pw, embedded.MaskPhone(demoPhone))
	return nil
}

// demoPassword returns a random 16-character password (80 bits, base32
// letters and digits) from crypto/rand.
func demoPassword() string { return rand.Text()[:16] }

// phone is the demo's SMS sender: it keeps the file outbox and shows each
// message as the phone would.
type phone struct {
	next portal.SMSSender
	out  io.Writer
	mu   *sync.Mutex
}

func (p phone) SendSMS(ctx context.Context, number, text string) error {
	if err := p.next.SendSMS(ctx, number, text); err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.out, "\n  ┌─ 📱 SMS to %s\n  │ %s\n  └─\n\n", embedded.MaskPhone(number), text)
	return nil
}
