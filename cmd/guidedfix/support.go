package main

import (
	"errors"
	"fmt"
	"os/user"
	"strings"

	"github.com/spf13/cobra"

	"guidedfix/internal/support"
	"guidedfix/internal/termsafe"
)

// flowNames lists the names of the flows d hands off, comma-separated.
func flowNames(d *support.Desk) string {
	names := make([]string, len(d.Flows))
	for i, f := range d.Flows {
		names[i] = f.Name
	}
	return strings.Join(names, ", ")
}

func newHandoffCmd(g *globalFlags) *cobra.Command {
	var flow string
	cmd := &cobra.Command{
		Use:   "handoff EMAIL [TICKET]",
		Short: "Hand a guided fix (default: SMS → authenticator app; --flow newphone) to a customer: e-mail them a one-time Telegram link",
		Long: "handoff creates a single-use link (valid 24 hours) that starts the guided\n" +
			"change in Telegram with the customer's account already identified; the\n" +
			"customer still proves their password and current SMS code. The link is\n" +
			"e-mailed to the account's address and printed for the ticket.",
		Args: cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			a, err := openAdmin(cmd, g)
			if err != nil {
				return err
			}
			defer a.Close()
			ticket := ""
			if len(args) == 2 {
				ticket = args[1]
			}
			name, ok := a.desk.FlowFor(flow)
			if !ok {
				return fmt.Errorf("unknown flow %q (%s)", flow, flowNames(a.desk))
			}
			link, h, err := a.desk.HandOffFlow(cmd.Context(), name, args[0], ticket, "cli", operator())
			if errors.Is(err, support.ErrNoAccount) {
				return fmt.Errorf("no Customer Portal account has the e-mail %s", termsafe.Field(args[0]))
			}
			if err := wrongMethodText(err, args[0]); err != nil {
				return err
			}
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Hand-off %s e-mailed to %s, valid until %s UTC:\n%s\n",
				termsafe.Field(h.ID), termsafe.Field(h.Email), h.ExpiresAt.Format("2006-01-02 15:04"), termsafe.Field(link))
			return nil
		},
	}
	cmd.Flags().StringVar(&flow, "flow", "", "the guided fix to hand off, by name or start command (default: the default flow, totpswitch; newphone moves the authenticator app to a new phone)")
	return cmd
}

func newAuditCmd(g *globalFlags) *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:   "audit EMAIL",
		Short: "Show the newest audit log entries of an account (security and staff actions)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if limit < 1 {
				return fmt.Errorf("--limit must be 1 or more, got %d", limit)
			}
			a, err := openAdmin(cmd, g)
			if err != nil {
				return err
			}
			defer a.Close()
			entries, err := a.desk.AuditFor(cmd.Context(), args[0], limit)
			if errors.Is(err, support.ErrNoAccount) {
				return fmt.Errorf("no Customer Portal account has the e-mail %s", termsafe.Field(args[0]))
			}
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			if len(entries) == 0 {
				fmt.Fprintln(out, "no entries")
			}
			for _, e := range entries {
				fmt.Fprintln(out, termsafe.Field(support.FormatEntry(e)))
			}
			return nil
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 20, "how many entries, newest first")
	return cmd
}

// operator names the person at the command line for the audit log.
func operator() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return strings.ReplaceAll(u.Username, " ", "_")
	}
	return "unknown"
}
