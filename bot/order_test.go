package bot_test

import (
	"context"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/store"
)

// probeFlow records, per conversation, the order in which texts reach it
// and how many of its turns run at once; a text "wait" blocks until the
// test releases it, after telling the test it has started.
type probeFlow struct {
	mu       sync.Mutex
	order    map[string][]string
	inside   map[string]int
	overlaps atomic.Int32
	started  chan string
	release  chan struct{}
}

func (f *probeFlow) Name() string { return "probe" }

func (f *probeFlow) Start(ctx context.Context, t *bot.Turn) error {
	t.Goto("open")
	t.Say("engine.help_idle", nil)
	return nil
}

func (f *probeFlow) Handle(ctx context.Context, t *bot.Turn) error {
	c := t.Session.Conversation.String()
	f.mu.Lock()
	f.inside[c]++
	if f.inside[c] > 1 {
		f.overlaps.Add(1)
	}
	f.order[c] = append(f.order[c], t.Event.Text)
	f.mu.Unlock()
	if t.Event.Text == "wait" {
		f.started <- c
		<-f.release
	} else {
		time.Sleep(50 * time.Microsecond) // widen the window for an overlap
	}
	t.Say("engine.help_idle", nil)
	f.mu.Lock()
	f.inside[c]--
	f.mu.Unlock()
	return nil
}

func (f *probeFlow) Expire(ctx context.Context, t *bot.Turn) error { return nil }

// TestSameInstantEventsSerialisedInOrder releases 8 goroutines per
// conversation at the same instant, each dispatching events for its
// conversation of two: within a conversation the turns never overlap and
// run in the order the events took their place in line (recorded
// atomically with Dispatch); the two conversations run in parallel — a
// turn of one waits for a turn of the other to start, which would
// deadlock if they were serialised. Run it with -race.
func TestSameInstantEventsSerialisedInOrder(t *testing.T) {
	st, err := store.Open(store.Options{Path: filepath.Join(t.TempDir(), "sessions.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &probeFlow{order: map[string][]string{}, inside: map[string]int{}, started: make(chan string), release: make(chan struct{})}
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{f}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	e.Register("test", &recorder{})
	convs := []bot.Conversation{{Channel: "test", ID: "a"}, {Channel: "test", ID: "b"}}
	for _, c := range convs {
		if err := e.Handle(context.Background(), bot.Event{Conversation: c, Kind: bot.KindStart, UpdateID: c.ID + "-start"}); err != nil {
			t.Fatal(err)
		}
	}

	// Parallelism: a turn of a is held until a turn of b has started.
	var held sync.WaitGroup
	held.Add(2)
	for _, c := range convs {
		e.Dispatch(context.Background(), bot.Event{Conversation: c, Kind: bot.KindText, Text: "wait", UpdateID: c.ID + "-wait"},
			func(err error) {
				if err != nil {
					t.Error(err)
				}
				held.Done()
			})
	}
	got := map[string]bool{}
	for len(got) < 2 {
		select {
		case c := <-f.started:
			got[c] = true
		case <-time.After(10 * time.Second):
			t.Fatal("the two conversations did not run at the same time")
		}
	}

	// Same instant: 8 goroutines per conversation released together.
	const per = 8
	var (
		lineMu sync.Mutex
		line   = map[string][]string{}
		wg     sync.WaitGroup
		gate   = make(chan struct{})
	)
	for _, c := range convs {
		for g := 0; g < per; g++ {
			wg.Add(1)
			go func() {
				<-gate
				for i := 0; i < 5; i++ {
					text := strconv.Itoa(g) + "." + strconv.Itoa(i)
					ev := bot.Event{Conversation: c, Kind: bot.KindText, Text: text, UpdateID: c.ID + "-" + text}
					wg.Add(1)
					lineMu.Lock()
					line[c.String()] = append(line[c.String()], text)
					e.Dispatch(context.Background(), ev, func(err error) {
						if err != nil {
							t.Error(err)
						}
						wg.Done()
					})
					lineMu.Unlock()
				}
				wg.Done()
			}()
		}
	}
	close(gate)
	// Let the queues fill behind the held turns, then release them.
	time.Sleep(20 * time.Millisecond)
	close(f.release)
	held.Wait()
	wg.Wait()

	if n := f.overlaps.Load(); n != 0 {
		t.Fatalf("%d turns ran while another turn of the same conversation was running", n)
	}
	for _, c := range convs {
		want := append([]string{"wait"}, line[c.String()]...)
		if got := f.order[c.String()]; !slices.Equal(got, want) {
			t.Fatalf("conversation %s handled %v\nin line            %v", c, got, want)
		}
		s, err := e.Session(context.Background(), c)
		if err != nil {
			t.Fatal(err)
		}
		// Start, wait and 40 texts, each one save and one delivered mark:
		// a compare-and-swap conflict would have failed a turn.
		if want := uint64(2 * (2 + per*5)); s.Version != want {
			t.Fatalf("session %s version %d, want %d", c, s.Version, want)
		}
	}
}
