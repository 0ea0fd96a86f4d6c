package mail

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"
)

// countingListener counts the connections the test server accepts and
// how many are open at once, and keeps them so a test can close them
// from the server side.
type countingListener struct {
	net.Listener
	ts *testServer
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	ts := l.ts
	ts.mu.Lock()
	ts.accepted++
	ts.open++
	ts.maxOpen = max(ts.maxOpen, ts.open)
	ts.conns = append(ts.conns, c)
	ts.mu.Unlock()
	return &countedConn{Conn: c, ts: ts}, nil
}

type countedConn struct {
	net.Conn
	ts   *testServer
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() {
		c.ts.mu.Lock()
		c.ts.open--
		c.ts.mu.Unlock()
	})
	return c.Conn.Close()
}

// connStats returns the connections accepted, open now and most open at
// once.
func (ts *testServer) connStats() (accepted, open, maxOpen int) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return ts.accepted, ts.open, ts.maxOpen
}

// closeConns closes every accepted connection from the server's side,
// as a relay does with sessions it no longer wants.
func (ts *testServer) closeConns() {
	ts.mu.Lock()
	conns := append([]net.Conn(nil), ts.conns...)
	ts.mu.Unlock()
	for _, c := range conns {
		c.Close()
	}
}

func (ts *testServer) setOnMail(f func() error) {
	ts.mu.Lock()
	ts.onMail = f
	ts.mu.Unlock()
}

func (ts *testServer) setAfterData(f func(*session)) {
	ts.mu.Lock()
	ts.afterData = f
	ts.mu.Unlock()
}

// waitFor polls cond until it holds; it fails the test after 10 s, a
// bound on a hang, not a speed requirement.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitOpen waits until the server has exactly n connections open.
func waitOpen(t *testing.T, ts *testServer, n int) {
	t.Helper()
	waitFor(t, fmt.Sprintf("%d open connections", n), func() bool {
		_, open, _ := ts.connStats()
		return open == n
	})
}

// numbered returns testMsg with ID, recipient and subject numbered i.
func numbered(i int) Message {
	m := testMsg
	m.ID = "msg-" + strconv.Itoa(i)
	m.To = fmt.Sprintf("user%d@example.com", i)
	m.Subject = "Subject " + strconv.Itoa(i)
	return m
}

// decoded returns the messages the server received, decoded, in order.
func decoded(t *testing.T, ts *testServer) []Message {
	t.Helper()
	var out []Message
	for _, r := range ts.messages() {
		m, err := parseEML(bytes.NewReader(r.Data))
		if err != nil {
			t.Fatalf("parse received message: %v", err)
		}
		if len(r.To) != 1 || r.To[0] != m.To {
			t.Fatalf("message %q: envelope recipients %q, header To %q", m.ID, r.To, m.To)
		}
		out = append(out, m)
	}
	return out
}

// countIDs returns how many copies of each message ID the server got.
func countIDs(t *testing.T, ts *testServer) map[string]int {
	t.Helper()
	n := map[string]int{}
	for _, m := range decoded(t, ts) {
		n[m.ID]++
	}
	return n
}

func sendAll(t *testing.T, s *SMTP, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		if err := s.Send(context.Background(), numbered(i)); err != nil {
			t.Fatalf("Send %d: %v", i, err)
		}
	}
}

func TestSMTPReuseSequential(t *testing.T) {
	ts := startServer(t, serverOpts{})
	s := mustNewSMTP(t, ts.config(TLSNone), nil)
	t.Cleanup(func() { s.Close() })
	const n = 20
	sendAll(t, s, 0, n)
	got := decoded(t, ts)
	if len(got) != n {
		t.Fatalf("server received %d messages, want %d", len(got), n)
	}
	for i, m := range got {
		if want := numbered(i); m != want {
			t.Errorf("message %d = %+v\nwant %+v", i, m, want)
		}
	}
	if accepted, open, _ := ts.connStats(); accepted != 1 || open != 1 {
		t.Fatalf("server accepted %d connections, %d open; want 1 and 1", accepted, open)
	}
	if d, r := s.pool.dials.Load(), s.pool.reuses.Load(); d != 1 || r != n-1 {
		t.Errorf("dials = %d, reuses = %d; want 1 and %d", d, r, n-1)
	}
}

func TestSMTPReuseTLS(t *testing.T) {
	for _, mode := range []string{TLSStartTLS, TLSImplicit} {
		t.Run(mode, func(t *testing.T) {
			ts := startServer(t, serverOpts{startTLS: mode == TLSStartTLS, implicitTLS: mode == TLSImplicit, requireAuth: true})
			cfg := ts.config(mode)
			cfg.Username, cfg.Password = testUser, testPassword
			s := mustNewSMTP(t, cfg, ts.tls)
			t.Cleanup(func() { s.Close() })
			sendAll(t, s, 0, 3)
			msgs := ts.messages()
			if len(msgs) != 3 {
				t.Fatalf("server received %d messages, want 3", len(msgs))
			}
			for i, r := range msgs {
				if !r.TLS || r.User != testUser {
					t.Errorf("message %d: TLS = %v, user = %q; want TLS and %q", i, r.TLS, r.User, testUser)
				}
			}
			if accepted, _, _ := ts.connStats(); accepted != 1 {
				t.Fatalf("server accepted %d connections, want 1", accepted)
			}
		})
	}
}

func TestSMTPPoolBound(t *testing.T) {
	ts := startServer(t, serverOpts{})
	cfg := ts.config(TLSNone)
	cfg.MaxConnections = 3
	s := mustNewSMTP(t, cfg, nil)
	t.Cleanup(func() { s.Close() })

	// Every MAIL waits until the test lets go, so that the sends pile
	// up and the pool is at its bound.
	gate := make(chan struct{})
	ts.setOnMail(func() error { <-gate; return nil })
	const n = 16
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() { errs <- s.Send(context.Background(), numbered(i)) })
	}
	waitOpen(t, ts, cfg.MaxConnections)
	close(gate)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Send: %v", err)
		}
	}
	if accepted, open, maxOpen := ts.connStats(); accepted != 3 || open != 3 || maxOpen != 3 {
		t.Fatalf("connections accepted %d, open %d, at most %d at once; want 3, 3, 3", accepted, open, maxOpen)
	}
	ids := countIDs(t, ts)
	if len(ids) != n {
		t.Fatalf("server got %d distinct messages, want %d", len(ids), n)
	}
	for id, c := range ids {
		if c != 1 {
			t.Errorf("message %s received %d times", id, c)
		}
	}
}

func TestSMTPPoolWaitCancelled(t *testing.T) {
	ts := startServer(t, serverOpts{})
	cfg := ts.config(TLSNone)
	cfg.MaxConnections = 1
	s := mustNewSMTP(t, cfg, nil)
	t.Cleanup(func() { s.Close() })
	gate := make(chan struct{})
	ts.setOnMail(func() error { <-gate; return nil })
	first := make(chan error, 1)
	go func() { first <- s.Send(context.Background(), numbered(0)) }()
	waitOpen(t, ts, 1)

	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	go func() { second <- s.Send(ctx, numbered(1)) }()
	cancel()
	if err := <-second; !errors.Is(err, context.Canceled) {
		t.Fatalf("second Send while the only connection is busy, cancelled: error = %v, want context.Canceled", err)
	}
	close(gate)
	if err := <-first; err != nil {
		t.Fatalf("first Send: %v", err)
	}
	if ids := countIDs(t, ts); len(ids) != 1 || ids["msg-0"] != 1 {
		t.Fatalf("received %v, want msg-0 once", ids)
	}
	if accepted, _, _ := ts.connStats(); accepted != 1 {
		t.Fatalf("server accepted %d connections, want 1", accepted)
	}
}

func TestSMTPReusedConnectionClosedByServer(t *testing.T) {
	ts := startServer(t, serverOpts{})
	s := mustNewSMTP(t, ts.config(TLSNone), nil)
	t.Cleanup(func() { s.Close() })
	sendAll(t, s, 0, 1)
	ts.closeConns() // the relay drops the idle session
	waitOpen(t, ts, 0)

	sendAll(t, s, 1, 2)
	if ids := countIDs(t, ts); len(ids) != 2 || ids["msg-0"] != 1 || ids["msg-1"] != 1 {
		t.Fatalf("received %v, want msg-0 and msg-1 once each", ids)
	}
	if accepted, open, _ := ts.connStats(); accepted != 2 || open != 1 {
		t.Fatalf("connections accepted %d, open %d; want 2 and 1", accepted, open)
	}
	if r := s.pool.retries.Load(); r != 1 {
		t.Errorf("retries = %d, want 1", r)
	}
	// The new connection is kept: the next message reuses it.
	sendAll(t, s, 2, 3)
	if accepted, _, _ := ts.connStats(); accepted != 2 {
		t.Fatalf("connections accepted %d, want 2", accepted)
	}
}

func TestSMTPReusedConnectionRefusesMail(t *testing.T) {
	t.Run("421 closing: retried on a new connection", func(t *testing.T) {
		ts := startServer(t, serverOpts{})
		s := mustNewSMTP(t, ts.config(TLSNone), nil)
		t.Cleanup(func() { s.Close() })
		sendAll(t, s, 0, 1)
		var once sync.Once
		ts.setOnMail(func() (err error) {
			once.Do(func() {
				err = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 4, 2}, Message: "too many messages, closing"}
			})
			return err
		})
		sendAll(t, s, 1, 2)
		if ids := countIDs(t, ts); len(ids) != 2 || ids["msg-1"] != 1 {
			t.Fatalf("received %v, want msg-0 and msg-1 once each", ids)
		}
		if accepted, _, _ := ts.connStats(); accepted != 2 {
			t.Fatalf("connections accepted %d, want 2", accepted)
		}
	})
	t.Run("550: returned, not retried", func(t *testing.T) {
		ts := startServer(t, serverOpts{})
		s := mustNewSMTP(t, ts.config(TLSNone), nil)
		t.Cleanup(func() { s.Close() })
		sendAll(t, s, 0, 1)
		ts.setOnMail(func() error {
			return &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 7, 1}, Message: "sender refused"}
		})
		err := s.Send(context.Background(), numbered(1))
		if ReplyCode(err) != 550 || !Permanent(err) {
			t.Fatalf("error = %v (reply code %d), want the permanent 550", err, ReplyCode(err))
		}
		if accepted, _, _ := ts.connStats(); accepted != 1 {
			t.Fatalf("connections accepted %d, want 1 (no retry on a new connection)", accepted)
		}
		if n := len(ts.messages()); n != 1 {
			t.Fatalf("server received %d messages, want 1", n)
		}
	})
}

func TestSMTPFailureAfterData(t *testing.T) {
	t.Run("connection lost after the data", func(t *testing.T) {
		ts := startServer(t, serverOpts{})
		s := mustNewSMTP(t, ts.config(TLSNone), nil)
		t.Cleanup(func() { s.Close() })
		sendAll(t, s, 0, 1)
		// The server takes message 1 and the connection breaks before
		// the client reads the 250: the client cannot know.
		var once sync.Once
		ts.setAfterData(func(ss *session) { once.Do(func() { ss.conn.Conn().Close() }) })
		if err := s.Send(context.Background(), numbered(1)); err == nil {
			t.Fatal("Send whose reply to the data was lost: no error")
		}
		if ids := countIDs(t, ts); len(ids) != 2 || ids["msg-1"] != 1 {
			t.Fatalf("received %v, want msg-0 and msg-1 once each", ids)
		}
		if accepted, _, _ := ts.connStats(); accepted != 1 {
			t.Fatalf("connections accepted %d, want 1 (the message must not be sent again)", accepted)
		}
		// The broken connection is not reused.
		sendAll(t, s, 2, 3)
		if accepted, _, _ := ts.connStats(); accepted != 2 {
			t.Fatalf("connections accepted %d, want 2", accepted)
		}
		if ids := countIDs(t, ts); len(ids) != 3 || ids["msg-1"] != 1 || ids["msg-2"] != 1 {
			t.Fatalf("received %v, want each of msg-0..2 once", ids)
		}
	})
	t.Run("451 after the data", func(t *testing.T) {
		ts := startServer(t, serverOpts{})
		ts.dataErr = &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}
		s := mustNewSMTP(t, ts.config(TLSNone), nil)
		t.Cleanup(func() { s.Close() })
		for i := range 2 {
			err := s.Send(context.Background(), numbered(i))
			if ReplyCode(err) != 451 || Permanent(err) {
				t.Fatalf("Send %d: error = %v (reply code %d), want the transient 451", i, err, ReplyCode(err))
			}
		}
		// Each failure closes its connection and is not retried.
		if accepted, _, _ := ts.connStats(); accepted != 2 {
			t.Fatalf("connections accepted %d, want 2", accepted)
		}
		if n := len(ts.messages()); n != 0 {
			t.Fatalf("server recorded %d messages, want 0", n)
		}
	})
}

// fakeClock is a settable clock for the pool's idle timeout.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestSMTPIdleTimeout(t *testing.T) {
	t.Run("reaped on the clock", func(t *testing.T) {
		ts := startServer(t, serverOpts{})
		cfg := ts.config(TLSNone)
		cfg.IdleTimeout = time.Hour // the real timer never fires in this test
		s := mustNewSMTP(t, cfg, nil)
		t.Cleanup(func() { s.Close() })
		clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		s.pool.now = clock.Now
		sendAll(t, s, 0, 2)
		clock.Advance(time.Hour - time.Second)
		s.pool.reapIdle()
		if n := s.pool.idleCount(); n != 1 {
			t.Fatalf("idle connections after 59m59s = %d, want 1", n)
		}
		clock.Advance(time.Second)
		s.pool.reapIdle()
		if n := s.pool.idleCount(); n != 0 {
			t.Fatalf("idle connections after 1h = %d, want 0", n)
		}
		waitOpen(t, ts, 0)
		sendAll(t, s, 2, 3)
		if accepted, _, _ := ts.connStats(); accepted != 2 {
			t.Fatalf("connections accepted %d, want 2", accepted)
		}
	})
	t.Run("expired when taken", func(t *testing.T) {
		ts := startServer(t, serverOpts{})
		cfg := ts.config(TLSNone)
		cfg.IdleTimeout = time.Hour
		s := mustNewSMTP(t, cfg, nil)
		t.Cleanup(func() { s.Close() })
		clock := &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		s.pool.now = clock.Now
		sendAll(t, s, 0, 1)
		clock.Advance(time.Hour) // the timer is late: Send finds it stale
		sendAll(t, s, 1, 2)
		if accepted, _, _ := ts.connStats(); accepted != 2 {
			t.Fatalf("connections accepted %d, want 2", accepted)
		}
		waitOpen(t, ts, 1)
		if r := s.pool.retries.Load(); r != 0 {
			t.Errorf("retries = %d, want 0 (the stale connection is not even tried)", r)
		}
	})
	t.Run("closed by the timer", func(t *testing.T) {
		ts := startServer(t, serverOpts{})
		cfg := ts.config(TLSNone)
		cfg.IdleTimeout = 10 * time.Millisecond
		s := mustNewSMTP(t, cfg, nil)
		t.Cleanup(func() { s.Close() })
		sendAll(t, s, 0, 1)
		waitOpen(t, ts, 0)
		if n := s.pool.idleCount(); n != 0 {
			t.Fatalf("idle connections = %d, want 0", n)
		}
	})
	t.Run("not kept", func(t *testing.T) {
		ts := startServer(t, serverOpts{})
		cfg := ts.config(TLSNone)
		cfg.IdleTimeout = -1
		s := mustNewSMTP(t, cfg, nil)
		t.Cleanup(func() { s.Close() })
		sendAll(t, s, 0, 3)
		if accepted, _, _ := ts.connStats(); accepted != 3 {
			t.Fatalf("connections accepted %d, want 3", accepted)
		}
		waitOpen(t, ts, 0)
	})
}

func TestSMTPMaxMessagesPerConnection(t *testing.T) {
	ts := startServer(t, serverOpts{})
	cfg := ts.config(TLSNone)
	cfg.MaxMessagesPerConnection = 3
	s := mustNewSMTP(t, cfg, nil)
	t.Cleanup(func() { s.Close() })
	sendAll(t, s, 0, 7)
	if accepted, _, _ := ts.connStats(); accepted != 3 {
		t.Fatalf("connections accepted %d, want 3 (3 + 3 + 1 messages)", accepted)
	}
	waitOpen(t, ts, 1)
	if n := len(ts.messages()); n != 7 {
		t.Fatalf("server received %d messages, want 7", n)
	}
}

func TestSMTPClose(t *testing.T) {
	ts := startServer(t, serverOpts{})
	s := mustNewSMTP(t, ts.config(TLSNone), nil)
	sendAll(t, s, 0, 2)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	waitOpen(t, ts, 0)
	if n := s.pool.idleCount(); n != 0 {
		t.Fatalf("idle connections after Close = %d, want 0", n)
	}
	// A late message still goes out, in its own session.
	sendAll(t, s, 2, 3)
	waitOpen(t, ts, 0)
	if accepted, _, _ := ts.connStats(); accepted != 2 {
		t.Fatalf("connections accepted %d, want 2", accepted)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
	if n := len(ts.messages()); n != 3 {
		t.Fatalf("server received %d messages, want 3", n)
	}
}
