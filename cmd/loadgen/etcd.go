package main

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"

	"guidedfix/bot"
	"guidedfix/internal/store/etcdstore"
)

// etcdCluster is a three-member etcd cluster inside the load generator's
// process (go.etcd.io/etcd/server/v3/embed) on 127.0.0.1 ports, for the
// etcd phase's replicas.
type etcdCluster struct {
	members []*embed.Etcd
	clients []string // client URL of each member
}

// startEtcd starts n members with their data and logs under dir and
// waits until all serve. Unlike the store's tests the members fsync, as
// a deployment's would.
func startEtcd(dir string, n int) (*etcdCluster, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	c := &etcdCluster{}
	var peers []string
	cfgs := make([]*embed.Config, n)
	for i := range n {
		pa, err := freeAddr()
		if err != nil {
			return nil, err
		}
		ca, err := freeAddr()
		if err != nil {
			return nil, err
		}
		peer, client := url.URL{Scheme: "http", Host: pa}, url.URL{Scheme: "http", Host: ca}
		cfg := embed.NewConfig()
		cfg.Name = fmt.Sprintf("m%d", i)
		cfg.Dir = filepath.Join(dir, cfg.Name)
		cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{peer}, []url.URL{peer}
		cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{client}, []url.URL{client}
		cfg.InitialClusterToken = "guidedfix-loadgen"
		cfg.ClusterState = embed.ClusterStateFlagNew
		cfg.Logger, cfg.LogLevel, cfg.LogOutputs = "zap", "warn", []string{filepath.Join(dir, "etcd.log")}
		// A loaded 2-CPU machine: a longer election timeout keeps a late
		// heartbeat from starting an election.
		cfg.TickMs, cfg.ElectionMs = 100, 1500
		cfgs[i] = cfg
		peers = append(peers, cfg.Name+"="+peer.String())
		c.clients = append(c.clients, client.String())
	}
	for _, cfg := range cfgs {
		cfg.InitialCluster = strings.Join(peers, ",")
	}
	c.members = make([]*embed.Etcd, n)
	errs := make([]error, n)
	done := make(chan int, n)
	for i, cfg := range cfgs {
		go func() { c.members[i], errs[i] = embed.StartEtcd(cfg); done <- i }()
	}
	for range n {
		<-done
	}
	for i, err := range errs {
		if err != nil {
			c.close()
			return nil, fmt.Errorf("etcd member %d: %w", i, err)
		}
	}
	for i, m := range c.members {
		select {
		case <-m.Server.ReadyNotify():
		case <-time.After(time.Minute):
			c.close()
			return nil, fmt.Errorf("etcd member %d not ready after a minute", i)
		}
	}
	return c, nil
}

func (c *etcdCluster) close() {
	for _, m := range c.members {
		if m != nil {
			m.Close()
		}
	}
}

// etcdRequests returns the unary gRPC requests the members have answered
// so far, by method (Range, Txn, Put, LeaseGrant, …), from the members'
// grpc_server_handled_total counters in this process's registry.
func etcdRequests() map[string]float64 {
	out := map[string]float64{}
	mfs, err := prometheus.DefaultGatherer.Gather()
	if err != nil {
		return out
	}
	for _, mf := range mfs {
		if mf.GetName() != "grpc_server_handled_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			var method, typ string
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "grpc_method":
					method = l.GetValue()
				case "grpc_type":
					typ = l.GetValue()
				}
			}
			if typ == "unary" {
				out[method] += m.GetCounter().GetValue()
			}
		}
	}
	return out
}

// writeSessionsKey writes the same 32-byte sessions.key (the root of the
// held-update key with a remote portal) into every replica's directory:
// an update held by one replica is opened by another.
func writeSessionsKey(dirs []string) error {
	key := make([]byte, 32)
	crand.Read(key)
	for _, d := range dirs {
		if err := os.WriteFile(filepath.Join(d, "sessions.key"), key, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// randomBalancer is a reverse proxy that sends each request to one of
// targets (http://host:port) picked at random: a load balancer without
// affinity, so two updates of one chat may reach different replicas.
func randomBalancer(targets []string) (http.Handler, error) {
	proxies := make([]*httputil.ReverseProxy, len(targets))
	for i, t := range targets {
		u, err := url.Parse(t)
		if err != nil {
			return nil, err
		}
		p := httputil.NewSingleHostReverseProxy(u)
		p.Transport = &http.Transport{MaxIdleConnsPerHost: 1024, IdleConnTimeout: time.Minute}
		proxies[i] = p
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[rand.IntN(len(proxies))].ServeHTTP(w, r)
	}), nil
}

// readEtcdSessions does for the etcd phase what readSessions does for
// sessions.db: sums the versions of the sessions stored under the store's
// default prefix and counts those not done or with replies left.
func readEtcdSessions(endpoints []string, r *flowResult) error {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	resp, err := cli.Get(ctx, etcdstore.DefaultPrefix+"s/", clientv3.WithPrefix())
	if err != nil {
		return err
	}
	for _, kv := range resp.Kvs {
		var env struct {
			Session json.RawMessage `json:"session"`
		}
		if err := json.Unmarshal(kv.Value, &env); err != nil {
			return fmt.Errorf("%s: %w", kv.Key, err)
		}
		var s bot.Session
		if err := json.Unmarshal(env.Session, &s); err != nil {
			return fmt.Errorf("%s: %w", kv.Key, err)
		}
		if s.Conversation.Channel != "telegram" {
			continue
		}
		r.saves += s.Version
		if !s.Done || s.State != "done" {
			r.notDone++
		}
		if len(s.Outbox) > 0 {
			r.pending++
		}
	}
	return nil
}
