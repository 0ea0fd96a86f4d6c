package main

import (
	"io"

	"github.com/spf13/cobra"
)

// globalFlags are the flags every subcommand takes.
type globalFlags struct {
	dataDir    string
	configFile string
}

func newRootCmd() *cobra.Command {
	g := &globalFlags{}
	root := &cobra.Command{
		Use:   "guidedfix",
		Short: "Guided security changes for Customer Portal accounts, in chat",
		Long: "guidedfix walks a Customer Portal account holder through moving two-factor\n" +
			"authentication from SMS codes to an authenticator app, in the terminal\n" +
			"(demo), Telegram or Slack (serve).",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().StringVar(&g.dataDir, "data-dir", "", "data directory (default: $GUIDEDFIX_DATA_DIR, the config file's data_dir, or the per-user data directory)")
	root.PersistentFlags().StringVar(&g.configFile, "config", "", "YAML configuration file (optional; environment variables GUIDEDFIX_* override it)")
	root.AddCommand(newDemoCmd(g), newServeCmd(g), newHandoffCmd(g), newAuditCmd(g), newPortalCmd(g), newVersionCmd(), newBackupCmd(g), newConfigCmd(g), newFlowsCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, the commit it was built from and the Go version",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := io.WriteString(cmd.OutOrStdout(), versionText())
			return err
		},
	}
}
