package bot

import (
	"context"
	"log/slog"
	"time"
)

// Options configure an Engine.
type Options struct {
	// Store persists sessions (required).
	Store Store
	// Flows are the flows the engine runs (at least one). The first is
	// the default flow that /start and KindStart events begin; the
	// engine starts another by its Descriptor's commands and start
	// payload (Engine.Route).
	Flows []Flow
	// StartCommands are the commands (without "/") that start the default
	// flow besides its Descriptor's; default "start".
	StartCommands []string
	// IdleTimeout is how long a session may wait for the user before it
	// expires; default 15 minutes.
	IdleTimeout time.Duration
	// MaxDuration is how long a session may last at most from its start,
	// however active (NIST SP 800-63B rev. 4 draft §6.1.2.1: 20 minutes);
	// default 20 minutes.
	MaxDuration time.Duration
	// Now returns the current time; default time.Now. It is read once per
	// turn.
	Now func() time.Time
	// Logger receives operator logs; default slog.Default(). Secrets never
	// reach it.
	Logger *slog.Logger
	// Hook, if set, is called at the named points of every turn (tests).
	Hook func(Hook, *Session)
	// Observer, if set, is called after every saved turn that changed a
	// session's state (audit log, support threads). It runs inside the
	// conversation's turn, so it must be quick and must not call the
	// engine for the same conversation.
	Observer func(context.Context, Transition)
	// Support, if set, offers "Talk to a person" on every prompt and lets
	// staff take a conversation over (TakeOver, AgentSay, HandBack).
	Support Support
	// Meter, if set, receives turn latencies and the sweeper's numbers
	// (metrics).
	Meter Meter
	// States configures the check of every state change against the
	// flows' transition tables (StateTable): strict in tests, logged and
	// counted otherwise.
	States StateCheck
}
