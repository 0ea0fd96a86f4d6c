package metrics

import (
	"crypto/sha256"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Transport returns base (http.DefaultTransport when nil) with every
// request counted in guidedfix_platform_api_calls_total{platform,method,
// result} and timed in guidedfix_platform_api_call_duration_seconds. The
// API method is the request path's last segment ("sendMessage" of
// /bot<token>/sendMessage, "chat.postMessage" of /api/chat.postMessage),
// or "other" when it is not a plain method name; the token in the path
// never becomes a label. A 429 answer also counts in
// guidedfix_platform_api_rate_limited_total, and a request whose method
// and body equal those of an earlier one answered 429, 5xx or not at all
// counts in guidedfix_platform_api_retries_total. Transport returns base's
// responses and errors unchanged.
func (m *Metrics) Transport(platform string, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &meteredTransport{m: m, platform: platform, base: base, failed: map[[32]byte]time.Time{}}
}

// retryMemory is how long a failed call's fingerprint is remembered.
const retryMemory = 10 * time.Minute

type meteredTransport struct {
	m        *Metrics
	platform string
	base     http.RoundTripper

	mu     sync.Mutex
	failed map[[32]byte]time.Time // fingerprints of failed calls
}

func (t *meteredTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	method := apiMethod(r.URL.Path)
	fp, haveFP := fingerprint(r, method)
	if haveFP && t.wasFailed(fp) {
		t.m.apiRetries.WithLabelValues(t.platform, method).Inc()
	}
	start := time.Now()
	resp, err := t.base.RoundTrip(r)
	t.m.apiSeconds.WithLabelValues(t.platform, method).Observe(time.Since(start).Seconds())
	result := "error"
	if err == nil {
		result = statusResult(resp.StatusCode)
		if resp.StatusCode == http.StatusTooManyRequests {
			t.m.apiRateLimited.WithLabelValues(t.platform, method).Inc()
		}
	}
	t.m.apiCalls.WithLabelValues(t.platform, method, result).Inc()
	if haveFP {
		t.remember(fp, result == "error" || result == "429" || result == "5xx")
	}
	return resp, err
}

func (t *meteredTransport) wasFailed(fp [32]byte) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	at, ok := t.failed[fp]
	return ok && time.Since(at) < retryMemory
}

func (t *meteredTransport) remember(fp [32]byte, failed bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if !failed {
		delete(t.failed, fp)
		return
	}
	if len(t.failed) > 10000 {
		for k, at := range t.failed {
			if time.Since(at) >= retryMemory {
				delete(t.failed, k)
			}
		}
	}
	t.failed[fp] = time.Now()
}

// fingerprint hashes the method and the request body (read again through
// GetBody, so the request is untouched); ok is false for a request whose
// body cannot be read twice or a body-less one (getUpdates' long poll has
// a body; an empty-bodied call has nothing to tell retries apart).
func fingerprint(r *http.Request, method string) (fp [32]byte, ok bool) {
	if r.GetBody == nil || r.Body == nil || r.Body == http.NoBody {
		return fp, false
	}
	body, err := r.GetBody()
	if err != nil {
		return fp, false
	}
	defer body.Close()
	h := sha256.New()
	io.WriteString(h, method+"\x00")
	if _, err := io.Copy(h, body); err != nil {
		return fp, false
	}
	copy(fp[:], h.Sum(nil))
	return fp, true
}

// apiMethod returns the last path segment when it is a method name
// (letters, digits, '.', '_', at most 64), else "other".
func apiMethod(path string) string {
	seg := path[strings.LastIndexByte(path, '/')+1:]
	if seg == "" || len(seg) > 64 {
		return "other"
	}
	for _, c := range seg {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_') {
			return "other"
		}
	}
	return seg
}

// statusResult is the result label of an HTTP status: "ok" for 1xx-3xx,
// "429", "4xx", "5xx".
func statusResult(code int) string {
	switch {
	case code == http.StatusTooManyRequests:
		return "429"
	case code >= 500:
		return "5xx"
	case code >= 400:
		return "4xx"
	case code > 0:
		return "ok"
	}
	return strconv.Itoa(code)
}
