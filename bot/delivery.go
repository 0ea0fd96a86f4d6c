package bot

import (
	"context"
	"fmt"
)

// FirstDelivery records the platform delivery (channel, updateID) as
// processed in the session store and reports whether it was new: false
// when it was recorded before, also by an earlier process (Store.Seen).
// Adapters call it for work that is not a turn of the engine (Slack staff
// commands, take-overs, agent replies), so that a delivery redelivered
// after a restart runs once, as customers' events do. Record it before the
// work: a crash in between loses the work rather than repeating it. An
// empty updateID is always new. It returns the store's error, and then
// reports false.
func (e *Engine) FirstDelivery(ctx context.Context, channel, updateID string) (bool, error) {
	if updateID == "" {
		return true, nil
	}
	seen, err := e.store.Seen(ctx, channel, updateID)
	if err != nil {
		return false, fmt.Errorf("check delivery %s: %w", updateID, err)
	}
	if seen {
		return false, nil
	}
	if err := e.store.MarkSeen(ctx, channel, updateID); err != nil {
		return false, fmt.Errorf("record delivery %s: %w", updateID, err)
	}
	return true, nil
}
