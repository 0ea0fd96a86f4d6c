package slack

import (
	"context"
	"time"
)

// WaitIdle blocks until every request a has acknowledged is handled: the
// engine's turns and the Slack calls they make.
func WaitIdle(a *Adapter) { a.work.Wait() }

// SetSleep replaces the wait for a rate limit's Retry-After.
func SetSleep(a *Adapter, f func(ctx context.Context, d time.Duration) error) { a.sleep = f }

// SetAckBudget sets how long a view submission waits for the engine.
func SetAckBudget(a *Adapter, d time.Duration) { a.ackBudget = d }

// PlainText exports plainText.
var PlainText = plainText
