package etcdstore_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"guidedfix/bot"
	"guidedfix/internal/store/etcdstore"
)

// TestCompactionKeepsDatabaseBounded saves 20 conversations (8 KiB each)
// 480 times in six rounds, compacting to the newest 20 revisions after
// each: the backend's size in use after the last round is at most 2.5
// times the first round's, where without compaction it would be about six
// times (every revision is kept).
func TestCompactionKeepsDatabaseBounded(t *testing.T) {
	st := openStore(t, etcdstore.Options{CompactEvery: -1})
	cli := sharedCluster.client(t)
	ctx := context.Background()
	pad := json.RawMessage(fmt.Sprintf(`{"pad":%q}`, strings.Repeat("x", 8000)))
	sessions := make([]*bot.Session, 20)
	for i := range sessions {
		sessions[i] = &bot.Session{ID: fmt.Sprint(i), Conversation: bot.Conversation{Channel: "telegram", ID: fmt.Sprint(i)}, Data: pad}
	}
	var inUse []int64
	at := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := range 6 {
		// Each conversation saves 4 times per round, all of them at once.
		var wg sync.WaitGroup
		errs := make(chan error, len(sessions))
		for _, s := range sessions {
			wg.Go(func() {
				for k := range 4 {
					s.Step++
					s.ExpiresAt = at.Add(time.Duration(round*4+k) * time.Second)
					if err := st.Save(ctx, s, fmt.Sprintf("u%d-%d", round, k)); err != nil {
						errs <- err
						return
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		rev, err := st.Compact(ctx, 20)
		if err != nil || rev == 0 {
			t.Fatalf("Compact = %d, %v", rev, err)
		}
		// Compaction runs in the background of each member; give it a
		// moment to free the pages.
		time.Sleep(300 * time.Millisecond)
		inUse = append(inUse, sharedCluster.dbInUse(t, cli))
	}
	t.Logf("backend size in use after each round: %v bytes", inUse)
	if last, first := inUse[len(inUse)-1], inUse[0]; last > first*5/2 {
		t.Fatalf("backend in use grew from %d to %d bytes over the rounds", first, last)
	}
	if n, err := st.Count(ctx); err != nil || n != 20 {
		t.Fatalf("Count = %d, %v; want 20", n, err)
	}
}
