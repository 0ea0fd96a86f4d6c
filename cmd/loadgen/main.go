// Command loadgen is guidedfix's load benchmark. It builds the real
// binary, starts `guidedfix serve` in Telegram webhook mode against an
// in-process fake Bot API (adapters/telegram/fakebotapi) and drives
// simulated customers (internal/simcustomer) through the whole flow, each
// computing its TOTP code from the QR code it received. In one run it
// measures, on this machine and disk:
//
//   - the raw bbolt ceiling: small writes per second with DB.Batch from as
//     many goroutines as there are customers;
//   - the engine alone (in this process: engine, session store, a minimal
//     flow, no HTTP) at that concurrency: durable transitions per second;
//   - N concurrent customers with the OWASP argon2id cost, the password
//     step sent by all of them at the same instant (a burst of N password
//     attempts), then again with argon2id lowered for the benchmark only:
//     completed flows and user turns per second, turn latency (webhook
//     request sent → last reply accepted by the fake Bot API), the
//     webhook's answer time (it answers 200 once the update is held, before
//     the turn), errors,
//     peak resident memory, and the server's durable transitions (session
//     saves) per second against the bbolt ceiling;
//   - resident memory per idle session: 10,000 conversations left waiting
//     for a password.
//
// Phases not run by default (-phases):
//
//   - polling (issue 14): the lowered-cost flow with Telegram long
//     polling instead of the webhook (each update queued in the fake for
//     getUpdates; the turn latency from the queueing to the last reply);
//   - limits (issue 14): the lowered-cost flow for -flood-customers (500)
//     with Telegram's default outbound limits and no 429s;
//   - remote: the lowered-cost flow with the portal core in its own
//     `guidedfix portal serve` process, over HTTP on loopback;
//   - flood (issue 10): the lowered-cost flow for -flood-customers (500)
//     with Telegram's default outbound limits (30 messages/s, one per
//     chat per second) against a fake Bot API that answers 429 "retry
//     after 1" to a share (-flood-share) of its calls, each picked call
//     -flood-repeat times in a row; it reports the 429s and, per chat,
//     replies lost or out of order against the sequence most chats got;
//   - etcd (issue 17): the lowered-cost flow for -etcd-customers (150) on
//     -replicas (3) `guidedfix serve` processes with store.backend etcd
//     on as many embedded etcd members in this process, the portal behind
//     HTTP, each webhook request sent to a replica picked at random by an
//     in-process load balancer; it adds the members' gRPC requests per
//     user turn.
//
// Every flow phase also reports, per completed flow, the messages sent
// and the Bot API calls by method (from the fake's record), the durable
// session saves (the sessions' versions) and sessions.db's durable writes
// and commits (from the server's /metrics), and the server's CPU per user
// turn.
//
// E-mail leaves the server as in production, over SMTP (smtp.host,
// smtp.tls none on loopback) to a real SMTP server in this process on
// 127.0.0.1:<random port> that counts the messages and discards them
// (smtpsink.go); each flow phase reports the e-mails received per flow.
// SMS leave the same way, as signed JSON POSTs to portal.sms.gateway_url
// (http on loopback), at an SMS gateway in this process on
// 127.0.0.1:<random port> that checks each signature and keeps the latest
// code per phone number, from which the simulated customers read their
// codes (smsgateway.go); the secret reaches the server in a 0600 file
// (portal.sms.gateway_secret_file). Each flow phase reports the SMS
// received per flow.
//
// It prints the results as Markdown (BENCHMARKS.md).
//
//	go run ./cmd/loadgen [-customers 1000] [-idle 10000]
//	go run ./cmd/loadgen -phases flood,etcd
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/bot"
	"guidedfix/internal/boltgroup"
	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/simcustomer"
	"guidedfix/internal/store"
)

const (
	token  = "123456:LOAD-token"
	secret = "load_Webhook-secret"
)

type options struct {
	customers int
	idle      int
	ceiling   time.Duration
	bin       string
	phases    string
	profile   string
	work      string
	keep      bool
	// flood phase (issue 10)
	floodCustomers int
	floodShare     float64
	floodRepeat    int
	// etcd phase (issue 17)
	etcdCustomers int
	replicas      int
}

func main() {
	var o options
	flag.IntVar(&o.customers, "customers", 1000, "concurrent customers in each flow phase")
	flag.IntVar(&o.idle, "idle", 10000, "idle sessions for the memory measurement")
	flag.DurationVar(&o.ceiling, "ceiling-time", 5*time.Second, "how long the raw bbolt and engine-only measurements run")
	flag.StringVar(&o.bin, "bin", "", "guidedfix binary to run (default: go build ./cmd/guidedfix)")
	flag.StringVar(&o.phases, "phases", "ceiling,engine,owasp,lowered,burst,idle", "phases to run, comma-separated; also remote: the lowered phase with the portal behind HTTP (guidedfix portal serve) on loopback; "+
		"flood: the lowered phase with Telegram's default outbound limits against a Bot API answering 429 to a share of calls; "+
		"etcd: the lowered phase on -replicas serve processes sharing an embedded etcd cluster, the portal behind HTTP")
	flag.StringVar(&o.profile, "profile", "", "directory for the server's CPU profile of each flow phase (pprof)")
	flag.StringVar(&o.work, "work", "", "work directory on the disk to measure (default: a new temporary directory)")
	flag.BoolVar(&o.keep, "keep", false, "keep the work directory")
	flag.IntVar(&o.floodCustomers, "flood-customers", 500, "concurrent customers in the flood phase")
	flag.Float64Var(&o.floodShare, "flood-share", 0.1, "flood phase: share of Bot API calls answered 429 \"retry after 1\"")
	flag.IntVar(&o.floodRepeat, "flood-repeat", 5, "flood phase: how many times in a row a picked call is answered 429")
	flag.IntVar(&o.etcdCustomers, "etcd-customers", 150, "concurrent customers in the etcd phase")
	flag.IntVar(&o.replicas, "replicas", 3, "etcd phase: guidedfix serve replicas (on as many embedded etcd members)")
	self := flag.String("self-profile", "", "write loadgen's own CPU profile (customers, fake Bot API) to this file")
	flag.Parse()
	log.SetFlags(log.Ltime)
	if *self != "" {
		f, err := os.Create(*self)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(o); err != nil {
		pprof.StopCPUProfile()
		log.Fatal(err)
	}
}

func run(o options) error {
	if o.work == "" {
		dir, err := os.MkdirTemp("", "guidedfix-bench-")
		if err != nil {
			return err
		}
		o.work = dir
	}
	if !o.keep {
		defer os.RemoveAll(o.work)
	}
	if o.bin == "" {
		o.bin = filepath.Join(o.work, "guidedfix")
		log.Printf("building %s", o.bin)
		out, err := exec.Command("go", "build", "-o", o.bin, "./cmd/guidedfix").CombinedOutput()
		if err != nil {
			return fmt.Errorf("go build: %v\n%s", err, out)
		}
	}
	if o.profile != "" {
		if err := os.MkdirAll(o.profile, 0o755); err != nil {
			return err
		}
	}
	want := map[string]bool{}
	for _, p := range strings.Split(o.phases, ",") {
		want[strings.TrimSpace(p)] = true
	}
	var r report
	r.opts = o
	r.cpus = runtime.NumCPU()
	r.goVersion = runtime.Version()
	if want["ceiling"] {
		log.Printf("raw bbolt ceiling: %d goroutines, %v", o.customers, o.ceiling)
		v, err := rawCeiling(filepath.Join(o.work, "ceiling.db"), o.customers, o.ceiling)
		if err != nil {
			return err
		}
		r.ceiling = v
	}
	if want["engine"] {
		log.Printf("engine alone: %d conversations, %v", o.customers, o.ceiling)
		v, err := engineOnly(filepath.Join(o.work, "engine.db"), o.customers, o.ceiling)
		if err != nil {
			return err
		}
		r.engine = v
	}
	for _, ph := range []phase{{name: "owasp"}, {name: "lowered", cheap: true}, {name: "polling", cheap: true, polling: true},
		{name: "remote", cheap: true, remote: true},
		{name: "limits", cheap: true, customers: o.floodCustomers, limits: true},
		{name: "flood", cheap: true, customers: o.floodCustomers, flood: true},
		{name: "etcd", cheap: true, remote: true, customers: o.etcdCustomers, replicas: o.replicas}} {
		if !want[ph.name] {
			continue
		}
		res, err := flows(o, filepath.Join(o.work, ph.name), ph)
		if err != nil {
			return fmt.Errorf("%s: %w", ph.name, err)
		}
		r.flows = append(r.flows, res)
	}
	if want["burst"] {
		for _, n := range []int{o.customers / 10, o.customers} {
			res, err := burst(o, filepath.Join(o.work, fmt.Sprintf("burst-%d", n)), n)
			if err != nil {
				return fmt.Errorf("burst: %w", err)
			}
			r.bursts = append(r.bursts, res)
		}
	}
	if want["idle"] {
		res, err := idle(o, filepath.Join(o.work, "idle"))
		if err != nil {
			return fmt.Errorf("idle: %w", err)
		}
		r.idle = &res
	}
	r.print(os.Stdout)
	return nil
}

// rawCeiling measures small (100-byte) writes per second with bbolt's
// DB.Batch from g goroutines, each write its own key, for d, on a file
// opened with the options of guidedfix's own files (boltgroup.Options).
func rawCeiling(path string, g int, d time.Duration) (float64, error) {
	db, err := bolt.Open(path, 0o600, boltgroup.Options(0))
	if err != nil {
		return 0, err
	}
	defer func() { db.Close(); os.Remove(path) }()
	if err := db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucketIfNotExists([]byte("b")); return err }); err != nil {
		return 0, err
	}
	var n atomic.Int64
	var wg sync.WaitGroup
	value := make([]byte, 100)
	stop := time.Now().Add(d)
	start := time.Now()
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; time.Now().Before(stop); j++ {
				key := []byte(strconv.Itoa(i) + "-" + strconv.Itoa(j))
				if err := db.Batch(func(tx *bolt.Tx) error { return tx.Bucket([]byte("b")).Put(key, value) }); err != nil {
					log.Print(err)
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	return float64(n.Load()) / time.Since(start).Seconds(), nil
}

// stepFlow is the engine-only benchmark's flow: every event is a new step
// with one reply, like a button press in the real flow.
type stepFlow struct{}

func (stepFlow) Name() string { return "step" }
func (stepFlow) Start(ctx context.Context, t *bot.Turn) error {
	t.Goto("s0")
	t.Say("engine.help_idle", nil)
	return nil
}
func (stepFlow) Handle(ctx context.Context, t *bot.Turn) error {
	t.Goto(bot.State("s" + strconv.Itoa(t.Session.Step%10)))
	t.Say("engine.help_idle", nil)
	return nil
}
func (stepFlow) Expire(ctx context.Context, t *bot.Turn) error { return nil }

type nullDeliverer struct{ n atomic.Int64 }

func (d *nullDeliverer) Deliver(ctx context.Context, to bot.Conversation, r bot.Reply) (string, error) {
	return strconv.FormatInt(d.n.Add(1), 10), nil
}

type engineResult struct {
	turns, saves float64 // per second
}

// engineOnly drives g conversations through the real engine and session
// store (no HTTP, no portal core) for d and counts turns and session saves.
func engineOnly(path string, g int, d time.Duration) (engineResult, error) {
	st, err := store.Open(store.Options{Path: path})
	if err != nil {
		return engineResult{}, err
	}
	defer func() { st.Close(); os.Remove(path) }()
	e, err := bot.New(bot.Options{Store: st, Flows: []bot.Flow{stepFlow{}}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		return engineResult{}, err
	}
	e.Register("bench", &nullDeliverer{})
	var turns atomic.Int64
	var wg sync.WaitGroup
	ctx := context.Background()
	stop := time.Now().Add(d)
	start := time.Now()
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := bot.Conversation{Channel: "bench", ID: strconv.Itoa(i)}
			for j := 0; time.Now().Before(stop); j++ {
				ev := bot.Event{Conversation: c, UserID: "u", UpdateID: strconv.Itoa(i) + "-" + strconv.Itoa(j), Kind: bot.KindText, Text: "x"}
				if j == 0 {
					ev.Kind = bot.KindStart
				}
				if err := e.Handle(ctx, ev); err != nil {
					log.Print(err)
					return
				}
				turns.Add(1)
			}
		}()
	}
	wg.Wait()
	el := time.Since(start).Seconds()
	var saves uint64
	for i := 0; i < g; i++ {
		s, err := st.Load(ctx, bot.Conversation{Channel: "bench", ID: strconv.Itoa(i)})
		if err == nil {
			saves += s.Version
		}
	}
	return engineResult{turns: float64(turns.Load()) / el, saves: float64(saves) / el}, nil
}

// server is one guidedfix serve process.
type server struct {
	bin, dir, listen, debug string
	cmd                     *exec.Cmd
	exited                  chan struct{}
	logPath                 string
}

func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func startServer(bin, dir string, fake *fakebotapi.Server, cheap bool, extraEnv ...string) (*server, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	debug, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, dir: dir, listen: listen, debug: debug, exited: make(chan struct{}), logPath: filepath.Join(dir, "serve.log")}
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"TELEGRAM_BOT_TOKEN=" + token,
		"GUIDEDFIX_DATA_DIR=" + dir,
		"GUIDEDFIX_TELEGRAM__API_URL=" + fake.URL,
		"GUIDEDFIX_TELEGRAM__WEBHOOK_URL=https://bot.example.com/telegram",
		"GUIDEDFIX_TELEGRAM__WEBHOOK_SECRET=" + secret,
		"GUIDEDFIX_TELEGRAM__LISTEN=" + listen,
		"GUIDEDFIX_TELEGRAM__BOT_USERNAME=guidedfix_bot",
		// The fake Bot API has no rate limits; Telegram's would make the
		// benchmark measure them (30 messages/s) instead of guidedfix.
		"GUIDEDFIX_TELEGRAM__PER_CHAT_INTERVAL=-1s",
		"GUIDEDFIX_TELEGRAM__GLOBAL_PER_SECOND=-1",
		"GUIDEDFIX_LOG__LEVEL=warn",
	}
	if v := os.Getenv("LOADGEN_SERVER_ENV"); v != "" {
		env = append(env, strings.Fields(v)...) // experiments: extra configuration
	}
	if cheap {
		env = append(env, "GUIDEDFIX_PORTAL__ARGON2__MEMORY_KIB=64", "GUIDEDFIX_PORTAL__ARGON2__TIME=1")
	}
	env = withEnv(env, extraEnv...)
	// Ready when the webhook is registered, or with long polling (no
	// webhook URL) at deleteWebhook, the call before the first getUpdates.
	readyMethod := "deleteWebhook"
	if slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "GUIDEDFIX_TELEGRAM__WEBHOOK_URL=") }) {
		readyMethod = "setWebhook"
	}
	ready := len(fake.Calls(readyMethod))
	s.cmd = exec.Command(bin, "serve", "--debug-listen", debug)
	s.cmd.Env, s.cmd.Stdout, s.cmd.Stderr = env, logf, logf
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); logf.Close(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for len(fake.Calls(readyMethod)) <= ready {
		select {
		case <-s.exited:
			b, _ := os.ReadFile(s.logPath)
			return nil, fmt.Errorf("guidedfix serve ended: %s", b)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("guidedfix serve did not call %s", readyMethod)
		}
	}
	return s, nil
}

// portalToken is the service token between the remote phase's processes.
const portalToken = "loadgen-portal-service-token-0123456789"

// startPortal runs `guidedfix portal serve` on dir (the remote phase) and
// waits until it answers on its address.
func startPortal(bin, dir string, cheap bool, extraEnv ...string) (*server, error) {
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	s := &server{bin: bin, dir: dir, listen: listen, exited: make(chan struct{}), logPath: filepath.Join(dir, "portal.log")}
	logf, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	env := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GUIDEDFIX_DATA_DIR=" + dir,
		"GUIDEDFIX_PORTAL__SERVE__TOKENS=" + portalToken, "GUIDEDFIX_LOG__LEVEL=warn"}
	if cheap {
		env = append(env, "GUIDEDFIX_PORTAL__ARGON2__MEMORY_KIB=64", "GUIDEDFIX_PORTAL__ARGON2__TIME=1")
	}
	env = withEnv(env, extraEnv...)
	s.cmd = exec.Command(bin, "portal", "serve", "--listen", listen)
	s.cmd.Env, s.cmd.Stdout, s.cmd.Stderr = env, logf, logf
	if err := s.cmd.Start(); err != nil {
		return nil, err
	}
	go func() { _ = s.cmd.Wait(); logf.Close(); close(s.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.Dial("tcp", listen)
		if err == nil {
			c.Close()
			return s, nil
		}
		select {
		case <-s.exited:
			b, _ := os.ReadFile(s.logPath)
			return nil, fmt.Errorf("guidedfix portal serve ended: %s", b)
		case <-time.After(5 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return nil, errors.New("guidedfix portal serve did not listen")
		}
	}
}

func (s *server) stop() error {
	if err := s.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-s.exited:
	case <-time.After(time.Minute):
		_ = s.cmd.Process.Kill()
		return errors.New("guidedfix serve did not stop within a minute of SIGTERM")
	}
	if st := s.cmd.ProcessState; !st.Success() {
		return fmt.Errorf("guidedfix serve exited %v", st)
	}
	return nil
}

// status reads VmRSS and VmHWM (bytes) of the server process.
func (s *server) status() (rss, hwm int64) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		return 0, 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			rss = n << 10
		case "VmHWM":
			hwm = n << 10
		}
	}
	return rss, hwm
}

// cpu returns the server's user+system CPU time so far.
func (s *server) cpu() time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// freeMemory asks the server to collect garbage and return free memory to
// the OS (serve --debug-listen).
func (s *server) freeMemory() {
	resp, err := http.Post("http://"+s.debug+"/debug/free-os-memory", "", nil)
	if err == nil {
		resp.Body.Close()
	}
}

// heapInuse reads runtime.MemStats.HeapInuse from the server's expvar.
func (s *server) heapInuse() int64 {
	resp, err := http.Get("http://" + s.debug + "/debug/vars")
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	var v struct {
		Memstats struct{ HeapInuse int64 } `json:"memstats"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&v)
	return v.Memstats.HeapInuse
}

func (s *server) cpuProfile(path string, d time.Duration) error {
	return s.fetch(fmt.Sprintf("/debug/pprof/profile?seconds=%d", int(d.Seconds())), path)
}

// fetch saves a debug endpoint's answer (a profile) to path.
func (s *server) fetch(endpoint, path string) error {
	resp, err := http.Get("http://" + s.debug + endpoint)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, resp.Body)
	return err
}

// errorLines counts the ERROR lines of the server's log.
func (s *server) errorLines() (int, string) {
	b, _ := os.ReadFile(s.logPath)
	n, first := 0, ""
	for _, l := range strings.Split(string(b), "\n") {
		if strings.Contains(l, "level=ERROR") {
			if n == 0 {
				first = l
			}
			n++
		}
	}
	return n, first
}

type account struct{ email, password, phone string }

// addAccounts creates n accounts with SMS 2FA, hashed with p.
func addAccounts(dir string, n int, p embedded.Argon2Params) ([]account, error) {
	ob, err := mail.NewOutbox(filepath.Join(dir, "outbox", "mail"))
	if err != nil {
		return nil, err
	}
	core, err := embedded.Open(embedded.Options{
		Path: filepath.Join(dir, "portal.db"), KeyFile: filepath.Join(dir, "portal.key"),
		Mail: ob, SMS: embedded.FileSMS{Dir: filepath.Join(dir, "outbox", "sms")}, Argon2: p,
	})
	if err != nil {
		return nil, err
	}
	defer core.Close()
	accs := make([]account, n)
	var wg sync.WaitGroup
	var first atomic.Pointer[error]
	sem := make(chan struct{}, 2*runtime.NumCPU())
	for i := range accs {
		accs[i] = account{email: fmt.Sprintf("load-%d@example.com", i), password: fmt.Sprintf("pw-load-%d-Secret!", i), phone: fmt.Sprintf("+6012%07d", i)}
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			a := accs[i]
			if _, err := core.AddAccount(context.Background(), embedded.NewAccount{Email: a.email, Name: "Load " + a.email,
				Phone: a.phone, Method: portal.MethodSMS, Password: a.password}); err != nil {
				first.CompareAndSwap(nil, &err)
			}
		}()
	}
	wg.Wait()
	if e := first.Load(); e != nil {
		return nil, *e
	}
	return accs, nil
}

type flowResult struct {
	name          string
	cheap         bool
	customers     int
	completed     int
	errors        []string
	serverErrors  int
	firstError    string
	wall          time.Duration
	turns         int
	redeliveries  int
	repeats       int
	latencies     []time.Duration
	acks          []time.Duration // webhook answers (200)
	baseRSS       int64
	peakRSS       int64 // VmHWM
	burstPeak     int64 // highest VmRSS sample during the password burst
	burstTime     time.Duration
	saves         uint64 // Σ session versions
	notDone       int
	pending       int // sessions with undelivered replies
	serverCPU     time.Duration
	argon2Memory  uint32
	argon2Time    uint32
	hashSlots     int
	sessionsBytes int64
	// remote: the portal ran as `guidedfix portal serve` in its own
	// process, reached over HTTP on loopback; portalCPU is its CPU time.
	remote    bool
	portalCPU time.Duration
	// flood: the fake Bot API answered 429 to a share of calls and the
	// server ran with Telegram's default outbound limits.
	flood                             bool
	floods                            int64 // 429s answered
	apiCalls, apiRefused              int   // Bot API calls other than getUpdates; of them refused with 429
	lostReplies, reordered, extraRepl int
	// replicas > 0: that many serve processes on an embedded etcd
	// cluster; etcdReqs are the members' unary requests by method.
	replicas int
	etcdReqs map[string]float64
	// polling: Telegram long polling instead of the webhook; limits:
	// Telegram's default outbound limits (30/s overall, 1/s per chat).
	polling, limits bool
	// byMethod counts the Bot API calls of the customers' chats by
	// method (429s included), messages the accepted sends and photos.
	byMethod map[string]int
	// inWebhook counts those of byMethod that went in the webhook's
	// answers (fakebotapi Call.Webhook), by method: no request of their
	// own.
	inWebhook map[string]int
	// mails: e-mails the SMTP sink accepted during the phase;
	// smtpConns the SMTP connections it accepted.
	mails     int64
	smtpConns int64
	// sms: distinct messages the SMS gateway accepted during the phase;
	// smsRefused: its requests answered 4xx (bad signature, timestamp).
	sms, smsRefused int64
	messages        int
	// commits are sessions.db's group-commit counters over the phase
	// (durable writes, commits), summed over the replicas.
	commits commitCounts
}

// phase is one flow phase's setup.
type phase struct {
	name      string
	cheap     bool // argon2id lowered for the benchmark
	remote    bool // portal in its own `guidedfix portal serve` process
	customers int  // 0: options.customers
	flood     bool // 429s from the fake, default outbound limits
	replicas  int  // > 0: replicas on an embedded etcd cluster
	polling   bool // Telegram long polling instead of the webhook
	limits    bool // Telegram's default outbound limits (also with flood)
}

// flows runs the phase's customers through the whole flow at once.
func flows(o options, dir string, ph phase) (flowResult, error) {
	name, cheap := ph.name, ph.cheap
	if ph.customers > 0 {
		o.customers = ph.customers
	}
	r := flowResult{name: name, cheap: cheap, customers: o.customers, hashSlots: 2 * runtime.NumCPU(), remote: ph.remote,
		flood: ph.flood, replicas: ph.replicas, polling: ph.polling, limits: ph.limits || ph.flood}
	p := embedded.DefaultArgon2
	if cheap {
		p = embedded.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}
	}
	r.argon2Memory, r.argon2Time = p.Memory, p.Time
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	portalDir := dir
	if r.remote {
		portalDir = filepath.Join(dir, "portal")
		if err := os.MkdirAll(portalDir, 0o700); err != nil {
			return r, err
		}
	}
	log.Printf("%s: creating %d accounts (argon2id m=%d KiB t=%d)", name, o.customers, p.Memory, p.Time)
	accs, err := addAccounts(portalDir, o.customers, p)
	if err != nil {
		return r, err
	}
	// E-mail leaves over SMTP, as in production, to a sink in this
	// process (the .eml outbox's CreateTemp, fsync and rename are a demo's).
	sink, err := startSMTPSink()
	if err != nil {
		return r, err
	}
	defer sink.close()
	// SMS leave through the gateway sender to a signed-JSON endpoint in
	// this process, as in production (the file phone is a demo's).
	smsg, err := startSMSGateway(dir)
	if err != nil {
		return r, err
	}
	defer smsg.close()
	portalEnv := append(sink.env(), smsg.env()...)
	var extraEnv []string
	var psrv *server
	if r.remote {
		psrv, err = startPortal(o.bin, portalDir, cheap, portalEnv...)
		if err != nil {
			return r, err
		}
		defer func() {
			if psrv.cmd.ProcessState == nil {
				_ = psrv.cmd.Process.Kill()
			}
		}()
		extraEnv = []string{"GUIDEDFIX_PORTAL__URL=http://" + psrv.listen, "GUIDEDFIX_PORTAL__TOKEN=" + portalToken}
	} else {
		extraEnv = portalEnv
	}
	if ph.polling {
		extraEnv = append(extraEnv, "GUIDEDFIX_TELEGRAM__WEBHOOK_URL=", "GUIDEDFIX_TELEGRAM__WEBHOOK_SECRET=", "GUIDEDFIX_TELEGRAM__LISTEN=")
	}
	if ph.flood || ph.limits {
		// Telegram's limits, the adapter's defaults (the last value of a
		// repeated variable wins).
		extraEnv = append(extraEnv, "GUIDEDFIX_TELEGRAM__PER_CHAT_INTERVAL=1s", "GUIDEDFIX_TELEGRAM__GLOBAL_PER_SECOND=30")
	}
	var etcd *etcdCluster
	if ph.replicas > 0 {
		log.Printf("%s: starting %d etcd members", name, ph.replicas)
		etcd, err = startEtcd(filepath.Join(dir, "etcd"), ph.replicas)
		if err != nil {
			return r, err
		}
		defer etcd.close()
		extraEnv = append(extraEnv, "GUIDEDFIX_STORE__BACKEND=etcd", "GUIDEDFIX_STORE__ETCD__ENDPOINTS="+strings.Join(etcd.clients, ","))
	}

	var lastMu sync.Mutex
	last := map[int64]time.Time{}
	fopts := fakebotapi.Options{Token: token, BotUsername: "guidedfix_bot", OnCall: func(c fakebotapi.Call, applied bool) bool {
		if applied && c.ErrorCode == 0 {
			if chat, err := strconv.ParseInt(c.Fields["chat_id"], 10, 64); err == nil {
				now := time.Now()
				lastMu.Lock()
				last[chat] = now
				lastMu.Unlock()
			}
		}
		return true
	}}
	var fc *floodControl
	if ph.flood {
		fc = &floodControl{share: o.floodShare, repeat: o.floodRepeat}
		fopts.Flood = fc.call
	}
	fake := fakebotapi.New(fopts)
	defer fake.Close()
	var srvs []*server
	defer func() {
		for _, s := range srvs {
			if s.cmd.ProcessState == nil {
				_ = s.cmd.Process.Kill()
			}
		}
	}()
	n := max(1, ph.replicas)
	dirs := []string{dir}
	if ph.replicas > 0 {
		dirs = nil
		for i := range n {
			d := filepath.Join(dir, fmt.Sprintf("replica-%d", i))
			if err := os.MkdirAll(d, 0o700); err != nil {
				return r, err
			}
			dirs = append(dirs, d)
		}
		if err := writeSessionsKey(dirs); err != nil {
			return r, err
		}
	}
	for _, d := range dirs {
		srv, err := startServer(o.bin, d, fake, cheap, extraEnv...)
		if err != nil {
			return r, err
		}
		srvs = append(srvs, srv)
	}
	webhook := "http://" + srvs[0].listen + "/telegram"
	if len(srvs) > 1 {
		var targets []string
		for _, s := range srvs {
			targets = append(targets, "http://"+s.listen)
		}
		h, err := randomBalancer(targets)
		if err != nil {
			return r, err
		}
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return r, err
		}
		lb := &http.Server{Handler: h}
		go lb.Serve(ln)
		defer lb.Close()
		webhook = "http://" + ln.Addr().String() + "/telegram"
	}
	if ph.polling {
		webhook = ""
	}
	time.Sleep(500 * time.Millisecond)
	calls0 := chatCalls(fake)
	hooked0 := webhookCalls(fake)
	sent0 := messagesSent(fake)
	cpu0 := make([]time.Duration, len(srvs))
	commits0 := make([]commitCounts, len(srvs))
	for i, s := range srvs {
		rss, _ := s.status()
		r.baseRSS = max(r.baseRSS, rss)
		cpu0[i] = s.cpu()
		commits0[i] = s.scrapeCommits("sessions")
	}
	var pcpu0 time.Duration
	if psrv != nil {
		pcpu0 = psrv.cpu()
	}
	var reqs0 map[string]float64
	if etcd != nil {
		reqs0 = etcdRequests()
	}

	client := &http.Client{Transport: &http.Transport{MaxIdleConns: o.customers, MaxIdleConnsPerHost: o.customers, IdleConnTimeout: time.Minute}}

	// The burst: every customer waits before its password until all are
	// there (or gave up), then all send it at once.
	var (
		arrived  atomic.Int64
		release  = make(chan struct{})
		allThere = make(chan struct{})
		once     sync.Once
	)
	arrive := func() {
		if arrived.Add(1) == int64(o.customers) {
			once.Do(func() { close(allThere) })
		}
	}

	timeout := 10 * time.Minute
	if ph.flood || ph.limits {
		// 30 messages/s over all chats: 500 flows of about 25 calls
		// each take 7 minutes at the least.
		timeout = 30 * time.Minute
	}
	results := make([]simcustomer.Result, o.customers)
	errs := make([]error, o.customers)
	chats := make([]int64, o.customers)
	var wg sync.WaitGroup
	start := time.Now()
	for i, a := range accs {
		wg.Add(1)
		held := false
		chats[i] = int64(100000 + i)
		c := &simcustomer.Customer{
			Fake: fake, Webhook: webhook, Secret: secret, Client: client,
			User:  fakebotapi.User{ID: int64(100000 + i), FirstName: "Load", LanguageCode: "en"},
			Email: a.email, Password: a.password, Phone: a.phone, SMS: smsg,
			// The webhook answers before the turn, so the wait for a reply
			// counts against Stall: a burst's queue must not look stalled.
			Stall: 2 * time.Minute, Timeout: timeout,
			LastAccepted: func(chat int64) time.Time {
				lastMu.Lock()
				defer lastMu.Unlock()
				return last[chat]
			},
			BeforeInput: func(kind string) {
				if kind == "password" && !held {
					held = true
					arrive()
					<-release
				}
			},
		}
		go func() {
			defer wg.Done()
			results[i], errs[i] = c.Run(context.Background())
			if !held {
				arrive() // never reached the password: do not hold the others
			}
		}()
	}
	<-allThere
	log.Printf("%s: %d customers at the password step after %v; releasing the burst", name, o.customers, time.Since(start).Round(time.Millisecond))
	burstStart := time.Now()
	// Resident memory from the burst to the end of the phase, every 20 ms.
	stopSampler := sampleRSS(srvs[0], 20*time.Millisecond)
	profDone := make(chan error, 1)
	if o.profile != "" {
		srv := srvs[0]
		go func() { profDone <- srv.cpuProfile(filepath.Join(o.profile, name+".cpu.pprof"), 10*time.Second) }()
		go func() {
			time.Sleep(1500 * time.Millisecond)
			if err := srv.fetch("/debug/pprof/heap", filepath.Join(o.profile, name+".heap.pprof")); err != nil {
				log.Printf("heap profile: %v", err)
			}
		}()
	} else {
		profDone <- nil
	}
	close(release)
	wg.Wait()
	r.wall = time.Since(start)
	r.burstTime = time.Since(burstStart)
	r.burstPeak = stopSampler()
	if err := <-profDone; err != nil {
		log.Printf("profile: %v", err)
	}
	for i, s := range srvs {
		r.serverCPU += s.cpu() - cpu0[i]
		if c := s.scrapeCommits("sessions"); c.ok && commits0[i].ok {
			r.commits.ok = true
			r.commits.writes += c.writes - commits0[i].writes
			r.commits.commits += c.commits - commits0[i].commits
		}
		_, hwm := s.status()
		r.peakRSS = max(r.peakRSS, hwm)
	}
	if psrv != nil {
		r.portalCPU = psrv.cpu() - pcpu0
	}
	if etcd != nil {
		r.etcdReqs = map[string]float64{}
		for m, v := range etcdRequests() {
			if d := v - reqs0[m]; d > 0 {
				r.etcdReqs[m] = d
			}
		}
	}
	for i, res := range results {
		r.turns += res.Turns
		r.redeliveries += res.Redeliveries
		r.repeats += res.Repeats
		r.latencies = append(r.latencies, res.Latencies...)
		r.acks = append(r.acks, res.Acks...)
		if errs[i] != nil {
			r.errors = append(r.errors, errs[i].Error())
		} else {
			r.completed++
		}
	}
	if fc != nil {
		r.floods = fc.n.Load()
	}
	r.lostReplies, r.reordered, r.extraRepl = replyOrder(fake, chats)
	r.byMethod = chatCalls(fake)
	for m, n := range calls0 {
		r.byMethod[m] -= n
	}
	r.inWebhook = webhookCalls(fake)
	for m, n := range hooked0 {
		r.inWebhook[m] -= n
	}
	r.messages = messagesSent(fake) - sent0
	for _, c := range fake.Calls() {
		if c.Method == "getUpdates" {
			continue
		}
		r.apiCalls++
		if c.ErrorCode == http.StatusTooManyRequests {
			r.apiRefused++
		}
	}
	client.CloseIdleConnections()
	for _, s := range srvs {
		if err := s.stop(); err != nil {
			return r, err
		}
		n, first := s.errorLines()
		r.serverErrors += n
		if r.firstError == "" {
			r.firstError = first
		}
	}
	if psrv != nil {
		if err := psrv.stop(); err != nil {
			return r, fmt.Errorf("portal serve: %w", err)
		}
		n, first := psrv.errorLines()
		r.serverErrors += n
		if r.firstError == "" {
			r.firstError = first
		}
	}
	r.mails = sink.accepted.Load()
	r.smtpConns = sink.sessions.Load()
	r.sms, r.smsRefused = smsg.accepted.Load(), smsg.refused.Load()
	if etcd != nil {
		if err := readEtcdSessions(etcd.clients, &r); err != nil {
			return r, err
		}
	} else if err := readSessions(filepath.Join(dir, "sessions.db"), &r); err != nil {
		return r, err
	}
	log.Printf("%s: %d/%d flows in %v (%d turns)", name, r.completed, o.customers, r.wall.Round(time.Millisecond), r.turns)
	return r, nil
}

// readSessions sums the versions (one per durable save) of the Telegram
// sessions in path and counts sessions not done or with replies left.
func readSessions(path string, r *flowResult) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
	if err != nil {
		return err
	}
	defer db.Close()
	if fi, err := os.Stat(path); err == nil {
		r.sessionsBytes = fi.Size()
	}
	return db.View(func(tx *bolt.Tx) error {
		return tx.Bucket([]byte("sessions")).ForEach(func(k, v []byte) error {
			var s bot.Session
			if err := json.Unmarshal(v, &s); err != nil {
				return err
			}
			r.saves += s.Version
			if !s.Done || s.State != "done" {
				r.notDone++
			}
			if len(s.Outbox) > 0 {
				r.pending++
			}
			return nil
		})
	})
}

type burstResult struct {
	n          int
	rss0, peak int64
	took       time.Duration
	failed     int
}

// burst measures the server's resident memory under n password attempts
// sent at the same instant (OWASP argon2id cost): n customers send /start
// and their e-mail, then all send their password at once.
func burst(o options, dir string, n int) (burstResult, error) {
	r := burstResult{n: n}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	log.Printf("burst: %d simultaneous password attempts", n)
	accs, err := addAccounts(dir, n, embedded.DefaultArgon2)
	if err != nil {
		return r, err
	}
	smsg, err := startSMSGateway(dir)
	if err != nil {
		return r, err
	}
	defer smsg.close()
	fake := fakebotapi.New(fakebotapi.Options{Token: token, BotUsername: "guidedfix_bot"})
	defer fake.Close()
	srv, err := startServer(o.bin, dir, fake, false, smsg.env()...)
	if err != nil {
		return r, err
	}
	defer func() {
		if srv.cmd.ProcessState == nil {
			_ = srv.cmd.Process.Kill()
		}
	}()
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: n}}
	hook := "http://" + srv.listen + "/telegram"
	users := make([]fakebotapi.User, n)
	var failed atomic.Int64
	var wg sync.WaitGroup
	for i := range users {
		users[i] = fakebotapi.User{ID: int64(700000 + i), FirstName: "Burst"}
		wg.Add(1)
		go func() {
			defer wg.Done()
			chat := fakebotapi.PrivateChat(users[i])
			for _, text := range []string{"/start", accs[i].email} {
				if code, err := post(client, hook, fake.Text(chat, users[i], text)); err != nil || code != 200 {
					failed.Add(1)
				}
			}
			// welcome, e-mail prompt, password prompt
			if !waitBotMessages(fake, chat.ID, 3, time.Minute) {
				failed.Add(1)
			}
		}()
	}
	wg.Wait()
	time.Sleep(time.Second)
	srv.freeMemory()
	time.Sleep(time.Second)
	r.rss0, _ = srv.status()
	stopPeak := sampleRSS(srv, 10*time.Millisecond)
	gate := make(chan struct{})
	for i := range users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			u := fake.Text(fakebotapi.PrivateChat(users[i]), users[i], accs[i].password)
			<-gate
			if code, err := post(client, hook, u); err != nil || code != 200 {
				failed.Add(1)
			}
			// The webhook answers once the update is held: the attempt
			// is answered when its reply (the SMS prompt) is in the chat.
			if !waitBotMessages(fake, users[i].ID, 4, 5*time.Minute) {
				failed.Add(1)
			}
		}()
	}
	start := time.Now()
	close(gate)
	wg.Wait()
	r.took = time.Since(start)
	r.peak = stopPeak()
	r.failed = int(failed.Load())
	client.CloseIdleConnections()
	return r, srv.stop()
}

type idleResult struct {
	sessions       int
	rss0, rss1     int64
	heap0, heap1   int64
	fileBytes      int64
	wall           time.Duration
	errors         int
	serverErrors   int
	peakRSS        int64
	turnsPerSecond float64
}

// idle leaves o.idle conversations waiting for a password (after /start
// and an e-mail) and measures the server's resident memory per session.
func idle(o options, dir string) (idleResult, error) {
	r := idleResult{sessions: o.idle}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return r, err
	}
	fake := fakebotapi.New(fakebotapi.Options{Token: token, BotUsername: "guidedfix_bot"})
	defer fake.Close()
	srv, err := startServer(o.bin, dir, fake, true)
	if err != nil {
		return r, err
	}
	defer func() {
		if srv.cmd.ProcessState == nil {
			_ = srv.cmd.Process.Kill()
		}
	}()
	settle := func() (int64, int64) {
		time.Sleep(time.Second)
		srv.freeMemory()
		time.Sleep(2 * time.Second)
		srv.freeMemory()
		time.Sleep(time.Second)
		rss, _ := srv.status()
		return rss, srv.heapInuse()
	}
	r.rss0, r.heap0 = settle()
	log.Printf("idle: %d sessions", o.idle)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 256}}
	hook := "http://" + srv.listen + "/telegram"
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < 256; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(o.idle) {
					return
				}
				u := fakebotapi.User{ID: 500000 + i, FirstName: "Idle"}
				chat := fakebotapi.PrivateChat(u)
				for _, text := range []string{"/start", fmt.Sprintf("idle-%d@example.com", i)} {
					if code, err := post(client, hook, fake.Text(chat, u, text)); err != nil || code != 200 {
						failed.Add(1)
					}
				}
				// Parked once the password prompt is in the chat.
				if !waitBotMessages(fake, chat.ID, 3, time.Minute) {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	r.wall = time.Since(start)
	r.turnsPerSecond = float64(2*o.idle) / r.wall.Seconds()
	r.errors = int(failed.Load())
	client.CloseIdleConnections()
	r.rss1, r.heap1 = settle()
	_, r.peakRSS = srv.status()
	if err := srv.stop(); err != nil {
		return r, err
	}
	r.serverErrors, _ = srv.errorLines()
	if fi, err := os.Stat(filepath.Join(dir, "sessions.db")); err == nil {
		r.fileBytes = fi.Size()
	}
	return r, nil
}

// waitBotMessages waits up to timeout until chat shows at least n
// messages from the bot and reports whether it did. The webhook answers
// 200 once an update is held, before its turn: a turn is over when its
// replies are in the chat.
func waitBotMessages(fake *fakebotapi.Server, chat int64, n int, timeout time.Duration) bool {
	for end := time.Now().Add(timeout); ; time.Sleep(20 * time.Millisecond) {
		c := 0
		for _, m := range fake.Messages(chat) {
			if m.From != nil && m.From.IsBot {
				c++
			}
		}
		if c >= n {
			return true
		}
		if time.Now().After(end) {
			return false
		}
	}
}

func post(client *http.Client, url string, u fakebotapi.Update) (int, error) {
	body, err := json.Marshal(u)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secret)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

type report struct {
	opts      options
	cpus      int
	goVersion string
	ceiling   float64
	engine    engineResult
	flows     []flowResult
	bursts    []burstResult
	idle      *idleResult
}

func pct(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(p*float64(len(s))+0.5) - 1
	return s[max(0, min(i, len(s)-1))]
}

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "Measured %s on %d CPUs (%s), %s.\n\n", time.Now().UTC().Format("2006-01-02 15:04 UTC"), r.cpus, runtime.GOARCH, r.goVersion)
	if r.ceiling > 0 {
		fmt.Fprintf(w, "Raw bbolt ceiling on this disk: **%.0f small writes/s** (DB.Batch, %d goroutines, 100-byte values, %v).\n\n",
			r.ceiling, r.opts.customers, r.opts.ceiling)
	}
	if r.engine.turns > 0 {
		fmt.Fprintf(w, "Engine alone (engine + session store, minimal flow, no HTTP, %d conversations): %.0f turns/s, **%.0f durable transitions/s = %.0f %% of the ceiling**.\n\n",
			r.opts.customers, r.engine.turns, r.engine.saves, 100*r.engine.saves/r.ceiling)
	}
	if len(r.flows) > 0 {
		fmt.Fprintf(w, "| %d concurrent customers (unless the column says), whole flow through the Telegram webhook (unless the column says long polling) |", r.opts.customers)
		for _, f := range r.flows {
			if f.polling {
				fmt.Fprintf(w, " argon2id lowered (m=%d KiB, t=%d), **long polling** |", f.argon2Memory, f.argon2Time)
			} else if f.limits && !f.flood {
				fmt.Fprintf(w, " argon2id lowered (m=%d KiB, t=%d), **default outbound limits**, %d customers |", f.argon2Memory, f.argon2Time, f.customers)
			} else if f.replicas > 0 {
				fmt.Fprintf(w, " lowered argon2id (m=%d KiB, t=%d), **%d replicas on a %d-member etcd**, portal over HTTP, %d customers |", f.argon2Memory, f.argon2Time, f.replicas, f.replicas, f.customers)
			} else if f.flood {
				fmt.Fprintf(w, " lowered argon2id (m=%d KiB, t=%d), **429 flood, default outbound limits**, %d customers |", f.argon2Memory, f.argon2Time, f.customers)
			} else if f.remote {
				fmt.Fprintf(w, " lowered argon2id (m=%d KiB, t=%d), **portal over HTTP** (`portal serve`, loopback) |", f.argon2Memory, f.argon2Time)
			} else if f.cheap {
				fmt.Fprintf(w, " argon2id **lowered for the benchmark** (m=%d KiB, t=%d) |", f.argon2Memory, f.argon2Time)
			} else {
				fmt.Fprintf(w, " argon2id OWASP cost (m=%d KiB, t=%d) |", f.argon2Memory, f.argon2Time)
			}
		}
		fmt.Fprint(w, "\n|---|")
		for range r.flows {
			fmt.Fprint(w, "---|")
		}
		fmt.Fprintln(w)
		row := func(name string, f func(flowResult) string) {
			fmt.Fprintf(w, "| %s |", name)
			for _, fr := range r.flows {
				fmt.Fprintf(w, " %s |", f(fr))
			}
			fmt.Fprintln(w)
		}
		row("completed flows", func(f flowResult) string { return fmt.Sprintf("%d / %d", f.completed, f.customers) })
		row("completed flows/s", func(f flowResult) string { return fmt.Sprintf("%.1f", float64(f.completed)/f.wall.Seconds()) })
		row("user turns/s", func(f flowResult) string { return fmt.Sprintf("%.0f", float64(f.turns)/f.wall.Seconds()) })
		row("turn latency p50 / p95 / p99", func(f flowResult) string {
			return fmt.Sprintf("%v / %v / %v", pct(f.latencies, .5).Round(100*time.Microsecond), pct(f.latencies, .95).Round(100*time.Microsecond), pct(f.latencies, .99).Round(100*time.Microsecond))
		})
		row("webhook answer (200) p50 / p95 / p99", func(f flowResult) string {
			if f.polling {
				return "– (long polling)"
			}
			return fmt.Sprintf("%v / %v / %v", pct(f.acks, .5).Round(100*time.Microsecond), pct(f.acks, .95).Round(100*time.Microsecond), pct(f.acks, .99).Round(100*time.Microsecond))
		})
		row("errors (customers, server log), lost turns", func(f flowResult) string {
			return fmt.Sprintf("%d, %d, %d", len(f.errors), f.serverErrors, f.notDone+f.pending)
		})
		row("replies lost / chats out of order / extra replies", func(f flowResult) string {
			return fmt.Sprintf("%d / %d / %d", f.lostReplies, f.reordered, f.extraRepl)
		})
		row("Bot API calls answered 429", func(f flowResult) string { return strconv.FormatInt(f.floods, 10) })
		row("Bot API calls made, per flow (429s included)", func(f flowResult) string {
			return fmt.Sprintf("%d, %.1f (%d refused)", f.apiCalls, float64(f.apiCalls)/float64(max(1, f.completed)), f.apiRefused)
		})
		row("messages sent per flow (sendMessage + sendPhoto accepted)", func(f flowResult) string {
			return fmt.Sprintf("%.1f", float64(f.messages)/float64(max(1, f.completed)))
		})
		row("e-mails received over SMTP per flow (SMTP connections in the phase)", func(f flowResult) string {
			return fmt.Sprintf("%.2f (%d)", float64(f.mails)/float64(max(1, f.completed)), f.smtpConns)
		})
		row("SMS received by the gateway per flow (requests refused)", func(f flowResult) string {
			return fmt.Sprintf("%.2f (%d)", float64(f.sms)/float64(max(1, f.completed)), f.smsRefused)
		})
		row("Bot API calls per flow, by method (429s included)", func(f flowResult) string { return perFlow(f.byMethod, f.completed) })
		row("… of them in webhook answers (no HTTP request of their own), per flow", func(f flowResult) string { return perFlow(f.inWebhook, f.completed) })
		row("user turns per flow", func(f flowResult) string { return fmt.Sprintf("%.1f", float64(f.turns)/float64(max(1, f.completed))) })
		row("etcd requests per user turn (by method)", func(f flowResult) string {
			if f.replicas == 0 {
				return "–"
			}
			var total float64
			var parts []string
			for _, m := range slices.Sorted(maps.Keys(f.etcdReqs)) {
				total += f.etcdReqs[m]
				parts = append(parts, fmt.Sprintf("%s %.1f", m, f.etcdReqs[m]/float64(max(1, f.turns))))
			}
			return fmt.Sprintf("%.1f (%s)", total/float64(max(1, f.turns)), strings.Join(parts, ", "))
		})
		row("webhook redeliveries, repeated inputs", func(f flowResult) string { return fmt.Sprintf("%d, %d", f.redeliveries, f.repeats) })
		row("durable session saves/s (Σ session versions)", func(f flowResult) string {
			return fmt.Sprintf("%.0f (%.1f per flow)", float64(f.saves)/f.wall.Seconds(), float64(f.saves)/float64(max(1, f.completed)))
		})
		if r.ceiling > 0 {
			row("… as share of the raw bbolt ceiling", func(f flowResult) string {
				return fmt.Sprintf("%.1f %%", 100*float64(f.saves)/f.wall.Seconds()/r.ceiling)
			})
		}
		row("sessions.db durable writes / commits per flow (all writes: saves, held and released updates, processed ids)", func(f flowResult) string {
			if !f.commits.ok {
				return "– (not exported by this binary)"
			}
			n := float64(max(1, f.completed))
			return fmt.Sprintf("%.1f / %.1f", f.commits.writes/n, f.commits.commits/n)
		})
		row("server CPU per flow (all replicas)", func(f flowResult) string {
			return fmt.Sprintf("%.1f ms", float64(f.serverCPU.Microseconds())/1000/float64(max(1, f.completed)))
		})
		row("**server CPU per user turn**, and its share of the wall time's 2 CPUs", func(f flowResult) string {
			return fmt.Sprintf("**%.2f ms**, %.0f %%", float64(f.serverCPU.Microseconds())/1000/float64(max(1, f.turns)),
				100*f.serverCPU.Seconds()/f.wall.Seconds()/float64(runtime.NumCPU()))
		})
		row("portal process CPU per flow", func(f flowResult) string {
			if !f.remote {
				return "(in the server)"
			}
			return fmt.Sprintf("%.1f ms", float64(f.portalCPU.Microseconds())/1000/float64(max(1, f.completed)))
		})
		row("server RSS: idle, peak (VmHWM)", func(f flowResult) string { return mib(f.baseRSS) + ", " + mib(f.peakRSS) })
		row("peak RSS during the burst of every customer's password at once (first replica)", func(f flowResult) string {
			return fmt.Sprintf("%s (rest of the phase: %v; %d hashes at most at once)", mib(f.burstPeak), f.burstTime.Round(time.Millisecond), f.hashSlots)
		})
		for _, f := range r.flows {
			for i, e := range f.errors {
				if i == 3 {
					break
				}
				fmt.Fprintf(w, "\n%s: customer error: %s\n", f.name, e)
			}
			if f.firstError != "" {
				fmt.Fprintf(w, "\n%s: first server error: %s\n", f.name, f.firstError)
			}
		}
		fmt.Fprintln(w)
	}
	if len(r.bursts) > 0 {
		fmt.Fprintf(w, "Password bursts (argon2id OWASP cost, at most %d hashes at once): ", 2*r.cpus)
		for j, b := range r.bursts {
			if j > 0 {
				fmt.Fprint(w, "; ")
			}
			fmt.Fprintf(w, "**%d** simultaneous attempts: server RSS %s before, **peak %s** (+%s), all answered in %v, %d errors",
				b.n, mib(b.rss0), mib(b.peak), mib(b.peak-b.rss0), b.took.Round(time.Millisecond), b.failed)
		}
		fmt.Fprint(w, ".\n\n")
	}
	if i := r.idle; i != nil {
		per := float64(i.rss1-i.rss0) / float64(i.sessions)
		fmt.Fprintf(w, "Idle sessions: %d conversations waiting for a password (%.0f turns/s to park them, %d errors): server RSS %s → %s, **%.0f bytes per session**; Go heap in use %s → %s (%.0f bytes per session); sessions.db %s (%.0f bytes per session).\n",
			i.sessions, i.turnsPerSecond, i.errors+i.serverErrors, mib(i.rss0), mib(i.rss1), per, mib(i.heap0), mib(i.heap1),
			float64(i.heap1-i.heap0)/float64(i.sessions), mib(i.fileBytes), float64(i.fileBytes)/float64(i.sessions))
	}
}

// sampleRSS samples the server's resident memory every interval until the
// returned stop is called; stop returns the highest sample, in bytes.
func sampleRSS(srv *server, interval time.Duration) (stop func() int64) {
	done, quit := make(chan struct{}), make(chan struct{})
	var peak atomic.Int64
	go func() {
		defer close(done)
		for {
			if rss, _ := srv.status(); rss > peak.Load() {
				peak.Store(rss)
			}
			select {
			case <-quit:
				return
			case <-time.After(interval):
			}
		}
	}()
	return func() int64 {
		close(quit)
		<-done
		return peak.Load()
	}
}
