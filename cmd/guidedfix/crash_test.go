package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/internal/portal"
	"guidedfix/internal/simcustomer"
)

// crashRuns is how many runs of the whole flow TestCrashKill9 makes, each
// killed at its own point, and pollRuns TestCrashKill9Polling's;
// GUIDEDFIX_CRASH_RUNS overrides both.
const (
	crashRuns = 50
	pollRuns  = 20
)

// killPlan says where one run's process is killed (SIGKILL).
type killPlan struct {
	// mode is "before-call" (the fake Bot API got the n-th call of the run
	// and drops it: Telegram never saw it), "after-call" (the fake applied
	// the n-th call; the process dies before reading the answer) or
	// "webhook" (delay after the n-th update was posted) or "poll" (delay
	// after the n-th update was queued for getUpdates).
	mode  string
	n     int
	delay time.Duration
	// again, when positive, kills the restarted process once more that
	// long after it was started (during its recovery).
	again time.Duration
}

func (p killPlan) String() string {
	s := fmt.Sprintf("%s #%d", p.mode, p.n)
	if p.mode == "webhook" || p.mode == "poll" {
		s += fmt.Sprintf(" +%v", p.delay)
	}
	if p.again > 0 {
		s += fmt.Sprintf(", again %v into the restart", p.again)
	}
	return s
}

// killer arms one run's plan; the fake Bot API and the customer call it.
type killer struct {
	srv *server

	mu      sync.Mutex
	plan    killPlan
	armed   bool
	calls   int   // Bot API calls of the run seen before applying
	applied int   // Bot API calls of the run applied
	posts   int   // updates posted (first attempts)
	kills   []int // number of recorded Bot API calls at each kill

	inFlight atomic.Int64 // Bot API requests the fake is applying now
}

// ignored are the calls of a process start, not of the run's chat.
var ignored = map[string]bool{"getUpdates": true, "setMyCommands": true, "setWebhook": true, "deleteWebhook": true, "getMe": true}

func (k *killer) arm(p killPlan) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.plan, k.armed, k.calls, k.applied, k.posts, k.kills = p, true, 0, 0, 0, nil
}

// fire kills the server now (k.mu held).
func (k *killer) fire() {
	k.armed = false
	n := len(k.srv.fake.Calls())
	if k.srv.kill() {
		k.kills = append(k.kills, n)
	}
}

// killAgain kills the server now, whatever the plan (a second kill during
// a recovery).
func (k *killer) killAgain() {
	k.mu.Lock()
	defer k.mu.Unlock()
	n := len(k.srv.fake.Calls())
	if k.srv.kill() {
		k.kills = append(k.kills, n)
	}
}

// onCall is the fake Bot API's OnCall.
func (k *killer) onCall(c fakebotapi.Call, applied bool) bool {
	if ignored[c.Method] {
		return true
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if !applied {
		k.calls++
		if k.armed && k.plan.mode == "before-call" && k.calls == k.plan.n {
			k.fire()
			return false
		}
		k.inFlight.Add(1)
		return true
	}
	k.inFlight.Add(-1)
	k.applied++
	if k.armed && k.plan.mode == "after-call" && k.applied == k.plan.n {
		k.fire()
	}
	return true
}

// beforePost is the customer's BeforePost.
func (k *killer) beforePost(u fakebotapi.Update, attempt int) {
	if attempt != 1 {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	k.posts++
	if k.armed && (k.plan.mode == "webhook" || k.plan.mode == "poll") && k.posts == k.plan.n {
		d := k.plan.delay
		go func() {
			time.Sleep(d)
			k.mu.Lock()
			defer k.mu.Unlock()
			if k.armed {
				k.fire()
			}
		}()
	}
}

// TestCrashKill9 runs the whole flow through the real binary (`guidedfix
// serve`, Telegram webhook, fake Bot API) crashRuns times on one data
// directory, each time for a new customer, and SIGKILLs the process once
// per run at a point drawn from a seeded shuffle of every Bot API call
// (dropped before Telegram saw it, or applied with the answer lost) and of
// random instants after each update; one run in five kills the restarted
// process again during its recovery. After each kill the databases must be
// valid bbolt files; the process is restarted and the customer carries on
// from what the chat shows. Every run must end with the flow done, exactly
// one disable, one TOTP activation, one security alert and one
// confirmation e-mail, no restore, nothing left to deliver, no secret in
// the session store, and no chat message sent twice — except the
// messages, if any, of the one turn whose delivery the kill cut short,
// which the platform accepted while their delivered mark (one save after
// a turn's last reply, issue 14) was not saved yet: the window
// bot/outbox.go documents, which no Bot API client can close. Such
// messages (at most maxWindow) may be sent once more, in the same order,
// as the first messages after the restart; the test counts these.
//
// GUIDEDFIX_CRASH_SEED replays a seed; GUIDEDFIX_CRASH_RUNS changes the
// number of runs.
func TestCrashKill9(t *testing.T) { crashTest(t, false, crashRuns) }

// TestCrashKill9Polling is TestCrashKill9 with Telegram long polling: an
// update getUpdates has handed out is confirmed by the next call, before
// its turn ends; killed in between, the process must neither lose it (it
// is held in sessions.db and replayed at the restart) nor apply it twice.
// The customer never types an input again (no stall repeat), so a lost
// update fails the run.
func TestCrashKill9Polling(t *testing.T) { crashTest(t, true, pollRuns) }

// crashTest runs the crash test with the webhook or long polling.
func crashTest(t *testing.T, polling bool, runs int) {
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("GUIDEDFIX_CRASH_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseUint(v, 10, 64); err != nil {
			t.Fatal(err)
		}
	}
	if v := os.Getenv("GUIDEDFIX_CRASH_RUNS"); v != "" {
		runs, _ = strconv.Atoi(v)
	}
	t.Logf("seed %d (replay with GUIDEDFIX_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))

	dir := t.TempDir()
	accs := addAccounts(t, dir, "crash", runs+1)
	k := &killer{}
	fake := fakebotapi.New(fakebotapi.Options{Token: procToken, BotUsername: procBot, OnCall: k.onCall})
	t.Cleanup(fake.Close)
	srv := newServer(t, dir, fake)
	srv.polling = polling
	k.srv = srv
	inbox := &simcustomer.SMSInbox{Dir: filepath.Join(dir, "outbox", "sms")}
	if err := srv.start(); err != nil {
		t.Fatal(err)
	}

	// Run 0 kills nothing: it counts the Bot API calls and updates of one
	// flow, the space the kill points are drawn from.
	k.arm(killPlan{mode: "none"})
	r0 := crashRun(t, srv, k, accs[0], 0, inbox, killPlan{mode: "none"}, seed)
	k.mu.Lock()
	calls, posts := k.applied, k.posts
	k.mu.Unlock()
	t.Logf("one flow: %d updates, %d Bot API calls (%v)", posts, calls, r0)

	var plans []killPlan
	for n := 1; n <= calls; n++ {
		plans = append(plans, killPlan{mode: "before-call", n: n}, killPlan{mode: "after-call", n: n})
	}
	after := "webhook"
	if polling {
		after = "poll"
	}
	for n := 1; n <= posts; n++ {
		for range 3 {
			plans = append(plans, killPlan{mode: after, n: n, delay: time.Duration(rng.Int64N(int64(40 * time.Millisecond)))})
		}
	}
	rng.Shuffle(len(plans), func(i, j int) { plans[i], plans[j] = plans[j], plans[i] })
	for len(plans) < runs {
		plans = append(plans, plans...)
	}
	plans = plans[:runs]
	for i := range plans {
		if rng.IntN(5) == 0 {
			plans[i].again = time.Duration(rng.Int64N(int64(150 * time.Millisecond)))
		}
	}

	start := time.Now()
	windowDups, byMode := 0, map[string]int{}
	for i, p := range plans {
		dups := crashRun(t, srv, k, accs[i+1], i+1, inbox, p, seed)
		windowDups += dups
		byMode[p.mode] += dups
		if t.Failed() {
			return
		}
	}
	t.Logf("%d kills, %d runs passed in %v; %d message(s) re-sent in the documented window (by kill mode: %v)",
		runs, runs, time.Since(start).Round(time.Millisecond), windowDups, byMode)
}

// crashRun runs the flow for account a in chat 9000+i with plan p and
// checks the run's outcome. It returns the number of messages sent twice
// in the documented window.
func crashRun(t *testing.T, srv *server, k *killer, a account, i int, inbox *simcustomer.SMSInbox, p killPlan, seed uint64) int {
	t.Helper()
	fail := func(format string, args ...any) {
		t.Helper()
		t.Fatalf("run %d (seed %d, kill at %v): %s\nlast server log:\n%s", i, seed, p, fmt.Sprintf(format, args...), srv.lastLog())
	}
	chat := int64(9000 + i)
	cust := srv.customer(a, chat, inbox)
	cust.BeforePost = k.beforePost
	if srv.polling {
		// A lost update would show as a stall the customer breaks by
		// typing again: wait longer than any restart, then count it.
		cust.Stall = 20 * time.Second
	}
	k.arm(p)
	done := make(chan error, 1)
	var repeats int
	go func() { res, err := cust.Run(context.Background()); repeats = res.Repeats; done <- err }()
	restarts := 0
	var again *time.Timer
	// bounds are the number of recorded Bot API calls when a process was
	// started after a kill: every call before one came from a process
	// that was dead by then.
	var bounds []int
	restart := func() error {
		// A request the killed process had written may still be reaching
		// the fake: let it land before drawing the line.
		time.Sleep(20 * time.Millisecond)
		for deadline := time.Now().Add(2 * time.Second); k.inFlight.Load() > 0 && time.Now().Before(deadline); {
			time.Sleep(time.Millisecond)
		}
		bounds = append(bounds, len(srv.fake.Calls()))
		return srv.start()
	}
	for finished := false; !finished; {
		select {
		case err := <-done:
			if err != nil {
				fail("the flow did not finish: %v", err)
			}
			finished = true
		case <-srv.exitedCh():
			if !srv.wasKilled() {
				fail("the server died on its own: %v", srv.exitErr())
			}
			srv.waitExit()
			checkBolt(t, srv.dir)
			for {
				restarts++
				if p.again > 0 && restarts == 1 {
					again = time.AfterFunc(p.again, k.killAgain)
				}
				err := restart()
				if err == nil {
					break
				}
				if !srv.wasKilled() {
					fail("restart: %v", err)
				}
				srv.waitExit()
				checkBolt(t, srv.dir)
			}
		case <-time.After(2 * time.Minute):
			fail("the run did not finish")
		}
	}
	if again != nil {
		again.Stop()
	}
	k.mu.Lock()
	k.armed = false
	killed := len(k.kills) > 0
	k.mu.Unlock()
	if srv.wasKilled() {
		// A kill came as the flow ended: restart once more.
		srv.waitExit()
		checkBolt(t, srv.dir)
		if err := restart(); err != nil {
			fail("restart: %v", err)
		}
		restarts++
	}
	if srv.polling && repeats != 0 {
		fail("the customer had to type an input again %d time(s): an update was lost", repeats)
	}
	if p.mode != "none" && !killed {
		// The flow finished before the kill point: kill now, the point is
		// "after the last message".
		k.mu.Lock()
		k.fire()
		k.mu.Unlock()
		srv.waitExit()
		checkBolt(t, srv.dir)
		if err := restart(); err != nil {
			fail("restart: %v", err)
		}
		restarts++
	}
	if err := srv.stop(); err != nil {
		fail("%v", err)
	}
	checkBolt(t, srv.dir)

	s := storedSession(t, srv.dir, chat)
	if s == nil || !s.Done || s.State != "done" || len(s.Outbox) != 0 {
		fail("stored session %+v", s)
	}
	e := accountEffects(t, srv.dir, a.email)
	if e.method != portal.MethodTOTP || e.disables != 1 || e.activations != 1 || e.restores != 0 ||
		e.alerts != 1 || e.confirmations != 1 || e.restoredMails != 0 {
		fail("effects %+v, want totp and exactly one disable, activation, alert and confirmation", e)
	}
	raw, err := os.ReadFile(filepath.Join(srv.dir, "sessions.db"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte(a.password)) {
		fail("sessions.db holds the password")
	}
	dups := duplicates(t, srv.fake, chat, bounds, fail)
	t.Logf("run %2d: kill at %-36v %d restart(s), %d message(s) re-sent in the window", i, p, restarts, dups)
	if srv.start() != nil {
		fail("start for the next run")
	}
	return dups
}

// maxWindow is the most messages one turn of the flow sends: the most a
// kill may have sent again (bot/outbox.go).
const maxWindow = 4

// duplicates checks that no message was sent twice into chat, except the
// last k (at most maxWindow) messages the killed process got accepted
// sent again, in the same order, as the first k of the process started
// after the kill (the documented window). bounds are the call counts at
// those starts. It returns how many such re-sends there were.
func duplicates(t *testing.T, fake *fakebotapi.Server, chat int64, bounds []int, fail func(string, ...any)) int {
	t.Helper()
	type sent struct {
		seq int
		key string
	}
	var msgs []sent
	for seq, c := range fake.Calls() {
		if (c.Method != "sendMessage" && c.Method != "sendPhoto") || c.ErrorCode != 0 || c.Fields["chat_id"] != strconv.FormatInt(chat, 10) {
			continue
		}
		photo := sha256.Sum256(c.Files["photo"].Data)
		msgs = append(msgs, sent{seq, c.Method + "\x00" + c.Fields["text"] + c.Fields["caption"] + "\x00" + c.Fields["reply_markup"] + "\x00" + string(photo[:])})
	}
	window := 0
	// resend[i] is the index of the message the i-th one may repeat: for
	// each start after a kill, the longest run of the last k messages
	// before it that the first k after it repeat in order.
	resend := map[int]int{}
	for _, at := range bounds {
		b := slices.IndexFunc(msgs, func(m sent) bool { return m.seq >= at })
		if b < 0 {
			continue
		}
		for k := min(maxWindow, b, len(msgs)-b); k > 0; k-- {
			match := true
			for x := range k {
				match = match && msgs[b-k+x].key == msgs[b+x].key
			}
			if match {
				for x := range k {
					resend[b+x] = b - k + x
				}
				break
			}
		}
	}
	last := map[string]int{} // message key -> index of its latest send
	for i, m := range msgs {
		j, dup := last[m.key]
		last[m.key] = i
		if !dup {
			continue
		}
		// Allowed only as a re-send of the killed turn's delivered
		// messages at the start of the next process.
		r, ok := resend[i]
		ok = ok && r == j
		if !ok {
			var b strings.Builder
			for _, m := range msgs {
				fmt.Fprintf(&b, "\n  call %d: %.60q", m.seq, strings.SplitN(m.key, "\x00", 3)[1])
			}
			fail("message sent twice (calls %d and %d); restarts at call counts %v; messages:%s", msgs[j].seq, m.seq, bounds, b.String())
		}
		window++
	}
	return window
}
