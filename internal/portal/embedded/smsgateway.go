package embedded

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Headers of a gateway SMS request.
const (
	// GatewayTimestampHeader carries the Unix time (seconds) the message
	// was signed at.
	GatewayTimestampHeader = "Guidedfix-Timestamp"
	// GatewaySignatureHeader carries "v1=" + hex HMAC-SHA256 over
	// timestamp + "." + body under the shared secret.
	GatewaySignatureHeader = "Guidedfix-Signature"
)

// GatewayMessage is the JSON body the gateway sender POSTs.
type GatewayMessage struct {
	// ID is a random message id (hex, 128 bits): the operator's
	// idempotency key, the same on a retried POST.
	ID string `json:"id"`
	// To is the phone number in E.164 form.
	To string `json:"to"`
	// Text is the SMS text, code included.
	Text string `json:"text"`
	// SentAt is when the message was signed (RFC 3339, UTC).
	SentAt time.Time `json:"sentAt"`
}

// GatewayOptions configure NewGatewaySMS.
type GatewayOptions struct {
	// URL is the operator's endpoint: https, or http on a loopback host.
	URL string
	// Secret is the HMAC-SHA256 key (at least 16 bytes).
	Secret []byte
	// Client sends the requests; nil uses one with a 10 s timeout that
	// keeps up to 64 idle connections to the gateway.
	Client *http.Client
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// gatewayIdleConns is how many idle connections to the gateway the
// default client keeps for reuse.
const gatewayIdleConns = 64

// GatewaySMS is a portal.SMSSender that POSTs each message as signed JSON
// to an operator's SMS gateway. A message is accepted when the gateway
// answers 2xx; one transport failure or 5xx is retried once with the same
// id and a fresh signature.
type GatewaySMS struct {
	opts GatewayOptions
}

// NewGatewaySMS returns a GatewaySMS for o. It returns an error for a URL
// that is not https (or http on loopback) or a secret shorter than 16
// bytes.
func NewGatewaySMS(o GatewayOptions) (*GatewaySMS, error) {
	u, err := url.Parse(o.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("portal.sms.gateway_url %q is not a URL", o.URL)
	}
	ip := net.ParseIP(u.Hostname())
	if u.Scheme != "https" && !(u.Scheme == "http" && (u.Hostname() == "localhost" || (ip != nil && ip.IsLoopback()))) {
		return nil, fmt.Errorf("portal.sms.gateway_url must be https (http only on a loopback host), not %q", o.URL)
	}
	if len(o.Secret) < 16 {
		return nil, errors.New("portal.sms.gateway_secret must have at least 16 bytes")
	}
	if o.Client == nil {
		// http.DefaultTransport keeps 2 idle connections per host: with
		// more SMS in flight, each other message dialled (and, over
		// https, handshook) a new connection (issue 14).
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = gatewayIdleConns
		o.Client = &http.Client{Transport: tr, Timeout: 10 * time.Second}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &GatewaySMS{opts: o}, nil
}

// SendSMS implements portal.SMSSender. It returns an error when the
// gateway did not accept the message; the error never holds its text.
func (g *GatewaySMS) SendSMS(ctx context.Context, phone, text string) error {
	id := make([]byte, 16)
	rand.Read(id)
	var last error
	for attempt := 0; attempt < 2; attempt++ {
		now := g.opts.Now().UTC()
		body, _ := json.Marshal(GatewayMessage{ID: hex.EncodeToString(id), To: phone, Text: text, SentAt: now.Truncate(time.Second)})
		ts := strconv.FormatInt(now.Unix(), 10)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.opts.URL, bytes.NewReader(body))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set(GatewayTimestampHeader, ts)
		req.Header.Set(GatewaySignatureHeader, SignGateway(g.opts.Secret, ts, body))
		resp, err := g.opts.Client.Do(req)
		if err != nil {
			last = fmt.Errorf("sms gateway: %w", err)
			continue
		}
		io.Copy(io.Discard, io.LimitReader(resp.Body, 4096))
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			return nil
		}
		last = fmt.Errorf("sms gateway answered %d", resp.StatusCode)
		if resp.StatusCode < 500 {
			return last
		}
	}
	return last
}

// SignGateway returns the GatewaySignatureHeader value for a body signed
// at ts (Unix seconds, decimal): "v1=" + hex HMAC-SHA256(secret,
// ts + "." + body).
func SignGateway(secret []byte, ts string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return "v1=" + hex.EncodeToString(m.Sum(nil))
}

// VerifyGateway checks a gateway request as an operator's endpoint should:
// the signature (constant-time) and a timestamp within maxSkew of now. It
// returns nil when both hold.
func VerifyGateway(secret []byte, ts, sig string, body []byte, now time.Time, maxSkew time.Duration) error {
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return errors.New("sms gateway: bad timestamp")
	}
	if d := now.Sub(time.Unix(sec, 0)); d > maxSkew || d < -maxSkew {
		return errors.New("sms gateway: timestamp outside the allowed skew")
	}
	if !hmac.Equal([]byte(SignGateway(secret, ts, body)), []byte(strings.TrimSpace(sig))) {
		return errors.New("sms gateway: bad signature")
	}
	return nil
}
