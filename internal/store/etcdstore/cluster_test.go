package etcdstore_test

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// cluster is a real three-member etcd cluster inside the test process, on
// 127.0.0.1 ports picked by the kernel, with its logs in a file of the
// test's temporary directory (named in failures).
type cluster struct {
	t       tb
	members []*embed.Etcd
	clients []string // client URL of each member
	logPath string
	mu      sync.Mutex
	dead    map[int]bool
}

// freePort returns a 127.0.0.1 port that was free a moment ago (listen on
// port 0 and close): embed needs explicit URLs.
func freePort(t tb) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startCluster starts n members and waits until they all serve; the
// cluster is closed when the test ends. compactRetention, if not empty,
// turns on etcd's own revision auto-compaction with that retention.
func startCluster(t tb, n int, compactRetention string) *cluster {
	t.Helper()
	dir := t.TempDir()
	c := &cluster{t: t, logPath: filepath.Join(dir, "etcd.log"), dead: map[int]bool{}}
	var peers []string
	cfgs := make([]*embed.Config, n)
	for i := range n {
		peer := url.URL{Scheme: "http", Host: freePort(t)}
		client := url.URL{Scheme: "http", Host: freePort(t)}
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.InitialClusterToken = "guidedfix-test"
		cfg.ClusterState = embed.ClusterStateFlagNew
		cfg.Logger, cfg.LogLevel, cfg.LogOutputs = "zap", "warn", []string{c.logPath}
		// The test machine is small and shared: a longer election timeout
		// keeps a slow heartbeat from starting an election.
		cfg.TickMs, cfg.ElectionMs = 100, 1500
		// No fsync: the members all live on one test machine, where an
		// fsync proves nothing about replication and costs the suite's
		// time budget. Consensus, transactions, leases and compaction run
		// as in production.
		cfg.UnsafeNoFsync = true
		if compactRetention != "" {
			cfg.AutoCompactionMode, cfg.AutoCompactionRetention = embed.CompactorModeRevision, compactRetention
		}
		cfgs[i] = cfg
		peers = append(peers, cfg.Name+"="+peer.String())
		c.clients = append(c.clients, client.String())
	}
	for _, cfg := range cfgs {
		cfg.InitialCluster = strings.Join(peers, ",")
	}
	c.members = make([]*embed.Etcd, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i, cfg := range cfgs {
		wg.Go(func() { c.members[i], errs[i] = embed.StartEtcd(cfg) })
	}
	wg.Wait()
	t.Cleanup(c.close)
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start etcd member %d: %v (log %s)", i, err, c.logPath)
		}
	}
	for i, m := range c.members {
		select {
		case <-m.Server.ReadyNotify():
		case <-time.After(60 * time.Second):
			t.Fatalf("etcd member %d not ready after 60s (log %s)", i, c.logPath)
		}
	}
	return c
}

func (c *cluster) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.members {
		if m != nil && !c.dead[i] {
			m.Close()
			c.dead[i] = true
		}
	}
}

// client returns a new client of all members, closed when the test ends.
func (c *cluster) client(t testing.TB) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.clients, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// leader returns the index of the current leader, waiting up to 30 s for
// one to be elected.
func (c *cluster) leader(t testing.TB) int {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c.mu.Lock()
		for i, m := range c.members {
			if !c.dead[i] && m.Server.Leader() == m.Server.MemberID() {
				c.mu.Unlock()
				return i
			}
		}
		c.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no etcd leader after 30s (log %s)", c.logPath)
	return -1
}

// kill stops member i at once (its clients fail over to the others).
func (c *cluster) kill(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.dead[i] {
		c.members[i].Server.HardStop()
		c.members[i].Close()
		c.dead[i] = true
	}
}

// dbInUse returns the largest backend size in use over the live members.
func (c *cluster) dbInUse(t testing.TB, cli *clientv3.Client) int64 {
	t.Helper()
	var max int64
	for i, ep := range c.clients {
		c.mu.Lock()
		dead := c.dead[i]
		c.mu.Unlock()
		if dead {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		st, err := cli.Status(ctx, ep)
		cancel()
		if err != nil {
			t.Fatalf("status %s: %v", ep, err)
		}
		if st.DbSizeInUse > max {
			max = st.DbSizeInUse
		}
	}
	return max
}

// sharedCluster is started once by TestMain for the tests that do not
// kill members; each test uses its own key prefix on it.
var sharedCluster *cluster

// tb is the part of testing.TB the cluster needs, so that TestMain can
// start one too.
type tb interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	TempDir() string
	Cleanup(func())
}

// mainTB is the tb of TestMain: a temporary directory removed, and
// cleanups run, when the tests end; a failure exits the process.
type mainTB struct {
	dir      string
	cleanups []func()
}

func (m *mainTB) Helper()           {}
func (m *mainTB) Fatal(args ...any) { m.cleanup(); fmt.Fprintln(os.Stderr, args...); os.Exit(1) }
func (m *mainTB) Fatalf(format string, args ...any) {
	m.cleanup()
	fmt.Fprintf(os.Stderr, format+"\n", args...)
	os.Exit(1)
}
func (m *mainTB) TempDir() string {
	if m.dir == "" {
		d, err := os.MkdirTemp("", "etcdstore-test-")
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		m.dir = d
	}
	return m.dir
}
func (m *mainTB) Cleanup(f func()) { m.cleanups = append(m.cleanups, f) }
func (m *mainTB) cleanup() {
	for i := len(m.cleanups) - 1; i >= 0; i-- {
		m.cleanups[i]()
	}
	m.cleanups = nil
	if m.dir != "" {
		os.RemoveAll(m.dir)
	}
}

func TestMain(m *testing.M) {
	tb := &mainTB{}
	code := func() int {
		defer tb.cleanup()
		sharedCluster = startCluster(tb, 3, "")
		return m.Run()
	}()
	os.Exit(code)
}
