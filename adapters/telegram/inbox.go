package telegram

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/go-telegram/bot/models"

	"guidedfix/bot"
)

// holdingTransport closes long polling's loss window. getUpdates confirms
// every update below its offset, whether its turn ran or not, and
// go-telegram/bot calls it again as soon as it has handed the previous
// answer's updates to the handler: a crash before those turns end would
// lose them. The transport reads each getUpdates answer and holds its
// updates in the inbox (fsync'ed) before the library sees them, so no
// update is confirmed before it is on disk; a failed hold fails the call
// and the library asks again with the same offset.
type holdingTransport struct {
	base http.RoundTripper
	hold func(ctx context.Context, updates []bot.Inbound) error
}

func (t *holdingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(r)
	if err != nil || resp.StatusCode != http.StatusOK || !strings.HasSuffix(r.URL.Path, "/getUpdates") {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("telegram: read getUpdates answer: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	var answer struct {
		OK     bool              `json:"ok"`
		Result []json.RawMessage `json:"result"`
	}
	if json.Unmarshal(body, &answer) != nil || !answer.OK || len(answer.Result) == 0 {
		return resp, nil // the library reports a malformed answer itself
	}
	in := make([]bot.Inbound, 0, len(answer.Result))
	for _, raw := range answer.Result {
		// One decode per update on the common path: the library's own
		// (models.Update) both checks the update and gives its id.
		var u models.Update
		if json.Unmarshal(raw, &u) != nil {
			var id struct {
				UpdateID int64 `json:"update_id"`
			}
			if err := json.Unmarshal(raw, &id); err != nil {
				return nil, fmt.Errorf("telegram: getUpdates answer: %w", err)
			}
			// An update the library cannot decode is skipped by it (and
			// confirmed by the next offset); holding it would only
			// replay a drop at the next start.
			continue
		}
		in = append(in, bot.Inbound{ID: u.ID, Raw: raw})
	}
	if len(in) == 0 {
		return resp, nil
	}
	if err := t.hold(r.Context(), in); err != nil {
		return nil, fmt.Errorf("telegram: hold updates: %w", err)
	}
	return resp, nil
}

// withHolding returns a copy of client whose transport holds getUpdates
// answers in inbox.
func withHolding(client *http.Client, inbox bot.Inbox) *http.Client {
	c := *client
	base := c.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	c.Transport = &holdingTransport{base: base, hold: func(ctx context.Context, in []bot.Inbound) error {
		return inbox.Hold(ctx, Channel, in)
	}}
	return &c
}

// replayHeld queues the updates held from an earlier run whose turns had
// not ended, oldest first; each is released after its turn. The engine
// drops those whose turn had run (its record of processed update ids).
func (a *Adapter) replayHeld(ctx context.Context) error {
	held, err := a.opts.Inbox.Held(ctx, Channel)
	if err != nil {
		return fmt.Errorf("telegram: read held updates: %w", err)
	}
	if len(held) == 0 {
		return nil
	}
	a.log.InfoContext(ctx, "replaying updates held by an earlier run", "count", len(held))
	for _, in := range held {
		var u models.Update
		if err := json.Unmarshal(in.Raw, &u); err != nil || u.ID != in.ID {
			a.log.ErrorContext(ctx, "dropping a held update that does not decode", "update", in.ID, "err", err)
			a.release(in.ID)
			continue
		}
		if _, ok := a.receive(&u, true); !ok {
			return nil
		}
	}
	return nil
}

// release removes update id from the inbox once its turn has ended. A
// failure leaves it held: the next start replays it and the engine drops
// it as processed.
func (a *Adapter) release(id int64) {
	if err := a.opts.Inbox.Release(context.Background(), Channel, id); err != nil {
		a.log.Warn("could not release a held update", "update", id, "err", err)
	}
}
