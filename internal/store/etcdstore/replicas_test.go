package etcdstore_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"guidedfix/bot"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/store/etcdstore"
	"guidedfix/internal/testkit"
)

// The replica tests run two or three guidedfix engines, each with its own
// etcd store (its own client and lock lease) on one prefix of a real
// three-member cluster. They share one embedded portal core in process:
// the portal over HTTP is another branch's work, and what these tests
// prove (exactly-once effects through the idempotency keys) does not
// depend on the transport.

// chatLog records every reply delivered to each conversation, by any
// replica, in delivery order.
type chatLog struct {
	mu      sync.Mutex
	replies map[string][]bot.Reply
	n       int
}

func (l *chatLog) Deliver(_ context.Context, to bot.Conversation, r bot.Reply) (string, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.replies == nil {
		l.replies = map[string][]bot.Reply{}
	}
	l.replies[to.ID] = append(l.replies[to.ID], r)
	l.n++
	return "m" + strconv.Itoa(l.n), nil
}

func (l *chatLog) of(id string) []bot.Reply {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.replies[id])
}

// deliverer is a replica's way to the chat: a dead replica sends nothing.
type deliverer struct {
	r   *replica
	log *chatLog
}

func (d deliverer) Deliver(ctx context.Context, to bot.Conversation, r bot.Reply) (string, error) {
	if d.r.dead.Load() {
		return "", fmt.Errorf("replica is dead")
	}
	return d.log.Deliver(ctx, to, r)
}

// replica is one guidedfix process: an engine on its own store.
type replica struct {
	store  *etcdstore.Store
	engine *bot.Engine
	dead   atomic.Bool
}

// fleet is n replicas sharing a cluster prefix and one portal core.
type fleet struct {
	t        testing.TB
	env      *testkit.Env
	log      *chatLog
	replicas []*replica
	prefix   string
	hook     func(r int, h bot.Hook, s *bot.Session)
}

func newFleet(t testing.TB, c *cluster, n int, hook func(r int, h bot.Hook, s *bot.Session)) *fleet {
	t.Helper()
	f := &fleet{t: t, env: testkit.New(t, testkit.Options{}), log: &chatLog{}, prefix: fmt.Sprintf("/fleet%d/", prefixes.Add(1)), hook: hook}
	// The knowledge-base order: its disables and deadline restores are
	// the portal effects these tests count exactly once.
	flow := totpswitch.New(totpswitch.Options{Core: f.env.Core, Order: totpswitch.OrderDisableThenEnroll})
	logger := slog.New(slog.NewTextHandler(f.env.Log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for i := range n {
		st, err := etcdstore.Open(etcdstore.Options{
			Endpoints: c.clients, Prefix: f.prefix, LockTTL: 2 * time.Second, Now: f.env.Clock.Now,
			InboxKey: bytes.Repeat([]byte{1}, 32), Logger: logger, RequestTimeout: 3 * time.Second,
		})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		r := &replica{store: st}
		opts := bot.Options{Store: st, Flows: []bot.Flow{flow}, Now: f.env.Clock.Now, Logger: logger.With("replica", i)}
		if hook != nil {
			opts.Hook = func(h bot.Hook, s *bot.Session) { hook(i, h, s) }
		}
		if r.engine, err = bot.New(opts); err != nil {
			t.Fatal(err)
		}
		r.engine.Register("telegram", deliverer{r, f.log})
		f.replicas = append(f.replicas, r)
	}
	return f
}

// customer is one conversation driven through the fleet.
type customer struct {
	f     *fleet
	id    string
	email string
	pw    string
	phone string
	upd   int
	// pick chooses the replica of each request; default at random among
	// the live ones.
	pick func() int
	// errs counts requests that failed and were sent again (a platform
	// redelivering an update it got no 200 for).
	errs atomic.Int64
	// timed, if set, receives the latency of each accepted request.
	timed func(time.Duration)
}

func (f *fleet) customer(i int) *customer {
	f.t.Helper()
	c := &customer{f: f, id: "c" + strconv.Itoa(i), email: fmt.Sprintf("user%d@example.com", i), phone: fmt.Sprintf("+6012%07d", i)}
	c.pw = "pw-" + c.id + "-Secret!"
	if _, err := f.env.Core.AddAccount(context.Background(), embedded.NewAccount{
		Email: c.email, Name: c.id, Phone: c.phone, Method: portal.MethodSMS, Password: c.pw,
	}); err != nil {
		f.t.Fatal(err)
	}
	f.env.AddSecret(c.pw)
	return c
}

func (f *fleet) live() []int {
	var out []int
	for i, r := range f.replicas {
		if !r.dead.Load() {
			out = append(out, i)
		}
	}
	return out
}

// deliver sends ev to a replica until one accepts it (nil from Handle),
// as a webhook platform retries an update until it gets a 200, each time
// to a replica the load balancer picks.
func (c *customer) deliver(ev bot.Event, replica int) error {
	deadline := time.Now().Add(45 * time.Second)
	for {
		r := c.f.replicas[replica]
		began := time.Now()
		err := r.engine.Handle(context.Background(), ev)
		if err == nil && !r.dead.Load() {
			if c.timed != nil {
				c.timed(time.Since(began))
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s: update %s not accepted after 45s: %v", c.id, ev.UpdateID, err)
		}
		c.errs.Add(1)
		time.Sleep(50 * time.Millisecond)
		live := c.f.live()
		replica = live[rand.IntN(len(live))]
	}
}

func (c *customer) next() int {
	if c.pick != nil {
		return c.pick()
	}
	live := c.f.live()
	return live[rand.IntN(len(live))]
}

func (c *customer) event(ev bot.Event) bot.Event {
	c.upd++
	ev.Conversation, ev.UserID, ev.UpdateID = bot.Conversation{Channel: "telegram", ID: c.id}, "u-"+c.id, c.id+"-"+strconv.Itoa(c.upd)
	if ev.Kind == bot.KindText {
		ev.MessageID = "um" + strconv.Itoa(c.upd)
	}
	return ev
}

func (c *customer) send(ev bot.Event) error { return c.deliver(c.event(ev), c.next()) }

// button returns the data of the newest button with action.
func (c *customer) button(action string) string {
	rs := c.f.log.of(c.id)
	for i := len(rs) - 1; i >= 0; i-- {
		for _, b := range rs[i].Buttons {
			if strings.HasPrefix(b.Data, action+"|") {
				return b.Data
			}
		}
	}
	return ""
}

func (c *customer) press(action string) error {
	data := c.button(action)
	if data == "" {
		return fmt.Errorf("%s: no button %q; replies %q", c.id, action, testkit.IDs(c.f.log.of(c.id)))
	}
	return c.send(bot.Event{Kind: bot.KindButton, Data: data})
}

// pressTwice presses action's button on two replicas at the same instant,
// as two deliveries of one update (same update id) when dup, else as a
// double tap (two updates).
func (c *customer) pressTwice(action string, dup bool) error {
	data := c.button(action)
	if data == "" {
		return fmt.Errorf("%s: no button %q", c.id, action)
	}
	a := c.event(bot.Event{Kind: bot.KindButton, Data: data})
	b := a
	if !dup {
		b = c.event(bot.Event{Kind: bot.KindButton, Data: data})
	}
	live := c.f.live()
	i := rand.IntN(len(live))
	ra, rb := live[i], live[(i+1)%len(live)]
	var wg sync.WaitGroup
	var ea, eb error
	start := make(chan struct{})
	wg.Go(func() { <-start; ea = c.deliver(a, ra) })
	wg.Go(func() { <-start; eb = c.deliver(b, rb) })
	close(start)
	wg.Wait()
	if ea != nil {
		return ea
	}
	return eb
}

// toDisable runs the flow up to the "Disable 2FA" prompt.
func (c *customer) toDisable() error {
	if err := c.send(bot.Event{Kind: bot.KindStart}); err != nil {
		return err
	}
	if err := c.send(bot.Event{Kind: bot.KindText, Text: c.email}); err != nil {
		return err
	}
	if err := c.send(bot.Event{Kind: bot.KindText, Text: c.pw}); err != nil {
		return err
	}
	code, n := c.f.env.SMS.LastCode(c.phone)
	if n == 0 {
		return fmt.Errorf("%s: no SMS", c.id)
	}
	c.f.env.AddSecret(code)
	return c.send(bot.Event{Kind: bot.KindText, Text: code})
}

// finish runs the flow from the "Disable 2FA" prompt to the end; the
// disable is pressed on two replicas at once.
func (c *customer) finish(t testing.TB, dup bool) error {
	if err := c.pressTwice("disable", dup); err != nil {
		return err
	}
	if err := c.press("setup"); err != nil {
		return err
	}
	if err := c.press("app"); err != nil {
		return err
	}
	rs := c.f.log.of(c.id)
	var png []byte
	for _, r := range rs {
		if r.ID == "totp.qr_caption" {
			png = r.Image
		}
	}
	if png == nil {
		return fmt.Errorf("%s: no QR code", c.id)
	}
	key := c.f.env.KeyFromQR(t, png)
	if err := c.send(bot.Event{Kind: bot.KindText, Text: c.f.env.TOTPCode(t, key, 0)}); err != nil {
		return err
	}
	return c.press("okay")
}

// happy is the exact reply sequence of a whole flow whose disable was
// pressed twice at once (the second press is a stale button).
func happy(doubleTap bool) []string {
	out := []string{"totp.welcome", "totp.ask_email", "totp.ask_password", "delete:engine.delete_user_secret", "totp.sms_sent",
		"delete:engine.delete_user_secret", "totp.confirm_disable", "totp.disabled", "totp.offer_setup"}
	if doubleTap {
		out = append(out, "engine.stale_button")
	}
	return append(out, "totp.choose_method", "totp.qr_caption", "totp.manual_key", "totp.ask_totp",
		"delete:engine.delete_user_secret", "delete:qr", "delete:key", "totp.activated", "totp.done")
}

// checkStored fails t if a registered secret is in any value under the
// fleet's prefix in etcd.
func (f *fleet) checkStored(t *testing.T, cli *clientv3.Client, secrets ...string) {
	t.Helper()
	resp, err := cli.Get(context.Background(), f.prefix, clientv3.WithPrefix())
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Kvs) == 0 {
		t.Fatal("nothing stored under the fleet's prefix")
	}
	for _, kv := range resp.Kvs {
		for _, s := range secrets {
			if len(s) >= 4 && (bytes.Contains(kv.Value, []byte(s)) || bytes.Contains(kv.Key, []byte(s))) {
				t.Errorf("etcd key %q holds a secret (%d bytes)", kv.Key, len(s))
			}
		}
	}
}

// TestReplicasShareConversations spreads 9 concurrent customers over
// three replicas at random per request; each presses "Disable 2FA" on two
// replicas at the same instant (half as one update delivered twice, half
// as a double tap). Every flow completes with its exact reply sequence
// (in order, none twice) and the portal saw each effect exactly once.
func TestReplicasShareConversations(t *testing.T) {
	f := newFleet(t, sharedCluster, 3, nil)
	const n = 9
	customers := make([]*customer, n)
	for i := range customers {
		customers[i] = f.customer(i)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, c := range customers {
		wg.Go(func() {
			if errs[i] = c.toDisable(); errs[i] == nil {
				errs[i] = c.finish(t, i%2 == 0)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("customer %d: %v", i, err)
		}
	}
	var secrets []string
	for i, c := range customers {
		if got, want := testkit.IDs(f.log.of(c.id)), happy(i%2 == 1); !slices.Equal(got, want) {
			t.Errorf("%s replies\n%q\nwant\n%q", c.id, got, want)
		}
		if c.errs.Load() != 0 {
			t.Errorf("%s: %d requests failed", c.id, c.errs.Load())
		}
		a, err := f.env.Core.LookupAccount(context.Background(), c.email)
		if err != nil || a.Method != portal.MethodTOTP {
			t.Errorf("%s: method %q (%v), want totp", c.id, a.Method, err)
		}
		secrets = append(secrets, c.pw)
	}
	st := f.env.Core.Stats()
	if st.Disables != n || st.Activations != n || st.SMSSent != n || st.AlertsSent != n || st.ConfirmationsSent != n || st.Restores != 0 {
		t.Fatalf("portal stats %+v, want %d of each effect and no restore", st, n)
	}
	f.checkStored(t, sharedCluster.client(t), secrets...)
	var saves, conflicts int64
	for _, r := range f.replicas {
		s := r.store.Stats()
		saves, conflicts = saves+s.Saves, conflicts+s.Conflicts
	}
	t.Logf("%d saves, %d conflicts over 3 replicas", saves, conflicts)
}

// count returns how many of rs have reply id id.
func count(rs []bot.Reply, id string) int {
	n := 0
	for _, r := range rs {
		if r.ID == id {
			n++
		}
	}
	return n
}

// TestReplicaDiesMidFlow kills replica 2 (its store is abandoned as in a
// crash: the lock lease is not revoked) inside a turn, after the checkpoint
// before the portal's disable. The update is delivered again to the other
// replicas, which wait for the dead replica's lock lease to lapse and
// resume the turn: every conversation that ran on replica 2 completes on
// the others with its exact reply sequence and one disable each. Then the
// deadlines replica 2 set (sessions abandoned by their users, two of them
// with SMS already off) fire exactly once although both survivors sweep at
// the same time: one expiry message each, SMS restored once.
func TestReplicaDiesMidFlow(t *testing.T) {
	var armed, killed atomic.Bool
	var f *fleet
	f = newFleet(t, sharedCluster, 3, func(r int, h bot.Hook, s *bot.Session) {
		if r == 2 && h == bot.HookCheckpoint && armed.Load() && killed.CompareAndSwap(false, true) {
			f.replicas[2].dead.Store(true)
			f.replicas[2].store.Abandon()
		}
	})
	onTwo := func() int {
		if !f.replicas[2].dead.Load() {
			return 2
		}
		return rand.IntN(2)
	}
	victims := make([]*customer, 4)
	idle := make([]*customer, 4)
	for i := range victims {
		victims[i], idle[i] = f.customer(i), f.customer(10+i)
		victims[i].pick, idle[i].pick = onTwo, onTwo
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for _, c := range append(slices.Clone(victims), idle...) {
		wg.Go(func() { errs <- c.toDisable() })
	}
	wg.Wait()
	for _, c := range idle[2:] {
		if err := c.press("disable"); err != nil {
			t.Fatal(err)
		}
	}
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	// The first victim's disable kills replica 2 after its checkpoint.
	armed.Store(true)
	errs = make(chan error, 4)
	for _, c := range victims {
		wg.Go(func() { errs <- c.finish(t, false) })
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if !killed.Load() {
		t.Fatal("replica 2 was never killed")
	}
	for _, c := range victims {
		// Each pressed disable on two replicas (a double tap); the stale
		// answer to one of them comes before or after the disable,
		// depending on which turn got the conversation first.
		got := testkit.IDs(f.log.of(c.id))
		stale := slices.Index(got, "engine.stale_button")
		if stale >= 0 {
			got = slices.Delete(got, stale, stale+1)
		}
		if want := happy(false); stale < 0 || !slices.Equal(got, want) {
			t.Errorf("%s replies\n%q\nwant, with one engine.stale_button\n%q", c.id, testkit.IDs(f.log.of(c.id)), want)
		}
	}
	if victims[0].errs.Load()+victims[1].errs.Load()+victims[2].errs.Load()+victims[3].errs.Load() == 0 {
		t.Errorf("the killed turn's update was never delivered again")
	}
	st := f.env.Core.Stats()
	if st.Disables != 6 || st.Activations != 4 || st.Restores != 0 {
		t.Fatalf("portal stats after the kill %+v, want 6 disables, 4 activations", st)
	}

	// The idle customers' sessions expire; both survivors sweep at once,
	// three times.
	f.env.Clock.Advance(16 * time.Minute)
	for range 3 {
		for _, r := range f.replicas[:2] {
			wg.Go(func() {
				if _, err := r.engine.Sweep(context.Background(), 100); err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	for i, c := range idle {
		rs := f.log.of(c.id)
		restored := 0
		if i >= 2 {
			restored = 1
		}
		if count(rs, "totp.expired") != 1 || count(rs, "totp.restored") != restored {
			t.Errorf("%s replies %q: want one totp.expired and %d totp.restored", c.id, testkit.IDs(rs), restored)
		}
		a, err := f.env.Core.LookupAccount(context.Background(), c.email)
		if err != nil || a.Method != portal.MethodSMS {
			t.Errorf("%s: method %q (%v) after expiry, want sms", c.id, a.Method, err)
		}
		s, err := f.replicas[0].engine.Session(context.Background(), bot.Conversation{Channel: "telegram", ID: c.id})
		if err != nil || !s.Done {
			t.Errorf("%s: session after expiry %+v (%v), want done", c.id, s, err)
		}
	}
	if st := f.env.Core.Stats(); st.Restores != 2 || st.RestoreMailsSent != 2 {
		t.Fatalf("portal stats after expiry %+v, want 2 restores and 2 restore mails", st)
	}
}

// TestLeaderKilledUnderLoad kills the etcd leader while 6 customers run on
// two replicas. Turns in flight fail or time out and are delivered again
// (same update id, so the same idempotency keys): every flow completes,
// the portal saw each effect exactly once, and apart from the "please try
// again" answers to failed turns (engine.internal_error) each conversation
// got its exact reply sequence.
func TestLeaderKilledUnderLoad(t *testing.T) {
	c := startCluster(t, 3, "")
	f := newFleet(t, c, 2, nil)
	const n = 6
	customers := make([]*customer, n)
	for i := range customers {
		customers[i] = f.customer(i)
	}
	var turns atomic.Int64
	killed := make(chan int, 1)
	afterKill := make(chan struct{})
	go func() {
		defer close(afterKill)
		for give := time.Now().Add(time.Minute); turns.Load() < 3*n; time.Sleep(10 * time.Millisecond) {
			if time.Now().After(give) {
				return // a customer failed early: reported below
			}
		}
		l := c.leader(t)
		c.kill(l)
		killed <- l
	}()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i, cu := range customers {
		wg.Go(func() {
			for _, step := range []func() error{
				func() error { return cu.send(bot.Event{Kind: bot.KindStart}) },
				func() error { return cu.send(bot.Event{Kind: bot.KindText, Text: cu.email}) },
				func() error { return cu.send(bot.Event{Kind: bot.KindText, Text: cu.pw}) },
			} {
				if errs[i] = step(); errs[i] != nil {
					return
				}
				turns.Add(1)
			}
			// The rest of every flow runs on the cluster without its old
			// leader (a fast machine would otherwise finish every flow
			// before the kill).
			<-afterKill
			code, k := f.env.SMS.LastCode(cu.phone)
			if k != 1 {
				errs[i] = fmt.Errorf("%s: %d SMS", cu.id, k)
				return
			}
			f.env.AddSecret(code)
			if errs[i] = cu.send(bot.Event{Kind: bot.KindText, Text: code}); errs[i] == nil {
				errs[i] = cu.finish(t, true)
			}
		})
	}
	wg.Wait()
	select {
	case l := <-killed:
		t.Logf("killed leader m%d", l)
	default:
		t.Fatal("the leader was never killed")
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("customer %d: %v", i, err)
		}
	}
	retried := int64(0)
	for _, cu := range customers {
		got := slices.DeleteFunc(testkit.IDs(f.log.of(cu.id)), func(id string) bool { return id == bot.MsgInternalError })
		if want := happy(false); !slices.Equal(got, want) {
			t.Errorf("%s replies\n%q\nwant\n%q", cu.id, got, want)
		}
		retried += cu.errs.Load()
	}
	st := f.env.Core.Stats()
	if st.Disables != n || st.Activations != n || st.SMSSent != n || st.AlertsSent != n || st.ConfirmationsSent != n || st.Restores != 0 {
		t.Fatalf("portal stats %+v, want %d of each effect", st, n)
	}
	var amb int64
	for _, r := range f.replicas {
		amb += r.store.Stats().Ambiguous
	}
	t.Logf("%d deliveries repeated, %d transactions read back after an unknown outcome", retried, amb)
}
