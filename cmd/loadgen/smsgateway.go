package main

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"guidedfix/internal/portal/embedded"
	"guidedfix/internal/simcustomer"
)

// smsGatewayMaxSkew is how far a message's Guidedfix-Timestamp may be from
// the sink's clock: a minute, as README's SMS gateway section tells an
// operator's endpoint to check.
const smsGatewayMaxSkew = time.Minute

// smsGatewayMaxBody bounds a request body read by the sink (bytes); the
// core's messages are about 200.
const smsGatewayMaxBody = 64 << 10

// smsGateway is loadgen's SMS operator: an HTTP server on 127.0.0.1 with a
// port the system picks, to which the `guidedfix serve` (or `portal
// serve`) processes deliver their SMS as production does
// (portal.sms.gateway_url, http allowed only on loopback; the signed JSON
// of internal/portal/embedded/smsgateway.go). It checks each POST as
// README's "SMS gateway" section asks an operator's endpoint to
// (Guidedfix-Signature: HMAC-SHA256 under the shared secret, compared in
// constant time; Guidedfix-Timestamp within a minute), answers 204, and
// keeps the code of the latest message per phone number for the
// simulated customers (it is a simcustomer.SMSSource): the one with the
// greatest SentAt, of those equal the last to arrive (concurrent
// deliveries, or a retried older message, may arrive out of order). The secret is
// random per sink and reaches the server through a 0600 file
// (GUIDEDFIX_PORTAL__SMS__GATEWAY_SECRET_FILE), never a command line; the
// messages' texts are not kept.
type smsGateway struct {
	srv        *http.Server
	ln         net.Listener
	done       chan struct{}
	secret     []byte
	secretFile string
	now        func() time.Time // the clock checking timestamps; time.Now

	mu     sync.Mutex
	latest map[string]sentCode // phone (E.164) -> code of its latest message
	ids    map[string]struct{} // message ids accepted (a retried POST repeats one)

	accepted atomic.Int64 // distinct messages (by id) answered 204
	refused  atomic.Int64 // requests answered 4xx
}

// startSMSGateway writes a new random secret (32 bytes, hex) to
// dir/sms-gateway.secret (0600), listens on 127.0.0.1:0 and serves until
// close. The error is the file's or the listener's.
func startSMSGateway(dir string) (*smsGateway, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return nil, err
	}
	g := &smsGateway{secret: []byte(hex.EncodeToString(raw)), secretFile: filepath.Join(dir, "sms-gateway.secret"),
		now: time.Now, done: make(chan struct{}), latest: map[string]sentCode{}, ids: map[string]struct{}{}}
	if err := os.WriteFile(g.secretFile, g.secret, 0o600); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	g.ln = ln
	g.srv = &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	go func() { defer close(g.done); _ = g.srv.Serve(ln) }()
	return g, nil
}

// url is the endpoint the server POSTs to: http://127.0.0.1:<port>/sms.
func (g *smsGateway) url() string { return "http://" + g.ln.Addr().String() + "/sms" }

// env returns the serve (or portal serve) process's configuration for
// this sink: GUIDEDFIX_PORTAL__SMS__GATEWAY_URL and
// GUIDEDFIX_PORTAL__SMS__GATEWAY_SECRET_FILE (the secret's file, so that
// the secret is in no process's environment or arguments).
func (g *smsGateway) env() []string {
	return []string{"GUIDEDFIX_PORTAL__SMS__GATEWAY_URL=" + g.url(), "GUIDEDFIX_PORTAL__SMS__GATEWAY_SECRET_FILE=" + g.secretFile}
}

// ServeHTTP accepts one gateway message: 405 for a method other than
// POST, 413 for a body over 64 KiB, 401 for a missing or bad signature or
// a timestamp more than a minute off, 400 for a body that is not a
// message with an id and a phone number, else 204 (a repeated id is
// accepted again and counted once).
func (g *smsGateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		g.refused.Add(1)
		w.Header().Set("Allow", http.MethodPost)
		w.WriteHeader(http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, smsGatewayMaxBody))
	if err != nil {
		g.refused.Add(1)
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			w.WriteHeader(http.StatusRequestEntityTooLarge)
		} else {
			w.WriteHeader(http.StatusBadRequest)
		}
		return
	}
	if err := embedded.VerifyGateway(g.secret, r.Header.Get(embedded.GatewayTimestampHeader), r.Header.Get(embedded.GatewaySignatureHeader),
		body, g.now(), smsGatewayMaxSkew); err != nil {
		g.refused.Add(1)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var m embedded.GatewayMessage
	if err := json.Unmarshal(body, &m); err != nil || m.ID == "" || m.To == "" {
		g.refused.Add(1)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	code, hasCode := simcustomer.SMSCode(m.Text)
	g.mu.Lock()
	if _, seen := g.ids[m.ID]; !seen {
		g.ids[m.ID] = struct{}{}
		g.accepted.Add(1)
		if cur, ok := g.latest[m.To]; hasCode && (!ok || !m.SentAt.Before(cur.sentAt)) {
			g.latest[m.To] = sentCode{code: code, sentAt: m.SentAt}
		}
	}
	g.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

// sentCode is a message's code and its GatewayMessage.SentAt.
type sentCode struct {
	code   string
	sentAt time.Time
}

// Latest implements simcustomer.SMSSource: the code of the latest message
// received for phone (greatest SentAt, ties by arrival), and false while
// none has arrived.
func (g *smsGateway) Latest(phone string) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	c, ok := g.latest[phone]
	return c.code, ok
}

// close stops the server and waits for Serve to return.
func (g *smsGateway) close() {
	_ = g.srv.Close()
	_ = g.ln.Close() // Serve may not have registered ln yet
	<-g.done
}
