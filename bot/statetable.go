package bot

import (
	"errors"
	"fmt"
	"slices"
)

// StateTable is implemented by flows that declare their state machine
// (issue 12, "the state machine is enforced"). The engine checks every
// state change a turn makes — each Turn.Goto, Turn.End, Turn.Restart, and
// each Turn.SetState that changes the state — against the table: an
// unlisted change is logged (slog Warn with flow, session, from and to),
// counted (TransitionMeter) and, with Options.States.Strict (tests), fails
// the turn with ErrUnlistedTransition.
type StateTable interface {
	// StateTable returns the flow's transition table. The engine reads it
	// once, in New.
	StateTable() Table
}

// Table is a flow's transition table, in the sense of a finite state
// machine's transition relation: which state a single state change may
// move a session to. A turn may make several changes (a transient
// "persist, then call" state, then the step after it, DESIGN.md); each
// one must be listed, the turn's net change need not be.
type Table struct {
	// Start lists the states Flow.Start may move a fresh session (State "")
	// to.
	Start []State
	// Next maps every state of the flow to the states one change may move
	// a session in it to. A state listed as its own successor is a Goto to
	// the same state (a new step: buttons offered before become stale); a
	// state with no successors is terminal. Every successor must itself be
	// a key.
	Next map[State][]State
	// Always lists the states every non-terminal state may also move to
	// (/cancel, idle expiry, the user blocking the bot), so that Next need
	// not repeat them; each must be a key of Next.
	Always []State
}

// Edge is one state change, From -> To; From is "" for the first change of
// a new session.
type Edge struct {
	From, To State
}

// String returns "from -> to" (from shown as "[*]" when empty, as in a
// Mermaid state diagram).
func (e Edge) String() string {
	from := string(e.From)
	if from == "" {
		from = "[*]"
	}
	return from + " -> " + string(e.To)
}

// Terminal reports whether s is a known state of tb with no successors.
func (tb Table) Terminal(s State) bool {
	next, ok := tb.Next[s]
	return ok && len(next) == 0
}

// Allows reports whether tb lists the change from -> to: from "" to a
// Start state, from a state to one of its Next states, or from a
// non-terminal state to an Always state.
func (tb Table) Allows(from, to State) bool {
	if from == "" {
		return slices.Contains(tb.Start, to)
	}
	next, ok := tb.Next[from]
	if !ok {
		return false
	}
	if slices.Contains(next, to) {
		return true
	}
	return len(next) > 0 && slices.Contains(tb.Always, to)
}

// Edges returns every change tb allows, once each, sorted by From then To:
// the Start edges (From ""), the Next edges, and the Always edges of every
// non-terminal state. Edge-walk tests compare it with the changes they saw.
func (tb Table) Edges() []Edge {
	seen := map[Edge]bool{}
	var out []Edge
	add := func(e Edge) {
		if !seen[e] {
			seen[e] = true
			out = append(out, e)
		}
	}
	for _, s := range tb.Start {
		add(Edge{"", s})
	}
	for from, next := range tb.Next {
		for _, to := range next {
			add(Edge{from, to})
		}
		if len(next) > 0 {
			for _, to := range tb.Always {
				add(Edge{from, to})
			}
		}
	}
	slices.SortFunc(out, func(a, b Edge) int {
		if a.From != b.From {
			if a.From < b.From {
				return -1
			}
			return 1
		}
		switch {
		case a.To < b.To:
			return -1
		case a.To > b.To:
			return 1
		}
		return 0
	})
	return out
}

// Validate returns an error when tb is not well formed: no Start state, or
// a Start, Next or Always state that is not a key of Next.
func (tb Table) Validate() error {
	if len(tb.Start) == 0 {
		return errors.New("no start state")
	}
	check := func(what string, ss []State) error {
		for _, s := range ss {
			if _, ok := tb.Next[s]; !ok {
				return fmt.Errorf("%s state %q is not in the table", what, s)
			}
		}
		return nil
	}
	if err := check("start", tb.Start); err != nil {
		return err
	}
	if err := check("always", tb.Always); err != nil {
		return err
	}
	for from, next := range tb.Next {
		if err := check(string(from)+"'s next", next); err != nil {
			return err
		}
	}
	return nil
}

// ErrUnlistedTransition is the error of a turn that made a state change
// its flow's Table does not list, when Options.States.Strict is set; it is
// wrapped in ErrTurnFailed with the flow, from and to states.
var ErrUnlistedTransition = errors.New("bot: state change not in the flow's transition table")

// StateChange is one state change a turn made, handed to StateCheck.Seen.
type StateChange struct {
	// Flow and SessionID name the session.
	Flow      string
	SessionID string
	// Edge is the change.
	Edge
	// Listed says the flow's Table lists the change (true for a flow
	// without a StateTable).
	Listed bool
}

// StateCheck configures how the engine checks state changes against the
// flows' tables (Options.States).
type StateCheck struct {
	// Strict makes an unlisted change fail the turn with
	// ErrUnlistedTransition (nothing of the turn is saved after it; a
	// Checkpoint after it returns the error). Tests set it; production
	// only logs and counts.
	Strict bool
	// Seen, if set, is called synchronously for every state change, listed
	// or not, inside the turn (edge-walk tests record them; a test harness
	// calls t.Error for an unlisted one). It must be quick and safe for
	// concurrent use.
	Seen func(StateChange)
}

// TransitionMeter is implemented by a Meter (Options.Meter) that counts
// the unlisted state changes the engine saw (internal/metrics:
// guidedfix_unlisted_transitions_total).
type TransitionMeter interface {
	// UnlistedTransition counts one change from -> to of flow that its
	// table does not list.
	UnlistedTransition(flow string, from, to State)
}

// loadTables reads the Table of every flow that has one, and fails for a
// malformed table.
func (e *Engine) loadTables(flows []Flow, check StateCheck) error {
	e.states = check
	e.tables = map[string]Table{}
	for _, f := range flows {
		st, ok := f.(StateTable)
		if !ok {
			continue
		}
		tb := st.StateTable()
		if err := tb.Validate(); err != nil {
			return fmt.Errorf("bot: flow %q transition table: %w", f.Name(), err)
		}
		e.tables[f.Name()] = tb
	}
	return nil
}

// change checks the state change of t's session to to (a Goto when
// newStep, else a SetState) against its flow's table before it is made.
func (t *Turn) change(to State, newStep bool) {
	from := t.Session.State
	if t.engine == nil || (from == to && !newStep) {
		return
	}
	e := t.engine
	flow := t.Session.Flow
	tb, has := e.tables[flow]
	listed := !has || tb.Allows(from, to)
	if e.states.Seen != nil {
		e.states.Seen(StateChange{Flow: flow, SessionID: t.Session.ID, Edge: Edge{from, to}, Listed: listed})
	}
	if listed {
		return
	}
	e.log.Warn("state change not in the flow's transition table", "flow", flow, "session", t.Session.ID,
		"from", string(from), "to", string(to))
	if m, ok := e.meter.(TransitionMeter); ok {
		m.UnlistedTransition(flow, from, to)
	}
	if e.states.Strict && t.unlisted == nil {
		t.unlisted = fmt.Errorf("%w: flow %s: %s", ErrUnlistedTransition, flow, Edge{from, to})
	}
}
