package bot_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"guidedfix/bot"
)

// sharedStore wraps the bbolt store as a store shared with another
// process: it implements bot.TurnLocker (recording each call), can refuse
// the lock as if another replica held it, and can let "another replica"
// save the conversation just before this engine's next Save, so that
// Save loses the race.
type sharedStore struct {
	bot.Store
	mu        sync.Mutex
	calls     []bool // wait argument of each LockTurn
	held      bool   // another process holds every lock
	interfere bool   // the next Save is preceded by a foreign one
}

func (s *sharedStore) LockTurn(ctx context.Context, c bot.Conversation, wait bool) (func(), bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, wait)
	if s.held && !wait {
		return nil, false, nil
	}
	return func() {}, true, nil
}

func (s *sharedStore) Save(ctx context.Context, ss *bot.Session, updateID string) error {
	s.mu.Lock()
	foreign := s.interfere
	s.interfere = false
	s.mu.Unlock()
	if foreign {
		other, err := s.Store.Load(ctx, ss.Conversation)
		if err != nil {
			return err
		}
		if other.Tags == nil {
			other.Tags = map[string]string{}
		}
		other.Tags["other"] = "replica"
		if err := s.Store.Save(ctx, other, ""); err != nil {
			return err
		}
	}
	return s.Store.Save(ctx, ss, updateID)
}

// TestLostRaceRunsTurnAgain: a Save that loses against another process is
// not written over it: the engine reads the session again and runs the
// turn again on it, and the user gets the turn's replies once, no error.
func TestLostRaceRunsTurnAgain(t *testing.T) {
	_, f, rec, clk, bolt := newEngine(t)
	st := &sharedStore{Store: bolt}
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{f}, Now: clk.now, IdleTimeout: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	e.Register("test", rec)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	press := ev(bot.KindButton, "2")
	press.Data = rec.last().Buttons[0].Data
	st.interfere = true
	mustHandle(t, e, press)
	s, err := e.Session(context.Background(), conv)
	if err != nil {
		t.Fatal(err)
	}
	// Versions: start turn and its delivered mark (2), the foreign save
	// (3), the re-run turn and its delivered mark (5).
	if s.State != "secret" || s.Tags["other"] != "replica" || s.Version != 5 {
		t.Fatalf("session state %q tags %v version %d; want secret, the other replica's tag kept, version 5", s.State, s.Tags, s.Version)
	}
	if f.handled != 2 {
		t.Fatalf("flow ran %d times, want 2 (the lost run and the re-run)", f.handled)
	}
	if got := rec.ids(); !slices.Equal(got, []string{"send:engine.help_idle", "send:engine.help_idle"}) {
		t.Fatalf("replies %q: want the start prompt and the password prompt, once each", got)
	}
	if !slices.Equal(st.calls, []bool{true, true}) {
		t.Fatalf("LockTurn calls %v, want two waiting ones", st.calls)
	}
}

// TestSweepSkipsConversationLockedElsewhere: the sweeper tries the lock
// without waiting and leaves a due session another process holds to it.
func TestSweepSkipsConversationLockedElsewhere(t *testing.T) {
	_, f, rec, clk, bolt := newEngine(t)
	st := &sharedStore{Store: bolt}
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{f}, Now: clk.now, IdleTimeout: 15 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	e.Register("test", rec)
	mustHandle(t, e, ev(bot.KindStart, "1"))
	clk.add(16 * time.Minute)
	st.held = true
	if n, err := e.Sweep(context.Background(), 10); err != nil || n != 0 {
		t.Fatalf("Sweep while locked elsewhere = %d, %v; want 0", n, err)
	}
	if s, _ := e.Session(context.Background(), conv); s.Done {
		t.Fatal("the session expired while another process held it")
	}
	st.held = false
	if n, err := e.Sweep(context.Background(), 10); err != nil || n != 1 {
		t.Fatalf("Sweep = %d, %v; want 1", n, err)
	}
	if s, _ := e.Session(context.Background(), conv); !s.Done {
		t.Fatal("the session did not expire")
	}
	if !slices.Equal(st.calls, []bool{true, false, false}) {
		t.Fatalf("LockTurn calls %v, want the turn's waiting one, then two tries", st.calls)
	}
}
