package testkit

import (
	"context"
	"slices"
	"sync"

	"guidedfix/bot"
)

// Tap is a bot.Deliverer between the engine and another deliverer (Next,
// an adapter or a decorator such as entry.Deliverer): it records every
// reply on its way, as the engine gave it, and passes it on unchanged,
// returning Next's message id and error. It is safe for concurrent use.
type Tap struct {
	Next bot.Deliverer
	mu   sync.Mutex
	all  []bot.Reply
}

// Deliver records r and delivers it with Next.
func (t *Tap) Deliver(ctx context.Context, to bot.Conversation, r bot.Reply) (string, error) {
	t.mu.Lock()
	t.all = append(t.all, r)
	t.mu.Unlock()
	return t.Next.Deliver(ctx, to, r)
}

// Replies returns a copy of the replies recorded so far, oldest first.
func (t *Tap) Replies() []bot.Reply {
	t.mu.Lock()
	defer t.mu.Unlock()
	return slices.Clone(t.all)
}
