package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"guidedfix/adapters/telegram/fakebotapi"
	"guidedfix/internal/mail"
	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/procstat"
	"guidedfix/internal/simcustomer"
)

// flowCPUConcurrency is how many customers BenchmarkFlowCPU keeps in a
// flow at once.
const flowCPUConcurrency = 64

// BenchmarkFlowCPU runs b.N complete totpswitch flows, flowCPUConcurrency
// at a time, through `guidedfix serve` in this process (its real config
// loading, Telegram adapter, engine, bbolt session store on real files,
// the embedded portal core with argon2id lowered to m=64 KiB t=1 as
// cmd/loadgen's lowered phase, the demo's file outboxes for mail and SMS)
// against adapters/telegram/fakebotapi, with internal/simcustomer as the
// customers, in both Telegram modes. One op is one completed flow.
//
// Besides ns/op (wall time per flow at that concurrency), B/op and
// allocs/op (runtime.MemStats, the whole process), it reports with
// b.ReportMetric:
//   - cpu-ms/flow, cpu-ms/turn: this process's user+sys CPU (getrusage)
//     over the timed flows divided by flows or by the user turns the
//     customers delivered. The process also holds the fake Bot API and
//     the simulated customers (who poll their chat every 10 ms and decode
//     the QR code), so this is the server's CPU plus theirs: compare
//     runs of this benchmark, not with loadgen's server-only figure.
//   - turns/flow: user turns per flow (9 in the default order).
//
// Use a fixed count, e.g.
//
//	go test -run '^$' -bench FlowCPU -benchtime 256x ./cmd/guidedfix/
func BenchmarkFlowCPU(b *testing.B) {
	for _, mode := range []string{"webhook", "polling"} {
		b.Run(mode, func(b *testing.B) { benchFlowCPU(b, mode == "polling") })
	}
}

func benchFlowCPU(b *testing.B, polling bool) {
	dir := b.TempDir()
	accs := benchAccounts(b, dir, b.N)
	fake := fakebotapi.New(fakebotapi.Options{Token: procToken, BotUsername: procBot})
	defer fake.Close()

	b.Setenv("TELEGRAM_BOT_TOKEN", procToken)
	b.Setenv("SLACK_BOT_TOKEN", "")
	b.Setenv("GUIDEDFIX_TELEGRAM__API_URL", fake.URL)
	b.Setenv("GUIDEDFIX_TELEGRAM__BOT_USERNAME", procBot)
	b.Setenv("GUIDEDFIX_TELEGRAM__PER_CHAT_INTERVAL", "-1s")
	b.Setenv("GUIDEDFIX_TELEGRAM__GLOBAL_PER_SECOND", "-1")
	b.Setenv("GUIDEDFIX_PORTAL__ARGON2__MEMORY_KIB", "64")
	b.Setenv("GUIDEDFIX_PORTAL__ARGON2__TIME", "1")
	b.Setenv("GUIDEDFIX_LOG__LEVEL", "warn")
	b.Setenv("GUIDEDFIX_OPS__LISTEN", "127.0.0.1:0")
	hook, ready := "", "deleteWebhook"
	if polling {
		b.Setenv("GUIDEDFIX_TELEGRAM__WEBHOOK_URL", "")
		b.Setenv("GUIDEDFIX_TELEGRAM__WEBHOOK_SECRET", "")
		b.Setenv("GUIDEDFIX_TELEGRAM__LISTEN", "")
	} else {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		listen := ln.Addr().String()
		ln.Close()
		b.Setenv("GUIDEDFIX_TELEGRAM__WEBHOOK_URL", "https://bot.example.com/telegram")
		b.Setenv("GUIDEDFIX_TELEGRAM__WEBHOOK_SECRET", procSecret)
		b.Setenv("GUIDEDFIX_TELEGRAM__LISTEN", listen)
		hook, ready = "http://"+listen+"/telegram", "setWebhook"
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- serve(ctx, &globalFlags{dataDir: dir}, serveFlags{}, serveOptions{logOut: io.Discard})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Errorf("serve returned %v", err)
		}
	}()
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	_, err := fake.WaitCalls(wctx, ready, 1)
	wcancel()
	if err != nil {
		b.Fatal(err)
	}
	inbox := &simcustomer.SMSInbox{Dir: filepath.Join(dir, "outbox", "sms")}
	var turns atomic.Int64
	errs := make([]error, b.N)
	sem := make(chan struct{}, flowCPUConcurrency)
	var wg sync.WaitGroup
	// The customers' webhook posts reuse connections (as Telegram does);
	// http.DefaultClient would dial for most of them.
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: flowCPUConcurrency}}
	defer client.CloseIdleConnections()
	runtime.GC()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := procstat.Total(b)
	for i, a := range accs {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			c := &simcustomer.Customer{
				Fake: fake, Webhook: hook, Secret: procSecret, Client: client,
				User:  fakebotapi.User{ID: int64(90000 + i), FirstName: "Customer", LanguageCode: "en"},
				Email: a.email, Password: a.password, Phone: a.phone, SMS: inbox,
				Stall: time.Minute, Timeout: 3 * time.Minute,
			}
			res, err := c.Run(ctx)
			turns.Add(int64(res.Turns))
			errs[i] = err
		}()
	}
	wg.Wait()
	cpu := procstat.Total(b) - cpu0
	b.StopTimer()
	for i, err := range errs {
		if err != nil {
			b.Fatalf("customer %d: %v", i, err)
		}
	}
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/flow")
	if t := turns.Load(); t > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/1000/float64(t), "cpu-ms/turn")
		b.ReportMetric(float64(t)/float64(b.N), "turns/flow")
	}
}

// benchAccounts creates n accounts with SMS 2FA in dir's portal core,
// hashed with the lowered argon2id cost (64 KiB, t=1) that the
// benchmark's serve also uses.
func benchAccounts(b *testing.B, dir string, n int) []account {
	b.Helper()
	ob, err := mail.NewOutbox(filepath.Join(dir, "outbox", "mail"))
	if err != nil {
		b.Fatal(err)
	}
	core, err := embedded.Open(embedded.Options{
		Path: filepath.Join(dir, "portal.db"), KeyFile: filepath.Join(dir, "portal.key"),
		Mail: ob, SMS: embedded.FileSMS{Dir: filepath.Join(dir, "outbox", "sms")},
		Argon2: embedded.Argon2Params{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16},
	})
	if err != nil {
		b.Fatal(err)
	}
	defer core.Close()
	out := make([]account, n)
	for i := range out {
		a := account{email: fmt.Sprintf("bench-%d@example.com", i), password: fmt.Sprintf("pw-bench-%d-Secret!", i),
			phone: fmt.Sprintf("+6013%07d", i)}
		if _, err := core.AddAccount(context.Background(), embedded.NewAccount{Email: a.email, Name: "Bench " + a.email,
			Phone: a.phone, Method: portal.MethodSMS, Password: a.password}); err != nil {
			b.Fatal(err)
		}
		out[i] = a
	}
	return out
}
