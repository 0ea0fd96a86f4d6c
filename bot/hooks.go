package bot

import ()

// Hook names a point inside a turn where Options.Hook is called: the
// crash points of the durability tests (DESIGN.md "persist, then call").
type Hook string

const (
	// HookCheckpoint fires after a Checkpoint saved, before the flow's
	// portal call.
	HookCheckpoint Hook = "checkpoint"
	// HookSaved fires after the turn's final save, before delivery.
	HookSaved Hook = "saved"
	// HookDelivered fires after each reply was delivered.
	HookDelivered Hook = "delivered"
)

type hooks func(Hook, *Session)

func (h hooks) fire(p Hook, s *Session) {
	if h != nil {
		h(p, s)
	}
}
