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

// flowGraphs are the flows `guidedfix flows graph` can draw, by name.
var flowGraphs = map[string]flowgraph.Graph{
	totpswitch.Name: {
		Name:        totpswitch.Name,
		Initial:     totpswitch.StateAwaitingEmail,
		Transitions: totpswitch.Transitions(),
		Note: []string{
			"Every non-terminal state may also go to cancelled (/cancel, Cancel) and expired (idle);",
			"once SMS 2FA was disabled and no app is verified, those endings pass through restoring.",
		},
	},
	newphone.Name: {
		Name:        newphone.Name,
		Initial:     newphone.StateAwaitingEmail,
		Transitions: newphone.States(),
		Note: []string{
			"Edges are per turn; verifying_recovery, enrolling and replacing are passed within a turn",
			"(persist, then call) and start a turn only when it resumes one a crash interrupted.",
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
