package fakeslack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// socket is the Socket Mode side of the Server; its fields are guarded by
// Server.mu, except writeMu.
type socket struct {
	writeMu sync.Mutex      // serialises writes to conn
	conn    *websocket.Conn // the current connection, or nil
	ready   chan struct{}   // closed while a connection is up
	acks    map[string]chan json.RawMessage
	pushed  map[string][]byte // envelope id -> interactive payload
	acked   []Ack
}

// Ack is an acknowledgement received over Socket Mode.
type Ack struct {
	// EnvelopeID is the acknowledged envelope's id.
	EnvelopeID string
	// Payload is the ack's payload (a view submission's response_action,
	// a slash command's reply), or nil.
	Payload json.RawMessage
}

func newSocket() socket {
	return socket{ready: make(chan struct{}), acks: map[string]chan json.RawMessage{}, pushed: map[string][]byte{}}
}

// upgrader accepts the Socket Mode client's handshake, which carries
// "Origin: https://api.slack.com": the default check would refuse it.
var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// serveWS is the Socket Mode endpoint: it says hello, then records the
// client's acks until the connection ends.
func (s *Server) serveWS(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer conn.Close()
	hello := map[string]any{"type": "hello", "num_connections": 1, "connection_info": map[string]any{"app_id": AppID},
		"debug_info": map[string]any{"host": "fakeslack"}}
	if s.write(conn, hello) != nil {
		return
	}
	s.mu.Lock()
	if s.conn == nil {
		close(s.ready)
	}
	s.conn = conn
	s.mu.Unlock()
	for {
		var wire struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if conn.ReadJSON(&wire) != nil {
			break
		}
		a := Ack{EnvelopeID: wire.EnvelopeID, Payload: wire.Payload}
		s.mu.Lock()
		s.acked = append(s.acked, a)
		if p, ok := s.pushed[a.EnvelopeID]; ok {
			s.applyAnswer(p, a.Payload)
		}
		ch := s.acks[a.EnvelopeID]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- a.Payload:
			default: // a second ack of the same envelope
			}
		}
	}
	s.mu.Lock()
	if s.conn == conn {
		s.conn = nil
		s.ready = make(chan struct{})
	}
	s.mu.Unlock()
}

// write sends v as a text frame, then a ping (the client reconnects when
// it gets no ping for 30 s).
func (s *Server) write(conn *websocket.Conn, v any) error {
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := conn.WriteJSON(v); err != nil {
		return err
	}
	return conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(5*time.Second))
}

// Push sends a Socket Mode envelope of type typ ("events_api",
// "interactive" or "slash_commands") carrying payload, after waiting
// (within ctx) for a client to be connected. It returns the envelope id
// for WaitAck.
func (s *Server) Push(ctx context.Context, typ string, payload []byte) (string, error) {
	s.mu.Lock()
	ready := s.ready
	s.mu.Unlock()
	select {
	case <-ready:
	case <-ctx.Done():
		return "", fmt.Errorf("fakeslack: no Socket Mode client: %w", ctx.Err())
	}
	s.mu.Lock()
	id := fmt.Sprintf("env-%06d", s.next())
	s.acks[id] = make(chan json.RawMessage, 1)
	if typ == "interactive" {
		s.pushed[id] = payload
	}
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return "", errors.New("fakeslack: the Socket Mode client disconnected")
	}
	env := map[string]any{"type": typ, "envelope_id": id, "payload": json.RawMessage(payload),
		"accepts_response_payload": typ != "events_api", "retry_attempt": 0, "retry_reason": ""}
	return id, s.write(conn, env)
}

// WaitAck waits (within ctx) for the ack of envelope id and returns its
// payload, nil when the ack has none.
func (s *Server) WaitAck(ctx context.Context, id string) (json.RawMessage, error) {
	s.mu.Lock()
	ch := s.acks[id]
	s.mu.Unlock()
	if ch == nil {
		return nil, fmt.Errorf("fakeslack: envelope %s was not pushed", id)
	}
	select {
	case p := <-ch:
		return p, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("fakeslack: no ack for %s: %w", id, ctx.Err())
	}
}

// Acks returns the acks received so far, in order.
func (s *Server) Acks() []Ack {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.acked)
}

func (s *Server) closeSocket() {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn != nil {
		_ = conn.Close()
	}
}

// applyAnswer applies the answer to an interaction payload the way Slack
// does for a view submission: "update" replaces the modal, "errors" shows
// errors on it, an empty answer or "clear" closes it. s.mu must be held.
func (s *Server) applyAnswer(payload, answer []byte) {
	var p struct {
		Type string `json:"type"`
		View struct {
			ID string `json:"id"`
		} `json:"view"`
	}
	if json.Unmarshal(payload, &p) != nil || p.Type != "view_submission" {
		return
	}
	v, ok := s.views[p.View.ID]
	if !ok {
		return
	}
	var a struct {
		Action string            `json:"response_action"`
		View   json.RawMessage   `json:"view"`
		Errors map[string]string `json:"errors"`
	}
	if len(answer) > 0 && string(answer) != "null" {
		_ = json.Unmarshal(answer, &a)
	}
	switch a.Action {
	case "update":
		_ = v.set(a.View)
	case "errors":
		v.Errors = a.Errors
	default:
		v.Closed = true
	}
}
