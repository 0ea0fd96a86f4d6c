package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"guidedfix/flows/newphone"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/flowgraph"
)

// totpswitchNote is the comment above the totpswitch diagram; the same
// lines head flows/totpswitch/state.mermaid.
var totpswitchNote = []string{
	"Edges are single state changes (the engine checks each one against this table);",
	"a turn through a transient state (sending_sms, disabling, enrolling, verifying) takes two.",
	"Once a disable was tried and no app is verified, an ending passes through restoring,",
	"which turns SMS 2FA back on first.",
}

// flowGraphs are the flows `guidedfix flows graph` can draw, by name.
var flowGraphs = map[string]flowgraph.Graph{
	totpswitch.Name: {
		Name:        totpswitch.Name,
		Initial:     totpswitch.StateAwaitingEmail,
		Transitions: totpswitch.Transitions(),
		Labels:      totpswitch.EdgeLabels(),
		Note:        totpswitchNote,
	},
	newphone.Name: {
		Name:        newphone.Name,
		Initial:     newphone.StateAwaitingEmail,
		Transitions: newphone.States(),
		Note: []string{
			"Edges are single state changes (the engine checks each one against this table); a turn",
			"through a transient state (verifying_recovery, enrolling, replacing) takes two.",
			"Every non-terminal state may also go to blocked (the user blocked the bot) and expired (idle).",
		},
	},
}

func newFlowsCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "flows", Short: "Show the guided flows"}
	var format string
	graph := &cobra.Command{
		Use:   "graph FLOW",
		Short: "Print a flow's state machine (Mermaid or Graphviz DOT) from its transition table",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			g, ok := flowGraphs[args[0]]
			if !ok {
				names := make([]string, 0, len(flowGraphs))
				for n := range flowGraphs {
					names = append(names, n)
				}
				slices.Sort(names)
				return fmt.Errorf("no flow %q: the flows are %s", args[0], strings.Join(names, ", "))
			}
			return g.Write(cmd.OutOrStdout(), format)
		},
	}
	graph.Flags().StringVar(&format, "format", "mermaid", "output format: "+strings.Join(flowgraph.Formats, " or "))
	cmd.AddCommand(graph)
	return cmd
}
