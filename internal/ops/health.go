// Package ops is the operator's listener of `guidedfix serve`: Prometheus
// metrics on /metrics, liveness on /healthz, readiness on /readyz, the
// Go runtime's pprof profiles and expvar variables, and the loopback-only
// admin endpoint that takes a backup while serve runs.
package ops

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Health is the readiness state of the process: a set of named conditions
// ("stores", "telegram", "slack") that each turn true once, named probes
// run at each request ("portal"), and the draining flag of a graceful
// shutdown. It is safe for concurrent use; the zero value is ready until
// a condition is added.
type Health struct {
	mu       sync.Mutex
	conds    map[string]bool
	probes   map[string]func(context.Context) error
	draining bool
}

// Pending adds the condition name, not met yet, and returns the function
// that marks it met (safe to call more than once, from any goroutine).
func (h *Health) Pending(name string) (met func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.conds == nil {
		h.conds = map[string]bool{}
	}
	h.conds[name] = false
	return func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.conds[name] = true
	}
}

// Probe adds a check run at every readiness request with a 2-second
// deadline; a non-nil error makes the process not ready.
func (h *Health) Probe(name string, check func(context.Context) error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.probes == nil {
		h.probes = map[string]func(context.Context) error{}
	}
	h.probes[name] = check
}

// Drain marks the process as shutting down: from now on it is not ready,
// so a load balancer stops sending traffic before the listeners close.
func (h *Health) Drain() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.draining = true
}

// Ready reports whether every condition is met, every probe passes and
// the process is not draining, with one line per condition and probe
// ("telegram: ok", "slack: waiting for startup calls", "portal: <error>",
// "shutting down"), sorted by name.
func (h *Health) Ready(ctx context.Context) (bool, []string) {
	h.mu.Lock()
	conds := make(map[string]bool, len(h.conds))
	for k, v := range h.conds {
		conds[k] = v
	}
	probes := make(map[string]func(context.Context) error, len(h.probes))
	for k, v := range h.probes {
		probes[k] = v
	}
	draining := h.draining
	h.mu.Unlock()

	ready := !draining
	var lines []string
	for name, ok := range conds {
		if ok {
			lines = append(lines, name+": ok")
		} else {
			ready = false
			lines = append(lines, name+": waiting for startup calls")
		}
	}
	for name, check := range probes {
		pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := check(pctx)
		cancel()
		if err != nil {
			ready = false
			lines = append(lines, fmt.Sprintf("%s: %v", name, err))
		} else {
			lines = append(lines, name+": ok")
		}
	}
	slices.Sort(lines)
	if draining {
		lines = append(lines, "shutting down")
	}
	return ready, lines
}
