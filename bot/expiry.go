package bot

import (
	"context"
	"errors"
	"fmt"
	"time"

	"guidedfix/internal/corr"
)

// expiry is the session's deadline after a user event at now: IdleTimeout
// later, but no later than MaxDuration after the session started.
func (e *Engine) expiry(s *Session, now time.Time) time.Time {
	idle, limit := now.Add(e.idle), s.IssuedAt.Add(e.maxLife)
	if limit.Before(idle) {
		return limit
	}
	return idle
}

// expire runs the flow's Expire for s and saves it as done.
func (e *Engine) expire(ctx context.Context, s *Session, now time.Time) error {
	f, ok := e.flows[s.Flow]
	t := &Turn{Event: Event{Conversation: s.Conversation, Kind: KindTimer}, Now: now, Session: s, engine: e, from: s.State}
	if ok {
		if err := f.Expire(ctx, t); err != nil {
			e.log.ErrorContext(ctx, "expire failed", "session", s.ID, "err", err)
		}
	}
	switch {
	case s.Done:
	case t.wake.IsZero():
		s.Done = true
	default:
		// The flow could not finish yet (e.g. a compensation to retry):
		// the session stays until its wake-up.
		s.ExpiresAt = t.wake
	}
	return e.finish(ctx, t, "")
}

// Sweep runs the deadlines that have come: sessions idle past ExpiresAt
// expire, sessions whose WakeAt has come get a KindTimer turn. It handles at
// most limit sessions and returns how many it handled.
func (e *Engine) Sweep(ctx context.Context, limit int) (int, error) {
	now := e.now().UTC()
	start := time.Now()
	due, err := e.store.Due(ctx, now, limit)
	if err != nil {
		return 0, fmt.Errorf("sweep: %w", err)
	}
	defer func() { e.meter.Sweep(len(due), time.Since(start)) }()
	n := 0
	for _, c := range due {
		if ctx.Err() != nil {
			break // shutting down: the next start sweeps again
		}
		if e.queue.busy(c.String()) {
			// A turn of c is running (its replies or checkpoint made it
			// due); it finishes them itself.
			continue
		}
		// A turn once begun runs to its end, also during a shutdown.
		if err := e.wake(context.WithoutCancel(ctx), c); errors.Is(err, errTurnBusy) {
			continue
		} else if err != nil {
			e.log.ErrorContext(ctx, "sweep turn failed", "conversation", c.String(), "err", err)
			continue
		}
		n++
	}
	return n, nil
}

func (e *Engine) wake(ctx context.Context, c Conversation) (err error) {
	ctx = corr.Ensure(ctx)
	unlock := e.queue.lock(c.String())
	defer unlock()
	defer e.recoverTurn(c, &err)
	// Every replica sweeps the shared store; the one that gets the lock
	// acts, and reads the session (and its deadline) after taking it.
	unlockTurn, ok, err := e.lockTurn(ctx, c, false)
	if err != nil {
		return err
	}
	if !ok {
		return errTurnBusy
	}
	defer unlockTurn()
	s, err := e.store.Load(ctx, c)
	if err != nil {
		return err
	}
	if e.deliverer(c.Channel) == nil {
		return e.wakeUnserved(ctx, s)
	}
	if err := e.deliverOutbox(ctx, s, nil); err != nil {
		return err
	}
	return e.runDeadline(ctx, s)
}

// runDeadline expires s or gives it its KindTimer turn when that time has
// come; otherwise it does nothing.
func (e *Engine) runDeadline(ctx context.Context, s *Session) error {
	now := e.now().UTC()
	if s.Done {
		return nil
	}
	if !now.Before(s.ExpiresAt) {
		e.meter.Deadline(now.Sub(s.ExpiresAt))
		return e.expire(ctx, s, now)
	}
	if s.WakeAt.IsZero() || now.Before(s.WakeAt) {
		return nil
	}
	e.meter.Deadline(now.Sub(s.WakeAt))
	f, ok := e.flows[s.Flow]
	if !ok {
		return fmt.Errorf("session %s runs unknown flow %q", s.ID, s.Flow)
	}
	t := &Turn{Event: Event{Conversation: s.Conversation, Kind: KindTimer}, Now: now, Session: s, engine: e, from: s.State}
	if err := f.Handle(ctx, t); err != nil {
		return e.failTurn(ctx, t, err)
	}
	return e.finish(ctx, t, "")
}

// wakeUnserved handles a due session of a channel no adapter serves here
// (a platform turned off in the configuration, or the console while serve
// runs). Its deadlines still run, so an abandoned change ends and the flow
// undoes what it must (an SMS factor switched off is restored); the
// replies, which nobody can deliver, are dropped, so that the session
// leaves the sweep instead of coming back every time.
func (e *Engine) wakeUnserved(ctx context.Context, s *Session) error {
	if err := e.runDeadline(ctx, s); err != nil {
		return err
	}
	s, err := e.store.Load(ctx, s.Conversation)
	if err != nil || len(s.Outbox) == 0 {
		return err
	}
	e.log.WarnContext(ctx, "no adapter serves this channel: replies dropped", "channel", s.Conversation.Channel, "session", s.ID, "replies", len(s.Outbox))
	s.Outbox = nil
	return e.store.Save(ctx, s, "")
}

// Run sweeps once at once (resuming what a restart interrupted) and then
// every interval until ctx is done. It returns ctx.Err().
func (e *Engine) Run(ctx context.Context, interval time.Duration) error {
	tick := time.NewTicker(interval)
	defer tick.Stop()
	for {
		for {
			n, err := e.Sweep(ctx, 100)
			if err != nil {
				e.log.ErrorContext(ctx, "sweep failed", "err", err)
			}
			if n < 100 {
				break
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}
