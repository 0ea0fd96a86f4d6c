package metrics

import (
	"context"
	"sync"

	"guidedfix/internal/mail"
)

// Mail returns s with every Send counted: guidedfix_mail_queued_total for
// each attempt, guidedfix_mail_sent_total or guidedfix_mail_failed_total
// for its result, and guidedfix_mail_retried_total for an attempt at a
// message ID whose earlier attempt failed (the portal core's outbox
// retries unsent e-mail). It returns s's errors unchanged.
func (m *Metrics) Mail(s mail.Sender) mail.Sender {
	return &meteredMail{m: m, s: s, failed: map[string]bool{}}
}

type meteredMail struct {
	m *Metrics
	s mail.Sender

	mu     sync.Mutex
	failed map[string]bool // message IDs whose last attempt failed
}

func (mm *meteredMail) Send(ctx context.Context, msg mail.Message) error {
	mm.m.mailQueued.Inc()
	mm.mu.Lock()
	retry := mm.failed[msg.ID]
	mm.mu.Unlock()
	if retry {
		mm.m.mailRetried.Inc()
	}
	err := mm.s.Send(ctx, msg)
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if err != nil {
		mm.m.mailFailed.Inc()
		if len(mm.failed) < 100000 {
			mm.failed[msg.ID] = true
		}
		return err
	}
	mm.m.mailSent.Inc()
	delete(mm.failed, msg.ID)
	return nil
}
