package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"guidedfix/bot"
)

// newUnlisted makes guidedfix_unlisted_transitions_total.
func newUnlisted(f factory) *prometheus.CounterVec {
	return f.counterVec("guidedfix_unlisted_transitions_total",
		"State changes a flow made that its transition table does not list (a bug: the engine logs each one), by flow, from and to state.",
		"flow", "from", "to")
}

// UnlistedTransition implements bot.TransitionMeter: it counts one state
// change from -> to of flow that the flow's transition table
// (bot.StateTable) does not list, in
// guidedfix_unlisted_transitions_total{flow, from, to}. The labels are
// the flow's own state names (a fixed set; from is "" for a new session).
func (m *Metrics) UnlistedTransition(flow string, from, to bot.State) {
	m.unlisted.WithLabelValues(flow, string(from), string(to)).Inc()
}

var _ bot.TransitionMeter = (*Metrics)(nil)
