package telegram

import (
	"net/http"
	"testing"
)

// TestBotAPIConnectionPool: the default Bot API client opens at most
// maxIdleConns (64) connections and keeps as many idle, so a burst of
// turns waits for a connection instead of dialling one per call in
// flight.
func TestBotAPIConnectionPool(t *testing.T) {
	env, fake := newEnv(t)
	var got http.RoundTripper
	_, err := New(Options{Token: testToken, APIURL: fake.URL + "/", Engine: env.Engine,
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper { got = rt; return rt }})
	if err != nil {
		t.Fatal(err)
	}
	tr, ok := got.(*http.Transport)
	if !ok {
		t.Fatalf("transport %T, want *http.Transport", got)
	}
	if tr.MaxConnsPerHost != 64 || tr.MaxIdleConnsPerHost != 64 {
		t.Fatalf("MaxConnsPerHost %d, MaxIdleConnsPerHost %d, want 64 and 64", tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost)
	}
}
