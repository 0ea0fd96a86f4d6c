package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"guidedfix/internal/config"
	"guidedfix/internal/portal/embedded"
)

// gatewayConfig returns the portal.sms configuration the sink's env()
// gives the server.
func gatewayConfig(t *testing.T, g *smsGateway) config.PortalSMSConfig {
	t.Helper()
	var c config.PortalSMSConfig
	for _, e := range g.env() {
		k, v, _ := strings.Cut(e, "=")
		switch k {
		case "GUIDEDFIX_PORTAL__SMS__GATEWAY_URL":
			c.GatewayURL = v
		case "GUIDEDFIX_PORTAL__SMS__GATEWAY_SECRET_FILE":
			c.GatewaySecretFile = v
		default:
			t.Fatalf("unexpected variable %s", k)
		}
	}
	return c
}

// TestSMSGatewayKeepsLatestCode: the configuration from env() passes
// config validation (http to loopback, the secret in a 0600 file), and
// messages sent with the core's own gateway sender are each accepted once
// and the latest code per phone number is returned.
func TestSMSGatewayKeepsLatestCode(t *testing.T) {
	g, err := startSMSGateway(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	sc := gatewayConfig(t, g)
	cfg := config.Default()
	cfg.Portal.SMS = sc
	if err := cfg.Validate(); err != nil {
		t.Fatalf("the sink's configuration is refused: %v", err)
	}
	if fi, err := os.Stat(sc.GatewaySecretFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file: %v, %v", fi, err)
	}
	secret, err := sc.Secret()
	if err != nil {
		t.Fatal(err)
	}
	s, err := embedded.NewGatewaySMS(embedded.GatewayOptions{URL: sc.GatewayURL, Secret: []byte(secret)})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := g.Latest("+60120000001"); ok {
		t.Fatal("a code before any message")
	}
	for _, m := range []struct{ to, code string }{{"+60120000001", "111111"}, {"+60120000002", "222222"}, {"+60120000001", "333333"}} {
		if err := s.SendSMS(context.Background(), m.to, "Portal: your verification code is "+m.code+". It expires in 5 minutes. Never share it."); err != nil {
			t.Fatalf("send to %s: %v", m.to, err)
		}
	}
	if n, r := g.accepted.Load(), g.refused.Load(); n != 3 || r != 0 {
		t.Fatalf("accepted %d, refused %d; want 3, 0", n, r)
	}
	for phone, want := range map[string]string{"+60120000001": "333333", "+60120000002": "222222"} {
		if got, ok := g.Latest(phone); !ok || got != want {
			t.Fatalf("Latest(%s) = %q, %v; want %q", phone, got, ok, want)
		}
	}
}

// TestSMSGatewayRefuses: a wrong signature, a stale timestamp (with a
// right signature), a missing signature and a GET are refused with their
// exact status, are not counted as received, and change no phone's code;
// a signed message without an id is 400.
func TestSMSGatewayRefuses(t *testing.T) {
	g, err := startSMSGateway(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }
	body := []byte(`{"id":"00ff","to":"+60120000009","text":"Portal: your verification code is 987654.","sentAt":"2026-12-03T09:00:00Z"}`)
	ts := strconv.FormatInt(now.Unix(), 10)
	stale := strconv.FormatInt(now.Add(-2*time.Minute).Unix(), 10)
	post := func(method, ts, sig string, body []byte) int {
		t.Helper()
		req, err := http.NewRequest(method, g.url(), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if ts != "" {
			req.Header.Set(embedded.GatewayTimestampHeader, ts)
		}
		if sig != "" {
			req.Header.Set(embedded.GatewaySignatureHeader, sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	cases := []struct {
		name         string
		method, ts   string
		sig          string
		body         []byte
		want         int
		wantAccepted int64
	}{
		{"wrong secret", http.MethodPost, ts, embedded.SignGateway([]byte("not-the-shared-secret-0123"), ts, body), body, http.StatusUnauthorized, 0},
		{"tampered body", http.MethodPost, ts, embedded.SignGateway(g.secret, ts, body), bytes.Replace(body, []byte("987654"), []byte("123123"), 1), http.StatusUnauthorized, 0},
		{"stale timestamp", http.MethodPost, stale, embedded.SignGateway(g.secret, stale, body), body, http.StatusUnauthorized, 0},
		{"no signature", http.MethodPost, ts, "", body, http.StatusUnauthorized, 0},
		{"GET", http.MethodGet, ts, embedded.SignGateway(g.secret, ts, body), nil, http.StatusMethodNotAllowed, 0},
		{"no id", http.MethodPost, ts, embedded.SignGateway(g.secret, ts, []byte(`{"to":"+60120000009"}`)), []byte(`{"to":"+60120000009"}`), http.StatusBadRequest, 0},
		{"good", http.MethodPost, ts, embedded.SignGateway(g.secret, ts, body), body, http.StatusNoContent, 1},
		{"same id again", http.MethodPost, ts, embedded.SignGateway(g.secret, ts, body), body, http.StatusNoContent, 1},
	}
	for i, c := range cases {
		if got := post(c.method, c.ts, c.sig, c.body); got != c.want {
			t.Fatalf("%s: status %d, want %d", c.name, got, c.want)
		}
		if n := g.accepted.Load(); n != c.wantAccepted {
			t.Fatalf("%s: accepted %d, want %d", c.name, n, c.wantAccepted)
		}
		code, ok := g.Latest("+60120000009")
		if c.wantAccepted == 0 && ok {
			t.Fatalf("%s: a refused message set the code %q", c.name, code)
		}
		if c.wantAccepted == 1 && code != "987654" {
			t.Fatalf("%s: code %q, want 987654", c.name, code)
		}
		if want := int64(min(i+1, 6)); g.refused.Load() != want {
			t.Fatalf("%s: refused %d, want %d", c.name, g.refused.Load(), want)
		}
	}
}

// TestLoweredPhaseSMSThroughGateway runs the lowered phase for 3
// customers against a freshly built guidedfix: every flow completes, its
// one SMS arrives through the gateway (no request refused) and none is
// written to the file phone.
func TestLoweredPhaseSMSThroughGateway(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs guidedfix serve")
	}
	work := t.TempDir()
	bin := filepath.Join(work, "guidedfix")
	if out, err := exec.Command("go", "build", "-o", bin, "guidedfix/cmd/guidedfix").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	o := options{customers: 3, bin: bin, work: work}
	dir := filepath.Join(work, "lowered")
	r, err := flows(o, dir, phase{name: "lowered", cheap: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.completed != 3 || len(r.errors) != 0 || r.serverErrors != 0 {
		t.Fatalf("completed %d of 3, errors %v, server errors %d (%s)", r.completed, r.errors, r.serverErrors, r.firstError)
	}
	if r.sms != 3 || r.smsRefused != 0 {
		t.Fatalf("gateway received %d SMS, refused %d; want 3, 0", r.sms, r.smsRefused)
	}
	if files, _ := os.ReadDir(filepath.Join(dir, "outbox", "sms")); len(files) != 0 {
		t.Fatalf("%d files in the file phone", len(files))
	}
}

// TestSMSGatewayLatestBySentAt: the code kept per phone is that of the
// message with the greatest SentAt, whatever the arrival order; of two
// with the same SentAt the later arrival wins; each phone has its own.
func TestSMSGatewayLatestBySentAt(t *testing.T) {
	g, err := startSMSGateway(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer g.close()
	now := time.Date(2026, 12, 3, 9, 0, 0, 0, time.UTC)
	g.now = func() time.Time { return now }
	ts := strconv.FormatInt(now.Unix(), 10)
	post := func(id, to, code string, sentAt time.Time) {
		t.Helper()
		body, err := json.Marshal(embedded.GatewayMessage{ID: id, To: to, Text: "Portal: your verification code is " + code + ".", SentAt: sentAt})
		if err != nil {
			t.Fatal(err)
		}
		req, err := http.NewRequest(http.MethodPost, g.url(), bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set(embedded.GatewayTimestampHeader, ts)
		req.Header.Set(embedded.GatewaySignatureHeader, embedded.SignGateway(g.secret, ts, body))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("message %s: status %d", id, resp.StatusCode)
		}
	}
	const a, b = "+60120000011", "+60120000012"
	steps := []struct {
		id, to, code string
		sentAt       time.Duration // after now
		wantA, wantB string
	}{
		{"01", a, "200000", 2 * time.Second, "200000", ""},
		{"02", a, "100000", time.Second, "200000", ""}, // older, arrives later: ignored
		{"03", b, "300000", 0, "200000", "300000"},     // another phone, earlier SentAt
		{"04", a, "222222", 2 * time.Second, "222222", "300000"},
		{"05", a, "333333", 3 * time.Second, "333333", "300000"},
	}
	for _, s := range steps {
		post(s.id, s.to, s.code, now.Add(s.sentAt))
		for phone, want := range map[string]string{a: s.wantA, b: s.wantB} {
			if got, ok := g.Latest(phone); got != want || ok != (want != "") {
				t.Fatalf("after message %s: Latest(%s) = %q, %v; want %q", s.id, phone, got, ok, want)
			}
		}
	}
	if n := g.accepted.Load(); n != int64(len(steps)) {
		t.Fatalf("accepted %d, want %d", n, len(steps))
	}
}
