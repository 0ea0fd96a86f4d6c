package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/termsafe"
)

func newPortalCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "portal",
		Short: "Administer accounts of the embedded portal core",
	}
	cmd.AddCommand(newAddAccountCmd(g), newListCmd(g), newShowCmd(g), newUnlockCmd(g), newPortalServeCmd(g))
	return cmd
}

func newAddAccountCmd(g *globalFlags) *cobra.Command {
	var email, phone, name, method, locale string
	cmd := &cobra.Command{
		Use:   "add-account --email E --phone P [--name N] [--2fa sms|none] [--locale en|ms]",
		Short: "Create an account; the password is read from the terminal (no echo) or from stdin when piped",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			m := portal.Method(method)
			if m != portal.MethodSMS && m != portal.MethodNone {
				return fmt.Errorf("--2fa must be sms or none, not %q", method)
			}
			pw, err := readNewPassword(cmd.InOrStdin(), cmd.ErrOrStderr())
			if err != nil {
				return err
			}
			a, err := openAdmin(cmd, g)
			if err != nil {
				return err
			}
			defer a.Close()
			acc, err := a.core.AddAccount(cmd.Context(), embedded.NewAccount{Email: email, Name: name, Phone: phone, Method: m, Password: pw, Locale: locale})
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created account %s (%s), 2FA: %s\n", termsafe.Field(acc.Email), acc.ID, acc.Method)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "account e-mail (required)")
	cmd.Flags().StringVar(&phone, "phone", "", "SMS phone number in E.164 form, e.g. +60123456789")
	cmd.Flags().StringVar(&name, "name", "", "display name")
	cmd.Flags().StringVar(&method, "2fa", "sms", "second factor: sms or none")
	cmd.Flags().StringVar(&locale, "locale", "", "the account's language for its e-mails: en or ms (default: none yet, English until a chat's language is adopted)")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

func newListCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List accounts (e-mail, name, 2FA method, masked phone)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			a, err := openAdmin(cmd, g)
			if err != nil {
				return err
			}
			defer a.Close()
			accs, err := a.core.ListAccounts(cmd.Context())
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "EMAIL\tNAME\t2FA\tPHONE")
			for _, acc := range accs {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", termsafe.Field(acc.Email), termsafe.Field(acc.Name), acc.Method, embedded.MaskPhone(acc.Phone))
			}
			return w.Flush()
		},
	}
}

func newShowCmd(g *globalFlags) *cobra.Command {
	return &cobra.Command{
		Use:   "show EMAIL",
		Short: "Show an account's security status (never a secret)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := openAdmin(cmd, g)
			if err != nil {
				return err
			}
			defer a.Close()
			acc, err := a.core.LookupAccount(cmd.Context(), args[0])
			if errors.Is(err, portal.ErrNotFound) {
				return fmt.Errorf("no account with e-mail %s", termsafe.Field(args[0]))
			}
			if err != nil {
				return err
			}
			st, err := a.core.SecurityStatus(cmd.Context(), acc.ID)
			if err != nil {
				return err
			}
			r, err := a.core.Restrictions(cmd.Context(), acc.ID)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			method := string(st.Method)
			if r.SwitchOpen {
				method += " (SMS switched off for a change to the authenticator app still under way)"
			}
			fmt.Fprintf(out, "e-mail:  %s\nname:    %s\nid:      %s\n2FA:     %s\nphone:   %s\ncreated: %s\n",
				termsafe.Field(acc.Email), termsafe.Field(acc.Name), acc.ID, method, st.MaskedPhone, acc.CreatedAt.Format("2006-01-02 15:04 UTC"))
			lang := acc.Locale
			if lang == "" {
				lang = "none yet (e-mails in English until a chat's language is adopted)"
			}
			fmt.Fprintf(out, "language: %s\n", termsafe.Field(lang))
			locked := fmt.Sprintf("no (%d of 20 failures in the last 15 minutes)", r.Failures)
			if r.ThrottledSources > 0 {
				// The customer, on a throttled source, is told the
				// account is temporarily locked (the chat cannot tell a
				// source throttle from an account lock).
				locked += fmt.Sprintf("; but %d source(s) throttled after failed attempts, refused there for now as if locked (portal unlock clears it)", r.ThrottledSources)
			}
			if !r.LockedUntil.IsZero() {
				locked = "until " + r.LockedUntil.UTC().Format("2006-01-02 15:04 UTC") + " (too many failed attempts)"
			}
			fmt.Fprintf(out, "locked:  %s\n", locked)
			fmt.Fprintf(out, "throttled sources: %d\n", r.ThrottledSources)
			for _, f := range []string{"password", "sms", "totp", "recovery"} {
				if n := r.Consecutive[f]; n > 0 {
					note := ""
					if n >= 100 {
						note = " (blocked: run guidedfix portal unlock " + termsafe.Field(acc.Email) + ")"
					}
					fmt.Fprintf(out, "failures in a row (%s): %d of 100%s\n", f, n, note)
				}
			}
			sms := fmt.Sprintf("%d of 5 codes sent in the last 15 minutes", r.SMSSent)
			if !r.SMSUntil.IsZero() {
				sms += "; the next one after " + r.SMSUntil.UTC().Format("2006-01-02 15:04 UTC")
			}
			fmt.Fprintf(out, "SMS:     %s\n", sms)
			return nil
		},
	}
}

func newUnlockCmd(g *globalFlags) *cobra.Command {
	var operator string
	cmd := &cobra.Command{
		Use:   "unlock EMAIL",
		Short: "Clear an account's failed-attempt limits (the 100-in-a-row block, locks, throttles) and SMS send limit; audited",
		Long: `unlock clears the failure counts of every factor of the account
registered with EMAIL (the block after 100 wrong attempts in a row, NIST SP
800-63B §5.2.2), its lock, every throttled source and the SMS send limit (5
codes per 15 minutes), and writes an audit
entry "unlocked" naming the operator (--operator, default $USER). An address
with no account is unlocked the same way (its attempts count alike).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if operator == "" {
				operator = os.Getenv("USER")
			}
			if operator == "" {
				operator = "operator"
			}
			a, err := openAdmin(cmd, g)
			if err != nil {
				return err
			}
			defer a.Close()
			id, err := a.core.Unlock(cmd.Context(), args[0], operator)
			if errors.Is(err, embedded.ErrNothingToUnlock) {
				return fmt.Errorf("nothing to unlock for %s: no account and no failed attempts", termsafe.Field(args[0]))
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "unlocked %s (%s)\n", termsafe.Field(args[0]), id)
			return nil
		},
	}
	cmd.Flags().StringVar(&operator, "operator", "", "who unlocks, for the audit log (default $USER)")
	return cmd
}

// readNewPassword reads a new password: twice without echo from a
// terminal, or the first line of a pipe. It never comes from a flag.
func readNewPassword(in io.Reader, prompt io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprint(prompt, "Password: ")
		a, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		fmt.Fprint(prompt, "Repeat password: ")
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(prompt)
		if err != nil {
			return "", err
		}
		if string(a) != string(b) {
			return "", errors.New("the passwords do not match")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", errors.New("no password on standard input")
	}
	return pw, nil
}
