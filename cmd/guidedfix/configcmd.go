package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"guidedfix/internal/config"
)

func newConfigCmd(g *globalFlags) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Check a configuration, or print an example with every setting",
	}
	cmd.AddCommand(&cobra.Command{
		Use:   "check [FILE]",
		Short: "Validate the configuration (FILE or --config, plus the environment) and print every problem",
		Long: "check loads the configuration as serve would — the file (FILE, else\n" +
			"--config), then the environment — and prints every problem at once, one\n" +
			"a line: the key or variable, the bad value (secrets shown as REDACTED)\n" +
			"and what is expected. It exits 1 when there is any.",
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := g.configFile
			if len(args) == 1 {
				path = args[0]
			}
			return runConfigCheck(cmd.OutOrStdout(), path)
		},
	}, &cobra.Command{
		Use:   "example",
		Short: "Print a commented YAML configuration with every setting and its default",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.WriteString(cmd.OutOrStdout(), config.Example())
			return err
		},
	})
	return cmd
}

// runConfigCheck prints the problems of the configuration at path (and the
// environment) to out; it returns an error, so the exit status is 1, when
// there is any.
func runConfigCheck(out io.Writer, path string) error {
	cfg, problems := config.Check(path)
	for _, p := range problems {
		fmt.Fprintln(out, p)
	}
	if len(problems) > 0 {
		return fmt.Errorf("%d problem(s) in the configuration", len(problems))
	}
	src := "the defaults and the environment"
	if path != "" {
		src = path + " and the environment"
	}
	fmt.Fprintf(out, "configuration OK (%s): telegram %s, slack %s, e-mail %s, ops listener %s\n", src,
		onOff(cfg.Telegram.Enabled()), onOff(cfg.Slack.Enabled()), mailRoute(cfg), cfg.Ops.Listen)
	return nil
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

func mailRoute(cfg config.Config) string {
	if cfg.SMTP.Enabled() {
		return fmt.Sprintf("by SMTP to %s:%d", cfg.SMTP.Host, cfg.SMTP.Port)
	}
	return "to the .eml outbox"
}
