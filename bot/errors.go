package bot

import (
	"errors"
)

// ErrTurnFailed is wrapped by the error Handle and Dispatch return when a
// turn failed after the engine had answered the user with
// MsgInternalError ("please try again"): the session kept its state, so
// an adapter goes on reading the conversation (the console does not end
// the demo; a retry of the same step can succeed).
var ErrTurnFailed = errors.New("bot: turn failed")

// ErrPanic is wrapped by the error Handle, Dispatch and Sweep return when a
// flow panicked; the panic is logged with its stack and the process goes on.
var ErrPanic = errors.New("bot: flow panicked")

// errTurnBusy is returned by wake when another process holds the
// conversation's turn lock: that process runs the deadline.
var errTurnBusy = errors.New("bot: conversation busy in another process")
