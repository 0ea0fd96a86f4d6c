package portalhttp_test

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"guidedfix/internal/portal"
	"guidedfix/internal/portal/portalhttp"
	"guidedfix/internal/portal/portaltest"
)

// recordingTransport records every request line and header the client
// sends.
type recordingTransport struct {
	mu  sync.Mutex
	out bytes.Buffer
}

func (rt *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.mu.Lock()
	rt.out.WriteString(r.Method + " " + r.URL.String() + "\n")
	for k, v := range r.Header {
		if k != "Authorization" {
			rt.out.WriteString(k + ": " + strings.Join(v, ",") + "\n")
		}
	}
	rt.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestNoSecretInURLOrLog runs the whole switch (password, wrong and right
// SMS code, disable, enrollment, wrong and right TOTP code, recovery codes)
// through the client with debug logging on both sides and a closed portal
// for the client's retry warnings, and wants no password, SMS code, grant
// token, TOTP secret, TOTP code, recovery code or service token in any
// URL, header (other than Authorization) or log line; and the source in
// Guidedfix-Source on the password and code calls.
func TestNoSecretInURLOrLog(t *testing.T) {
	rt := &recordingTransport{}
	logs := &syncBuf{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := newEnv(t, envOpts{
		server: func(o *portalhttp.ServerOptions) { o.Logger = logger },
		client: func(o *portalhttp.ClientOptions) { o.HTTPClient = &http.Client{Transport: rt}; o.Logger = logger },
	})
	ctx := portal.WithSource(context.Background(), "telegram:4242")
	a := e.add(t, portaltest.AliceEmail, portaltest.AlicePhone, portal.MethodSMS, portaltest.Password)
	g, err := e.client.VerifyPassword(ctx, a.ID, portaltest.Password)
	if err != nil {
		t.Fatal(err)
	}
	ch, err := e.client.SendSMSChallenge(ctx, g.Token, "s:sms")
	if err != nil {
		t.Fatal(err)
	}
	code, _ := e.sms.LastCode(portaltest.AlicePhone)
	wrong := "000000"
	if code == wrong {
		wrong = "111111"
	}
	if _, err := e.client.VerifySMSChallenge(ctx, g.Token, ch.ID, wrong); err == nil {
		t.Fatal("wrong SMS code accepted")
	}
	eg, err := e.client.VerifySMSChallenge(ctx, g.Token, ch.ID, code)
	if err != nil {
		t.Fatal(err)
	}
	if err := e.client.Disable2FA(ctx, eg.Token, "s:disable"); err != nil {
		t.Fatal(err)
	}
	en, err := e.client.BeginTOTPEnrollment(ctx, eg.Token, "s:begin")
	if err != nil {
		t.Fatal(err)
	}
	now := e.clock.Now()
	totpCode := portaltest.Code(t, en.Secret, now)
	badTOTP := portaltest.WrongCode(t, en.Secret, now)
	if err := e.client.ConfirmTOTPEnrollment(ctx, en.ID, badTOTP, "s:confirm-1"); err == nil {
		t.Fatal("wrong TOTP code accepted")
	}
	if err := e.client.ConfirmTOTPEnrollment(ctx, en.ID, totpCode, "s:confirm-2"); err != nil {
		t.Fatal(err)
	}
	codes, err := e.client.IssueRecoveryCodes(ctx, en.ID, 2)
	if err != nil || len(codes) != 2 {
		t.Fatalf("IssueRecoveryCodes: %v %v", codes, err)
	}
	down, _ := portalhttp.NewClient(portalhttp.ClientOptions{BaseURL: "http://127.0.0.1:1", Token: testToken, Backoff: time.Millisecond, Logger: logger})
	down.VerifyPassword(ctx, a.ID, portaltest.Password)

	secrets := map[string]string{"password": portaltest.Password, "sms code": code, "wrong sms code": wrong, "grant": g.Token, "elevated grant": eg.Token,
		"totp secret": en.Secret, "totp code": totpCode, "wrong totp code": badTOTP, "recovery code": codes[0], "service token": testToken, "enrollment id": en.ID, "challenge id": ch.ID}
	sent, logged := rt.out.String(), logs.String()
	for name, s := range secrets {
		if strings.Contains(sent, s) {
			t.Errorf("%s %q in a URL or header:\n%s", name, s, sent)
		}
		if strings.Contains(logged, s) {
			t.Errorf("%s %q in the log:\n%s", name, s, logged)
		}
	}
	if n := strings.Count(sent, "Guidedfix-Source: telegram:4242"); n != 5 {
		t.Errorf("Guidedfix-Source sent %d times, want 5 (password, 2 SMS codes, 2 TOTP codes):\n%s", n, sent)
	}
	if !strings.Contains(logged, "retrying") {
		t.Errorf("no retry warning logged:\n%s", logged)
	}
}

// sourceSpy records portal.SourceFromContext of the calls that check a
// password or a code.
type sourceSpy struct {
	portal.Core
	mu   sync.Mutex
	seen []string
}

func (s *sourceSpy) note(ctx context.Context) {
	s.mu.Lock()
	s.seen = append(s.seen, portal.SourceFromContext(ctx))
	s.mu.Unlock()
}

func (s *sourceSpy) VerifyPassword(ctx context.Context, id, pw string) (portal.Grant, error) {
	s.note(ctx)
	return s.Core.VerifyPassword(ctx, id, pw)
}

func (s *sourceSpy) VerifySMSChallenge(ctx context.Context, g, ch, code string) (portal.Grant, error) {
	s.note(ctx)
	return s.Core.VerifySMSChallenge(ctx, g, ch, code)
}

// TestSourceReachesCore: the source of the client's context arrives in the
// server's core context (portal.WithSource), and a call without one
// arrives without one.
func TestSourceReachesCore(t *testing.T) {
	e := newEnv(t, envOpts{})
	spy := &sourceSpy{Core: e.core}
	srv := httptest.NewServer(portalhttp.Server(spy, portalhttp.ServerOptions{Tokens: []string{testToken}}))
	defer srv.Close()
	c, _ := portalhttp.NewClient(portalhttp.ClientOptions{BaseURL: srv.URL, Token: testToken})
	a := e.add(t, portaltest.AliceEmail, portaltest.AlicePhone, portal.MethodSMS, portaltest.Password)
	g, err := c.VerifyPassword(portal.WithSource(context.Background(), "slack:U012AB3CD"), a.ID, portaltest.Password)
	if err != nil {
		t.Fatal(err)
	}
	c.VerifySMSChallenge(context.Background(), g.Token, "no-such-challenge", "123456")
	spy.mu.Lock()
	defer spy.mu.Unlock()
	if len(spy.seen) != 2 || spy.seen[0] != "slack:U012AB3CD" || spy.seen[1] != "" {
		t.Fatalf("sources seen by the core: %q", spy.seen)
	}
}
