package metrics

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestTransportCounts429AndRetries: a call answered 429 and sent again
// with the same body counts one rate limit and one retry; the token in
// the path is no label.
func TestTransportCounts429AndRetries(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	m := New()
	c := &http.Client{Transport: m.Transport("telegram", nil)}
	for range 2 {
		resp, err := c.Post(srv.URL+"/bot123:SECRET/sendMessage", "application/json", strings.NewReader(`{"chat_id":1,"text":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	resp, err := c.Post(srv.URL+"/bot123:SECRET/sendMessage", "application/json", strings.NewReader(`{"chat_id":1,"text":"other"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for name, tc := range map[string]struct {
		got, want float64
	}{
		"429":   {testutil.ToFloat64(m.apiCalls.WithLabelValues("telegram", "sendMessage", "429")), 1},
		"ok":    {testutil.ToFloat64(m.apiCalls.WithLabelValues("telegram", "sendMessage", "ok")), 2},
		"rate":  {testutil.ToFloat64(m.apiRateLimited.WithLabelValues("telegram", "sendMessage")), 1},
		"retry": {testutil.ToFloat64(m.apiRetries.WithLabelValues("telegram", "sendMessage")), 1},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", name, tc.got, tc.want)
		}
	}
	if got := apiMethod("/bot123:SECRET/"); got != "other" {
		t.Errorf("apiMethod of a path ending in '/' = %q", got)
	}
}

// TestDeliveriesPending sums the conversations' outboxes.
func TestDeliveriesPending(t *testing.T) {
	m := New()
	value := func() float64 {
		fams, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range fams {
			if f.GetName() == "guidedfix_deliveries_pending" {
				return f.GetMetric()[0].GetGauge().GetValue()
			}
		}
		t.Fatal("guidedfix_deliveries_pending not exported")
		return 0
	}
	m.Pending("telegram:1", 2)
	m.Pending("slack:D1", 1)
	if v := value(); v != 3 {
		t.Fatalf("pending %v, want 3", v)
	}
	m.Pending("telegram:1", 0)
	if v := value(); v != 1 {
		t.Fatalf("pending %v, want 1", v)
	}
}
