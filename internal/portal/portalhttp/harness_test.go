package portalhttp_test

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/portal/portalhttp"
	"guidedfix/internal/portal/portaltest"
)

// testToken is the service token of the test servers.
const testToken = "test-service-token-0123456789"

// env is an embedded core behind Server on 127.0.0.1 and a Client of it.
type env struct {
	core   *embedded.Core
	client *portalhttp.Client
	url    string
	clock  *portaltest.Clock
	sms    *portaltest.SMSRecorder
	mail   *portaltest.MailRecorder
}

type envOpts struct {
	wrap   func(http.Handler) http.Handler // around the server handler
	dial   func(url string) string         // the URL the client uses
	client func(*portalhttp.ClientOptions)
	server func(*portalhttp.ServerOptions)
	// sameClock gives the server (Retry-After, replays) the core's test
	// clock, as in production both read the one system clock.
	sameClock bool
}

func newEnv(t *testing.T, o envOpts) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{clock: portaltest.NewClock(portaltest.Start), sms: &portaltest.SMSRecorder{}, mail: &portaltest.MailRecorder{}}
	c, err := embedded.Open(embedded.Options{
		Path:    filepath.Join(dir, "portal.db"),
		KeyFile: filepath.Join(dir, "portal.key"),
		Mail:    e.mail,
		SMS:     e.sms,
		Now:     e.clock.Now,
		Argon2:  embedded.Argon2Params{Memory: 1024, Time: 1},
		Logger:  slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	e.core = c
	so := portalhttp.ServerOptions{Tokens: []string{"old-token-rotated-out", testToken}}
	if o.sameClock {
		so.Now = e.clock.Now
	}
	if o.server != nil {
		o.server(&so)
	}
	var h http.Handler = portalhttp.Server(c, so)
	if o.wrap != nil {
		h = o.wrap(h)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	e.url = srv.URL
	if o.dial != nil {
		e.url = o.dial(srv.URL)
	}
	co := portalhttp.ClientOptions{BaseURL: e.url, Token: testToken, Timeout: 5 * time.Second, Backoff: 10 * time.Millisecond}
	if o.client != nil {
		o.client(&co)
	}
	e.client, err = portalhttp.NewClient(co)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func (e *env) add(t *testing.T, email, phone string, m portal.Method, password string) portal.Account {
	t.Helper()
	a, err := e.core.AddAccount(context.Background(), embedded.NewAccount{Email: email, Phone: phone, Method: m, Password: password, Name: "Test"})
	if err != nil {
		t.Fatalf("AddAccount(%s): %v", email, err)
	}
	return a
}

// TestConformance runs the portal.Core contract suite against the embedded
// core through the generated client and server on 127.0.0.1; the embedded
// package runs the same suite in process (embedded.TestConformance).
func TestConformance(t *testing.T) {
	portaltest.Run(t, portaltest.Harness{New: func(t *testing.T) portaltest.Env {
		e := newEnv(t, envOpts{})
		return portaltest.Env{
			Core:        e.client,
			AddAccount:  e.add,
			SetNow:      e.clock.Set,
			Now:         e.clock.Now,
			LastSMSCode: e.sms.LastCode,
			Mails:       e.mail.Messages,
		}
	}})
}
