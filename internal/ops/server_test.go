package ops

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestLoopbackOnlyEndpoints: pprof, expvar and the admin backup answer 403
// to a client beyond loopback; metrics and health answer everyone.
func TestLoopbackOnlyEndpoints(t *testing.T) {
	backups := 0
	h := Handler(Options{
		Metrics: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }),
		Backup:  func(context.Context, string) ([]string, error) { backups++; return []string{"/b/portal.db"}, nil },
	})
	for _, tc := range []struct {
		method, path, remote string
		want                 int
	}{
		{"GET", "/metrics", "192.0.2.7:5000", 200},
		{"GET", "/healthz", "192.0.2.7:5000", 200},
		{"GET", "/readyz", "192.0.2.7:5000", 200},
		{"GET", "/debug/pprof/", "192.0.2.7:5000", 403},
		{"GET", "/debug/vars", "192.0.2.7:5000", 403},
		{"POST", "/admin/backup?dir=/b", "192.0.2.7:5000", 403},
		{"POST", "/admin/backup?dir=/b", "[::ffff:192.0.2.7]:5000", 403},
		{"GET", "/debug/vars", "127.0.0.1:5000", 200},
		{"GET", "/debug/pprof/", "[::1]:5000", 200},
		{"POST", "/admin/backup?dir=relative", "127.0.0.1:5000", 400},
		{"POST", "/admin/backup?dir=/b", "127.0.0.1:5000", 200},
	} {
		r := httptest.NewRequest(tc.method, tc.path, nil)
		r.RemoteAddr = tc.remote
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s %s from %s = %d, want %d", tc.method, tc.path, tc.remote, w.Code, tc.want)
		}
	}
	if backups != 1 {
		t.Fatalf("%d backups, want 1", backups)
	}
}

// TestHealthReady: conditions, probes and draining.
func TestHealthReady(t *testing.T) {
	var h Health
	if ok, lines := h.Ready(context.Background()); !ok || len(lines) != 0 {
		t.Fatalf("zero Health: %v %q", ok, lines)
	}
	met := h.Pending("telegram")
	h.Probe("portal", func(context.Context) error { return nil })
	if ok, lines := h.Ready(context.Background()); ok || len(lines) != 2 || lines[1] != "telegram: waiting for startup calls" {
		t.Fatalf("pending: %v %q", ok, lines)
	}
	met()
	if ok, _ := h.Ready(context.Background()); !ok {
		t.Fatal("not ready after met")
	}
	h.Drain()
	if ok, lines := h.Ready(context.Background()); ok || lines[len(lines)-1] != "shutting down" {
		t.Fatalf("draining: %v %q", ok, lines)
	}
}
