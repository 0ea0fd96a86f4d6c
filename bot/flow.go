package bot

import (
	"context"
	"io/fs"
)

// Flow is a guided fix: a state machine over a Session. Flows are
// registered with the engine (Options.Flows); the engine never imports one.
type Flow interface {
	// Name returns the flow's stable name, stored in every session it runs.
	Name() string
	// Start begins a new session: t.Session is fresh (empty State) and
	// t.Event is the event that started it (KindStart or a command).
	Start(ctx context.Context, t *Turn) error
	// Handle runs the handler of t.Session.State for t.Event: user input,
	// commands, pressed buttons (Event.Data holds the action), secrets and
	// KindTimer wake-ups.
	Handle(ctx context.Context, t *Turn) error
	// Expire ends a session whose idle deadline passed: it releases what
	// the flow holds (pending enrollments, sensitive messages) and tells
	// the user. The engine marks the session done afterwards, unless the
	// flow asked for a wake-up (Turn.WakeAt) to finish later.
	Expire(ctx context.Context, t *Turn) error
}

// MessageSource is implemented by flows that bring their own catalog
// files; the engine loads them into its Catalog at New.
type MessageSource interface {
	// Messages returns the file system and paths of the flow's YAML
	// message files (see Catalog.Load).
	Messages() (fs.FS, []string)
}
