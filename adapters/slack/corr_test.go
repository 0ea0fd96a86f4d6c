package slack_test

import (
	"bytes"
	"context"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/internal/logs"
)

// lockedBuffer is a bytes.Buffer safe for the adapter's goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestSlackTurnLinesCarryTheTurnID: the adapter's own log lines of a turn
// (here: a rate-limited chat.postMessage while the turn's replies are
// delivered) carry a correlation id ("turn", internal/logs): the context
// the adapter gives the engine's Dispatch, so the engine's, the flow's and
// the core's lines of that turn carry the same one (corr.Ensure keeps an
// id the context already has).
func TestSlackTurnLinesCarryTheTurnID(t *testing.T) {
	var out lockedBuffer
	h := newHarness(t, scripted(setup{mode: slack.ModeHTTP, adapt: func(o *slack.Options) {
		o.Logger = logs.New(&out, slog.LevelDebug, "text", logs.NewRedactor())
	}}))
	slack.SetSleep(h.a, func(ctx context.Context, d time.Duration) error { return nil })
	h.fake.Fail("chat.postMessage", fakeslack.RateLimited(2))
	h.startScript()
	turnRe := regexp.MustCompile(` turn=[A-Za-z0-9_-]{12}( |$)`)
	limited := 0
	for _, line := range strings.Split(out.String(), "\n") {
		if strings.Contains(line, `msg="slack: rate limited"`) {
			limited++
			if !turnRe.MatchString(line) {
				t.Errorf("adapter line of a turn without its correlation id: %s", line)
			}
		}
	}
	if limited != 1 {
		t.Fatalf("%d rate-limited lines, want 1:\n%s", limited, out.String())
	}
}
