package bot

import (
	"crypto/rand"
	"encoding/base64"
	"sync"
)

func newID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// keyedQueue is a per-key FIFO lock: callers of lock(k) get the key one at
// a time, in the order they called.
type keyedQueue struct {
	mu sync.Mutex
	m  map[string]*keyWaiters
}

type keyWaiters struct{ waiting []chan struct{} }

func (q *keyedQueue) lock(k string) (unlock func()) {
	wait, unlock := q.ticket(k)
	<-wait
	return unlock
}

// busy reports whether some caller holds or waits for k.
func (q *keyedQueue) busy(k string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	_, ok := q.m[k]
	return ok
}

// ticket takes a place in k's line now; wait is closed when it is this
// caller's turn, and unlock hands the key to the next in line.
func (q *keyedQueue) ticket(k string) (wait <-chan struct{}, unlock func()) {
	q.mu.Lock()
	if q.m == nil {
		q.m = map[string]*keyWaiters{}
	}
	ch := make(chan struct{})
	if w, busy := q.m[k]; busy {
		w.waiting = append(w.waiting, ch)
	} else {
		q.m[k] = &keyWaiters{}
		close(ch)
	}
	q.mu.Unlock()
	return ch, func() {
		q.mu.Lock()
		defer q.mu.Unlock()
		w := q.m[k]
		if len(w.waiting) == 0 {
			delete(q.m, k)
			return
		}
		next := w.waiting[0]
		w.waiting = w.waiting[1:]
		close(next)
	}
}
