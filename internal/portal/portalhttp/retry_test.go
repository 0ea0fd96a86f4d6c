package portalhttp_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portalhttp"
	"guidedfix/internal/portal/portaltest"
)

func asRemote(err error, re **portalhttp.RemoteError) bool { return errors.As(err, re) }

// dropOnce is a handler wrapper that lets the server apply the first
// request to path, then closes the connection before any answer reaches
// the client: the lost-answer case of DESIGN.md "persist, then call".
type dropOnce struct {
	path    string
	dropped atomic.Bool
	seen    atomic.Int32
	keys    sync.Map
}

func (d *dropOnce) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != d.path {
			h.ServeHTTP(w, r)
			return
		}
		d.seen.Add(1)
		d.keys.Store(r.Header.Get("Idempotency-Key"), true)
		if d.dropped.Swap(true) {
			h.ServeHTTP(w, r)
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r) // the server applies the call...
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close() // ...and the answer is lost.
		}
	})
}

// TestDroppedAnswerDisableOnce drops the connection after the server
// applied a Disable2FA: the client retries with the same key and the core
// has disabled once and sent one alert e-mail.
func TestDroppedAnswerDisableOnce(t *testing.T) {
	d := &dropOnce{path: "/v1/second-factor/disable"}
	e := newEnv(t, envOpts{wrap: d.wrap})
	ctx := context.Background()
	a := e.add(t, portaltest.AliceEmail, portaltest.AlicePhone, portal.MethodSMS, portaltest.Password)
	g, err := e.client.VerifyPassword(ctx, a.ID, portaltest.Password)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.client.SendSMSChallenge(ctx, g.Token, "sess-1:sms")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := e.sms.LastCode(portaltest.AlicePhone)
	if g, err = e.client.VerifySMSChallenge(ctx, g.Token, ch.ID, code); err != nil {
		t.Fatal(err)
	}
	if err := e.client.Disable2FA(ctx, g.Token, "sess-1:disable"); err != nil {
		t.Fatalf("Disable2FA after a lost answer: %v", err)
	}
	n := 0
	d.keys.Range(func(k, _ any) bool { n++; return k == "sess-1:disable" })
	if d.seen.Load() != 2 || n != 1 {
		t.Fatalf("disable requests %d with %d keys, want 2 with the one key", d.seen.Load(), n)
	}
	if st := e.core.Stats(); st.Disables != 1 || st.AlertsSent != 1 {
		t.Fatalf("stats %+v: want 1 disable, 1 alert", st)
	}
	if got := len(e.mail.Messages()); got != 1 {
		t.Fatalf("%d e-mails, want the one alert", got)
	}
	if st, _ := e.client.SecurityStatus(ctx, a.ID); st.Method != portal.MethodNone {
		t.Fatalf("method %s, want none", st.Method)
	}
}

// TestDroppedAnswerPasswordCountsOnce drops the answer of a wrong password:
// the retry (same generated key) replays the first answer, so the core
// counted one failure, not two.
func TestDroppedAnswerPasswordCountsOnce(t *testing.T) {
	d := &dropOnce{path: "/v1/password/verify"}
	e := newEnv(t, envOpts{wrap: d.wrap})
	ctx := context.Background()
	a := e.add(t, portaltest.AliceEmail, portaltest.AlicePhone, portal.MethodSMS, portaltest.Password)
	if _, err := e.client.VerifyPassword(ctx, a.ID, "wrong"); !errors.Is(err, portal.ErrBadPassword) {
		t.Fatalf("wrong password: %v, want ErrBadPassword", err)
	}
	if d.seen.Load() != 2 {
		t.Fatalf("%d requests, want 2", d.seen.Load())
	}
	// 5 failures lock: with the lost answer counted once, 3 more wrong
	// passwords (4 in all) still leave the account unlocked.
	for i := 0; i < 3; i++ {
		if _, err := e.core.VerifyPassword(ctx, a.ID, "wrong"); !errors.Is(err, portal.ErrBadPassword) {
			t.Fatalf("failure %d: %v", i+2, err)
		}
	}
	if _, err := e.core.VerifyPassword(ctx, a.ID, portaltest.Password); err != nil {
		t.Fatalf("right password after 4 failures: %v (the lost answer counted twice?)", err)
	}
}

// TestRetriesBounded checks that a portal that is down costs Attempts
// tries, then a wrapped transport error; and that a 503 is retried.
func TestRetriesBounded(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int32
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			n.Add(1)
			c.Close()
		}
	}()
	defer l.Close()
	c, _ := portalhttp.NewClient(portalhttp.ClientOptions{BaseURL: "http://" + l.Addr().String(), Token: "t", Attempts: 3, Backoff: 1})
	if _, err := c.SecurityStatus(context.Background(), "acc"); err == nil || errors.Is(err, portal.ErrNotFound) {
		t.Fatalf("SecurityStatus against a closed portal: %v", err)
	}
	if n.Load() != 3 {
		t.Fatalf("%d connections, want 3 attempts", n.Load())
	}

	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"contractVersion":"1","atomicSwitch":false,"restoreFactor":true,"recoveryCodes":false}`))
	}))
	defer srv.Close()
	c, _ = portalhttp.NewClient(portalhttp.ClientOptions{BaseURL: srv.URL, Token: "t", Backoff: 1})
	caps, err := c.Capabilities(context.Background())
	if err != nil || calls.Load() != 2 || caps != (portal.Capabilities{ContractVersion: "1", RestoreFactor: true}) {
		t.Fatalf("Capabilities after a 503: %+v, %v, %d calls", caps, err, calls.Load())
	}
}
