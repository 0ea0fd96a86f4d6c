package embedded

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
)

// TestGatewaySMSReusesConnections: 5 rounds of 8 messages sent at once
// through the default client open about 8 connections to the gateway,
// not a new one for most messages (http.DefaultTransport keeps only 2
// idle per host: about 8 + 4×6 = 32 connections).
func TestGatewaySMSReusesConnections(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.WriteHeader(http.StatusAccepted)
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	g, err := NewGatewaySMS(GatewayOptions{URL: srv.URL, Secret: []byte("0123456789abcdef-operator")})
	if err != nil {
		t.Fatal(err)
	}
	const rounds, width = 5, 8
	for r := range rounds {
		var wg sync.WaitGroup
		errs := make([]error, width)
		for i := range width {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = g.SendSMS(context.Background(), fmt.Sprintf("+6012000%04d", r*width+i), "Your code is 123456")
			}()
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
	if n := conns.Load(); n > 2*width {
		t.Fatalf("%d messages opened %d connections, want at most %d", rounds*width, n, 2*width)
	}
}
