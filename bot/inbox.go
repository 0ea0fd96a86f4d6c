package bot

import "context"

// Inbound is one raw update as a chat platform sent it, held in an Inbox.
type Inbound struct {
	// ID is the platform's update id (Telegram update_id); unique and
	// increasing within a channel.
	ID int64
	// Raw is the update's JSON exactly as received.
	Raw []byte
}

// Inbox holds the raw updates of a channel whose transport confirms an
// update before its turn has ended, so that a crash in between does not
// lose it (DESIGN.md, the durability rule). Telegram long polling is such a
// transport: getUpdates confirms every update below the offset it is
// called with, whether its turn ran or not, and a confirmed update is never
// sent again. The adapter holds the updates of a getUpdates answer before
// the library may confirm them, releases each after its turn, and replays
// the held ones when it starts; the engine's record of processed update ids
// (Store.Save, MarkSeen) drops a replayed update whose turn had already
// run. Implementations are safe for concurrent use.
type Inbox interface {
	// Hold durably records updates for channel, replacing an earlier
	// record with the same ID; it returns once they are on disk. A
	// failure writes none of them.
	Hold(ctx context.Context, channel string, updates []Inbound) error

	// Release removes the held update id of channel; releasing one that
	// is not held is no error.
	Release(ctx context.Context, channel string, id int64) error

	// Held returns the updates held for channel, in increasing ID order.
	Held(ctx context.Context, channel string) ([]Inbound, error)
}
