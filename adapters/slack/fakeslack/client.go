package fakeslack

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Command returns the form Slack posts when user types command (e.g.
// "/guidedfix") with text in channel; it carries a new trigger_id. Send it
// with Client.Command, or as a Socket Mode "slash_commands" payload with
// FormJSON.
func (s *Server) Command(user, channel, command, text string) url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := strconv.Itoa(s.next())
	s.responses[id] = Message{Channel: channel, User: user}
	return url.Values{
		"token": {"legacy-verification-token"}, "team_id": {TeamID}, "team_domain": {"fake"},
		"channel_id": {channel}, "channel_name": {channelName(channel)}, "user_id": {user},
		"user_name": {strings.ToLower(user)}, "command": {command}, "text": {text}, "api_app_id": {AppID},
		"is_enterprise_install": {"false"}, "response_url": {s.URL + "response/" + id},
		"trigger_id": {s.triggerLocked(user)},
	}
}

// FormJSON returns form as the JSON object a Socket Mode "slash_commands"
// envelope carries.
func FormJSON(form url.Values) []byte {
	m := map[string]string{}
	for k := range form {
		m[k] = form.Get(k)
	}
	b, _ := json.Marshal(m)
	return b
}

func channelName(id string) string {
	switch {
	case strings.HasPrefix(id, "D"):
		return "directmessage"
	case strings.HasPrefix(id, "G"):
		return "privategroup"
	}
	return "general"
}

// MessageEvent records a message that user typed in channel (a person's
// message: the app cannot delete it) and returns its Events API body
// (event_callback with a new event_id) and its ts.
func (s *Server) MessageEvent(user, channel, text string) (body []byte, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Message{Channel: channel, TS: s.newTS(), User: user, Text: text}
	s.channels[channel] = append(s.channels[channel], m)
	return s.eventLocked(map[string]any{"type": "message", "channel": channel, "user": user, "text": text,
		"ts": m.TS, "event_ts": m.TS, "channel_type": channelType(channel), "client_msg_id": fmt.Sprintf("msg-%d", s.seq)}), m.TS
}

// ReplyEvent records a reply that user wrote in the thread of message
// thread in channel and returns its Events API body and its ts.
func (s *Server) ReplyEvent(user, channel, thread, text string) (body []byte, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := &Message{Channel: channel, TS: s.newTS(), User: user, Text: text, ThreadTS: thread}
	s.channels[channel] = append(s.channels[channel], m)
	for _, r := range s.channels[channel] {
		if r.TS == thread {
			r.ThreadTS = thread
		}
	}
	return s.eventLocked(map[string]any{"type": "message", "channel": channel, "user": user, "text": text,
		"ts": m.TS, "thread_ts": thread, "event_ts": m.TS, "channel_type": channelType(channel),
		"client_msg_id": fmt.Sprintf("msg-%d", s.seq)}), m.TS
}

// FileReplyEvent records a reply with a file (subtype "file_share") that
// user wrote in the thread of message thread in channel, with text as
// its words, and returns its Events API body and its ts.
func (s *Server) FileReplyEvent(user, channel, thread, text, fileName string) (body []byte, ts string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := fmt.Sprintf("F%06d", s.next())
	m := &Message{Channel: channel, TS: s.newTS(), User: user, Text: text, ThreadTS: thread, Files: []string{id}}
	s.channels[channel] = append(s.channels[channel], m)
	return s.eventLocked(map[string]any{"type": "message", "subtype": "file_share", "channel": channel, "user": user,
		"text": text, "ts": m.TS, "thread_ts": thread, "event_ts": m.TS, "channel_type": channelType(channel),
		"files": []map[string]any{{"id": id, "name": fileName}}}), m.TS
}

// channelType is an Events API message's channel_type for channel id.
func channelType(id string) string {
	switch {
	case strings.HasPrefix(id, "D"):
		return "im"
	case strings.HasPrefix(id, "G"):
		return "group"
	}
	return "channel"
}

// HomeOpenedEvent returns the Events API body of user opening the App
// Home tab.
func (s *Server) HomeOpenedEvent(user string) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.eventLocked(map[string]any{"type": "app_home_opened", "user": user, "channel": s.imLocked(user),
		"tab": "home", "event_ts": s.newTS()})
}

func (s *Server) eventLocked(inner map[string]any) []byte {
	n := s.next()
	b, _ := json.Marshal(map[string]any{"token": "legacy-verification-token", "team_id": TeamID, "api_app_id": AppID,
		"type": "event_callback", "event_id": fmt.Sprintf("Ev%06d", n), "event_time": 1764410400 + n, "event": inner,
		"authorizations": []map[string]any{{"team_id": TeamID, "user_id": BotUserID, "is_bot": true}}})
	return b
}

// Button is a Block Kit button the app has shown, in a message or a view.
type Button struct {
	// Text is the button's label.
	Text string
	// ActionID is the button's action_id.
	ActionID string
	// Value is the button's value.
	Value string
	// BlockID is the block_id of the actions block holding it.
	BlockID string
	// Channel and MessageTS locate a message's button.
	Channel   string
	MessageTS string
	// ViewID locates a view's button.
	ViewID string
}

// Buttons returns the buttons of the messages in channel, newest message
// first.
func (s *Server) Buttons(channel string) []Button {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Button
	ms := s.channels[channel]
	for i := len(ms) - 1; i >= 0; i-- {
		for _, b := range buttons(ms[i].Blocks) {
			b.Channel, b.MessageTS = channel, ms[i].TS
			out = append(out, b)
		}
	}
	return out
}

// HomeButtons returns the buttons of user's App Home tab.
func (s *Server) HomeButtons(user string) []Button {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[s.home[user]]
	if !ok {
		return nil
	}
	var out []Button
	for _, b := range buttons(v.Blocks) {
		b.ViewID = v.ID
		out = append(out, b)
	}
	return out
}

// wireBlock is the part of a Block Kit block the fake reads.
type wireBlock struct {
	Type     string `json:"type"`
	BlockID  string `json:"block_id"`
	Elements []struct {
		Type     string `json:"type"`
		ActionID string `json:"action_id"`
		Value    string `json:"value"`
		Text     struct {
			Text string `json:"text"`
		} `json:"text"`
	} `json:"elements"`
	Element struct {
		Type     string `json:"type"`
		ActionID string `json:"action_id"`
	} `json:"element"`
}

func buttons(blocks json.RawMessage) []Button {
	var bs []wireBlock
	_ = json.Unmarshal(blocks, &bs)
	var out []Button
	for _, b := range bs {
		for _, e := range b.Elements {
			if e.Type == "button" {
				out = append(out, Button{Text: e.Text.Text, ActionID: e.ActionID, Value: e.Value, BlockID: b.BlockID})
			}
		}
	}
	return out
}

// Click returns the block_actions payload of user pressing b; it carries
// a new trigger_id and action_ts.
func (s *Server) Click(user string, b Button) []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	trigger := s.triggerLocked(user)
	p := map[string]any{
		"type": "block_actions", "team": map[string]any{"id": TeamID, "domain": "fake"},
		"user": map[string]any{"id": user, "team_id": TeamID}, "api_app_id": AppID,
		"token": "legacy-verification-token", "trigger_id": trigger,
		"actions": []map[string]any{{"type": "button", "action_id": b.ActionID, "block_id": b.BlockID, "value": b.Value,
			"text": map[string]any{"type": "plain_text", "text": b.Text}, "action_ts": s.newTS()}},
	}
	if v, ok := s.views[b.ViewID]; ok {
		p["container"] = map[string]any{"type": "view", "view_id": v.ID}
		p["view"] = v.wire()
	} else {
		container := map[string]any{"type": "message", "message_ts": b.MessageTS, "channel_id": b.Channel, "is_ephemeral": false}
		p["channel"] = map[string]any{"id": b.Channel, "name": channelName(b.Channel)}
		msg := map[string]any{"type": "message", "ts": b.MessageTS, "user": BotUserID}
		for _, m := range s.channels[b.Channel] {
			if m.TS == b.MessageTS {
				msg["text"], msg["blocks"] = m.Text, m.Blocks
				if m.ThreadTS != "" {
					msg["thread_ts"], container["thread_ts"] = m.ThreadTS, m.ThreadTS
				}
			}
		}
		p["container"], p["message"] = container, msg
	}
	out, _ := json.Marshal(p)
	return out
}

// Submit returns the view_submission payload of the modal's user typing
// value into the modal's input and pressing Submit; it carries a new
// trigger_id. It fails when the view does not exist, is closed or has no
// plain_text_input.
func (s *Server) Submit(viewID, value string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[viewID]
	if !ok || v.Type != "modal" {
		return nil, fmt.Errorf("fakeslack: no modal %s", viewID)
	}
	if v.Closed {
		return nil, fmt.Errorf("fakeslack: modal %s is closed", viewID)
	}
	var bs []wireBlock
	_ = json.Unmarshal(v.Blocks, &bs)
	i := slices.IndexFunc(bs, func(b wireBlock) bool { return b.Type == "input" && b.Element.Type == "plain_text_input" })
	if i < 0 {
		return nil, fmt.Errorf("fakeslack: modal %s has no text input", viewID)
	}
	view := v.wire()
	view["state"] = map[string]any{"values": map[string]any{bs[i].BlockID: map[string]any{
		bs[i].Element.ActionID: map[string]any{"type": "plain_text_input", "value": value}}}}
	out, _ := json.Marshal(map[string]any{
		"type": "view_submission", "team": map[string]any{"id": TeamID, "domain": "fake"},
		"user": map[string]any{"id": v.User, "team_id": TeamID}, "api_app_id": AppID,
		"token": "legacy-verification-token", "trigger_id": s.triggerLocked(v.User), "view": view, "response_urls": []any{},
	})
	return out, nil
}

// Client sends requests to an adapter's HTTP handler as Slack does,
// signed with the signing secret. Handler calls are synchronous: the
// answer is back when a method returns.
type Client struct {
	// Server issues the trigger_ids and receives the answers to view
	// submissions.
	Server *Server
	// Handler is the adapter's HTTP handler.
	Handler http.Handler
	// Secret is the signing secret.
	Secret string
	// Now is the signing time; default time.Now.
	Now func() time.Time
}

// Response is the adapter's answer to a request.
type Response struct {
	// Status is the HTTP status code.
	Status int
	// Body is the response body.
	Body []byte
}

// Post posts body to path, signed unless header already carries an
// X-Slack-Signature.
func (c *Client) Post(path, contentType string, body []byte, header http.Header) Response {
	req := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", contentType)
	if req.Header.Get("X-Slack-Signature") == "" {
		now := time.Now
		if c.Now != nil {
			now = c.Now
		}
		Sign(req.Header, c.Secret, now(), body)
	}
	rec := httptest.NewRecorder()
	c.Handler.ServeHTTP(rec, req)
	return Response{Status: rec.Code, Body: rec.Body.Bytes()}
}

const formType = "application/x-www-form-urlencoded"

// Command posts a slash command form (Server.Command) to /slack/commands.
func (c *Client) Command(form url.Values) Response {
	return c.Post("/slack/commands", formType, []byte(form.Encode()), nil)
}

// Interact posts an interaction payload (Click, Submit) to
// /slack/interactivity and applies the answer to a view submission.
func (c *Client) Interact(payload []byte) Response {
	r := c.Post("/slack/interactivity", formType, []byte(url.Values{"payload": {string(payload)}}.Encode()), nil)
	if r.Status == http.StatusOK {
		c.Server.mu.Lock()
		c.Server.applyAnswer(payload, r.Body)
		c.Server.mu.Unlock()
	}
	return r
}

// Event posts an Events API body to /slack/events; retry > 0 marks it as
// Slack's retry number retry (X-Slack-Retry-Num).
func (c *Client) Event(body []byte, retry int) Response {
	h := http.Header{}
	if retry > 0 {
		h.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		h.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	return c.Post("/slack/events", "application/json", body, h)
}

// Sign sets the X-Slack-Request-Timestamp and X-Slack-Signature headers
// of a request carrying body, as Slack signs it with secret at ts:
// "v0=" + hex(HMAC-SHA256(secret, "v0:" + unix seconds + ":" + body)).
func Sign(h http.Header, secret string, ts time.Time, body []byte) {
	sec := strconv.FormatInt(ts.Unix(), 10)
	m := hmac.New(sha256.New, []byte(secret))
	fmt.Fprintf(m, "v0:%s:", sec)
	m.Write(body)
	h.Set("X-Slack-Request-Timestamp", sec)
	h.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
}
