// Package metrics owns guidedfix's Prometheus registry and every metric it
// exports on the ops listener's /metrics (github.com/prometheus/client_golang).
// Names and labels follow the Prometheus naming conventions
// (https://prometheus.io/docs/practices/naming/): a guidedfix_ prefix,
// _total for counters, base units (_seconds). No label carries a user id,
// an e-mail address, a chat id or a token: labels are flow, channel, state,
// outcome, operation, platform, API method, result and database names,
// all from small fixed sets.
//
// The measurements come in through narrow seams: [Metrics.Observe] is a
// bot.Options.Observer (flow outcomes, the funnel), [Metrics] is a
// bot.Meter (turn latency, the sweeper) and a bot.TransitionMeter (state
// changes a flow's transition table does not list), [Metrics.Portal] decorates a
// portal.Core, [Metrics.Transport] an http.RoundTripper of a platform's
// API client, [Metrics.Mail] a mail.Sender, and [Metrics.AddBolt] reads a
// bbolt database's Stats at each scrape.
package metrics

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"go.etcd.io/bbolt"

	"guidedfix/bot"
)

// CompletedState is the terminal state of a flow that reached its goal;
// its outcome label is "completed", every other terminal state's outcome
// is the state's own name (cancelled, expired, failed, locked, …).
const CompletedState bot.State = "done"

// turnBuckets are the turn latency buckets in seconds: a turn that only
// answers takes milliseconds, one that hashes a password (argon2id) or
// calls a remote portal tens to hundreds of milliseconds.
var turnBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}

// Metrics holds the registry and the metric vectors. Create it with
// [New]; it is safe for concurrent use.
type Metrics struct {
	reg *prometheus.Registry

	flowsStarted  *prometheus.CounterVec
	flowsEnded    *prometheus.CounterVec
	flowsRestored *prometheus.CounterVec
	funnel        *prometheus.CounterVec
	unlisted      *prometheus.CounterVec

	turnSeconds *prometheus.HistogramVec
	turnErrors  *prometheus.CounterVec

	sweepSeconds prometheus.Histogram
	deadlinesDue prometheus.Gauge
	deadlineLag  prometheus.Histogram

	portalCalls   *prometheus.CounterVec
	portalSeconds *prometheus.HistogramVec

	apiCalls       *prometheus.CounterVec
	apiSeconds     *prometheus.HistogramVec
	apiRateLimited *prometheus.CounterVec
	apiRetries     *prometheus.CounterVec
	rateWait       *prometheus.HistogramVec

	mailQueued  prometheus.Counter
	mailSent    prometheus.Counter
	mailRetried prometheus.Counter
	mailFailed  prometheus.Counter

	bolt *boltCollector

	// commits is the group-commit collector (commits.go), registered by
	// the first AddCommits.
	commits     *commitCollector
	commitsOnce sync.Once

	pendingMu sync.Mutex
	pending   map[string]int // conversation -> replies waiting (never a label)
	// names are the sample names of every metric defined here.
	names []string
}

// New returns metrics registered on a new registry, together with the Go
// runtime and process collectors (go_*, process_*).
func New() *Metrics {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	var names []string
	f := factory{reg, &names}
	m := &Metrics{
		reg: reg,
		flowsStarted: f.counterVec("guidedfix_flows_started_total",
			"Guided flows started, by flow and channel.", "flow", "channel"),
		flowsEnded: f.counterVec("guidedfix_flows_finished_total",
			"Guided flows that ended, by flow, channel and outcome (completed, cancelled, expired, failed, locked, already_totp).",
			"flow", "channel", "outcome"),
		flowsRestored: f.counterVec("guidedfix_flows_restored_total",
			"Guided flows that gave the removed SMS second factor back before ending, by flow, channel and outcome.",
			"flow", "channel", "outcome"),
		funnel: f.counterVec("guidedfix_funnel_entered_total",
			"Conversations entering each state of a flow (the step funnel), by flow and state.", "flow", "state"),
		turnSeconds: f.histogramVec("guidedfix_turn_duration_seconds",
			"Time to handle one chat event (a turn), by channel.", turnBuckets, "channel"),
		turnErrors: f.counterVec("guidedfix_turn_errors_total",
			"Turns that ended in an error (store or flow failure; the update is retried), by channel.", "channel"),
		sweepSeconds: f.histogram("guidedfix_sweep_duration_seconds",
			"Time of one sweep pass over the due deadlines (expiry, reminders, retries).", turnBuckets),
		deadlinesDue: f.gauge("guidedfix_deadlines_due",
			"Sessions whose deadline had come at the last sweep pass."),
		deadlineLag: f.histogram("guidedfix_sweeper_lag_seconds",
			"How late the sweeper ran a deadline (now minus the deadline).", []float64{.1, .5, 1, 2.5, 5, 10, 30, 60, 300}),
		portalCalls: f.counterVec("guidedfix_portal_calls_total",
			"Calls to the portal core, by operation and result (ok or the portal error's kind).", "operation", "result"),
		portalSeconds: f.histogramVec("guidedfix_portal_call_duration_seconds",
			"Latency of calls to the portal core, by operation.", turnBuckets, "operation"),
		apiCalls: f.counterVec("guidedfix_platform_api_calls_total",
			"HTTP calls to a chat platform's API, by platform, API method and result (ok, 4xx, 429, 5xx, error).",
			"platform", "method", "result"),
		apiSeconds: f.histogramVec("guidedfix_platform_api_call_duration_seconds",
			"Latency of HTTP calls to a chat platform's API, by platform and API method (long polls included).",
			[]float64{.025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}, "platform", "method"),
		apiRateLimited: f.counterVec("guidedfix_platform_api_rate_limited_total",
			"HTTP 429 answers from a chat platform's API, by platform and API method.", "platform", "method"),
		apiRetries: f.counterVec("guidedfix_platform_api_retries_total",
			"Calls that repeat an identical earlier call answered 429, 5xx or not at all, by platform and API method.",
			"platform", "method"),
		rateWait: f.histogramVec("guidedfix_platform_rate_limiter_wait_seconds",
			"Time a send waited in guidedfix's own rate limiter (per chat and global) before its API call, by platform.",
			[]float64{0, .05, .1, .25, .5, 1, 2, 5, 10, 30}, "platform"),
		mailQueued:  f.counter("guidedfix_mail_queued_total", "E-mails handed to the mail sender (first attempts and retries)."),
		mailSent:    f.counter("guidedfix_mail_sent_total", "E-mails the mail sender accepted."),
		mailRetried: f.counter("guidedfix_mail_retried_total", "Attempts to send an e-mail whose earlier attempt failed."),
		mailFailed:  f.counter("guidedfix_mail_failed_total", "Attempts to send an e-mail that failed (refused, unreachable)."),
	}
	m.unlisted = newUnlisted(f)
	m.names = names
	m.pending = map[string]int{}
	m.AddGauge("guidedfix_deliveries_pending", "Replies waiting for delivery to the chat platforms (being sent, or kept after a failure).",
		func() float64 {
			m.pendingMu.Lock()
			defer m.pendingMu.Unlock()
			n := 0
			for _, v := range m.pending {
				n += v
			}
			return float64(n)
		})
	m.bolt = &boltCollector{dbs: map[string]func() bbolt.Stats{}}
	reg.MustRegister(m.bolt)
	return m
}

// Registry returns the registry, for tests and further collectors.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler returns the /metrics handler: the Prometheus text exposition
// format, or OpenMetrics when the scraper asks for it (promhttp).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{EnableOpenMetrics: true})
}

// Observe counts one saved state change of a session; it has the
// signature of bot.Options.Observer (compose it with other observers).
// A session's first transition (From "") counts as started; every
// transition counts as entering To in the funnel (one per state change, so
// a wrong password that keeps the state does not count twice); a Done
// transition counts its outcome, and as restored when the session carries
// bot.TagRestored.
func (m *Metrics) Observe(_ context.Context, t bot.Transition) {
	flow, channel := t.Flow, t.Conversation.Channel
	if t.From == "" {
		m.flowsStarted.WithLabelValues(flow, channel).Inc()
	}
	if t.To != t.From {
		m.funnel.WithLabelValues(flow, string(t.To)).Inc()
	}
	if t.Done {
		outcome := string(t.To)
		if t.To == CompletedState {
			outcome = "completed"
		}
		m.flowsEnded.WithLabelValues(flow, channel, outcome).Inc()
		if t.Tags[bot.TagRestored] != "" {
			m.flowsRestored.WithLabelValues(flow, channel, outcome).Inc()
		}
	}
}

// Turn implements bot.Meter: the turn's latency and whether it failed.
func (m *Metrics) Turn(channel string, took time.Duration, err error) {
	m.turnSeconds.WithLabelValues(channel).Observe(took.Seconds())
	if err != nil {
		m.turnErrors.WithLabelValues(channel).Inc()
	}
}

// RateWait returns the function that records one wait of platform's rate
// limiter in guidedfix_platform_rate_limiter_wait_seconds (for
// telegram.Options.RateWait).
func (m *Metrics) RateWait(platform string) func(time.Duration) {
	h := m.rateWait.WithLabelValues(platform)
	return func(d time.Duration) { h.Observe(d.Seconds()) }
}

// Pending implements bot.Meter: the replies of one conversation waiting
// for delivery, summed over conversations in guidedfix_deliveries_pending.
func (m *Metrics) Pending(conv string, n int) {
	m.pendingMu.Lock()
	defer m.pendingMu.Unlock()
	if n <= 0 {
		delete(m.pending, conv)
		return
	}
	m.pending[conv] = n
}

// Sweep implements bot.Meter: the pass's duration and the deadlines due.
func (m *Metrics) Sweep(due int, took time.Duration) {
	m.sweepSeconds.Observe(took.Seconds())
	m.deadlinesDue.Set(float64(due))
}

// Deadline implements bot.Meter: how late one deadline ran.
func (m *Metrics) Deadline(lag time.Duration) { m.deadlineLag.Observe(max(lag, 0).Seconds()) }

var _ bot.Meter = (*Metrics)(nil)

// AddGauge registers a gauge whose value fn returns at each scrape (e.g.
// deliveries pending, the argon2 queue). It panics when name is taken or
// invalid, like prometheus.MustRegister.
func (m *Metrics) AddGauge(name, help string, fn func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn))
	m.names = append(m.names, name)
}

// AddHashQueue exports the password-hashing queue that queue reports:
// guidedfix_argon2_waiting (hashes waiting for a slot of
// portal.max_concurrent_hashes) and guidedfix_argon2_running.
func (m *Metrics) AddHashQueue(queue func() (waiting, running int64)) {
	m.AddGauge("guidedfix_argon2_waiting", "Password hashes (argon2id) waiting for a slot of portal.max_concurrent_hashes.",
		func() float64 { w, _ := queue(); return float64(w) })
	m.AddGauge("guidedfix_argon2_running", "Password hashes (argon2id) running now.",
		func() float64 { _, r := queue(); return float64(r) })
}

// Names returns the sample names this registry exports, sorted: every
// metric defined here (histograms as _bucket, _sum and _count), the bbolt
// metrics, added gauges, and the Go runtime and process collectors'
// families. The dashboard test checks its queries against it.
func (m *Metrics) Names() ([]string, error) {
	names := append([]string(nil), m.names...)
	names = append(names, boltNames()...)
	fams, err := m.reg.Gather()
	if err != nil {
		return nil, err
	}
	for _, f := range fams {
		names = append(names, f.GetName())
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// AddBolt exports bbolt's Stats of the database named db ("portal",
// "sessions", "support"), read at each scrape from stats. It panics when
// db was added before.
func (m *Metrics) AddBolt(db string, stats func() bbolt.Stats) {
	m.bolt.add(db, stats)
}

// factory registers each metric it makes on reg and records its name.
type factory struct {
	reg   *prometheus.Registry
	names *[]string
}

func (f factory) add(name string, histogram bool) {
	if histogram {
		*f.names = append(*f.names, name+"_bucket", name+"_sum", name+"_count")
		return
	}
	*f.names = append(*f.names, name)
}

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	f.add(name, false)
	return c
}

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	f.add(name, false)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	f.add(name, false)
	return g
}

func (f factory) histogram(name, help string, buckets []float64) prometheus.Histogram {
	h := prometheus.NewHistogram(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets})
	f.reg.MustRegister(h)
	f.add(name, true)
	return h
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	f.add(name, true)
	return h
}
