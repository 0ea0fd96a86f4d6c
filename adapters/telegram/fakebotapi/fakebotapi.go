// Package fakebotapi is an in-process fake of the Telegram Bot API server
// (core.telegram.org/bots/api) for tests and load benchmarks of the
// Telegram adapter. It listens on 127.0.0.1 (net/http/httptest) and speaks
// the wire format of github.com/go-telegram/bot: every method is a POST
// to /bot<token>/<method> with a multipart/form-data body whose structured
// fields are JSON strings; answers are {"ok":..,"result":..} objects. It
// also takes application/json bodies (the adapter's hot methods,
// adapters/telegram/jsoncall.go) and url-encoded forms, as the Bot API
// does (core.telegram.org/bots/api#making-requests).
//
// It implements getMe, getUpdates (a held long poll fed by Inject),
// setWebhook, deleteWebhook, setMyCommands, sendMessage, sendPhoto,
// editMessageText, editMessageReplyMarkup, deleteMessage, deleteMessages
// (1-100 ids; missing ones are skipped, none found is an error) and
// answerCallbackQuery, with Telegram's checks that matter to the adapter
// (text lengths, inline keyboard fields, missing messages). It records
// every call, tracks which messages exist in each chat, and fails calls on
// request (FailNext). Server.Post delivers an update to a webhook as
// Telegram does and performs the request the webhook's answer may carry
// (core.telegram.org/bots/api#making-requests-when-getting-updates). All
// methods are safe for concurrent use.
package fakebotapi

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configure a Server.
type Options struct {
	// Token, when set, is the only bot token accepted; requests for
	// another token get error 401 "Unauthorized". Empty accepts any.
	Token string
	// BotUsername is the bot's username returned by getMe; default
	// "fake_bot".
	BotUsername string
	// MaxPoll caps how long a getUpdates call is held when no update is
	// pending, whatever its timeout field says; default 50 s (the
	// library's HTTP client gives up after 60 s).
	MaxPoll time.Duration
	// OnCall, if set, is called for every request other than getUpdates,
	// outside the fake's lock: first before the fake applies it (applied
	// false), then after it applied it and before the answer is written
	// (applied true; ErrorCode and Result set). Crash tests kill the
	// client there; benchmarks time the answers. When the first call
	// returns false the request is dropped: nothing is applied or
	// recorded and the client gets HTTP 502, as if the request never
	// reached Telegram.
	OnCall func(c Call, applied bool) bool
	// Flood, if set, is asked for every request other than getUpdates
	// before the fake applies it; a positive answer n refuses the call
	// as Telegram's flood control does: error 429 "Too Many Requests:
	// retry after n" with parameters.retry_after n, nothing applied. It
	// runs under the fake's lock: it must not call the Server.
	Flood func(c Call) int
}

// Server is the fake Bot API server.
type Server struct {
	// URL is the server's base URL, "http://127.0.0.1:port", for
	// go-telegram/bot's WithServerURL.
	URL string

	ts      *httptest.Server
	maxPoll time.Duration
	onCall  func(Call, bool) bool
	flood   func(Call) int
	token   string
	bot     User
	closed  chan struct{}
	once    sync.Once

	mu        sync.Mutex
	changed   chan struct{} // closed and replaced on every change
	calls     []Call
	pending   []Update
	failures  map[string][]failure
	chats     map[int64]map[int]*Message
	chatType  map[int64]Chat
	msgSeq    map[int64]int
	answered  map[string]bool
	blocked   map[int64]bool // private chats whose user blocked the bot
	files     map[string][]byte
	updateSeq int64
	callSeq   int64 // order of the recorded calls (Call.seq)
	cbSeq     int
	fileSeq   int
	webhook   string
	secret    string
	confirmed int64 // highest offset a getUpdates call has asked with
}

// Call is one recorded Bot API request. Its maps are shared: read them,
// do not change them.
type Call struct {
	// Method is the Bot API method name, e.g. "sendMessage".
	Method string
	// Fields are the form fields as sent (JSON text for objects, "true"
	// for booleans).
	Fields map[string]string
	// Files are the uploaded files by field name ("photo").
	Files map[string]File
	// JSON says the body was an application/json object (its string
	// members are in Fields as their values, other members as JSON text).
	JSON bool
	// ErrorCode is the error_code the fake answered, 0 for success.
	ErrorCode int
	// Result is the JSON "result" the fake answered (nil on error).
	Result json.RawMessage
	// Webhook says the request came in a webhook's answer to an update
	// (Server.Post), not as a request of its own: the fake performed it
	// as if called, and its answer went nowhere.
	Webhook bool

	seq int64 // position in the record (see Server.record)
}

// File is an uploaded file.
type File struct {
	// Name is the file name given in the multipart header.
	Name string
	// Data is the file's bytes.
	Data []byte
}

// MessageID returns the message_id of the Message in c.Result, or 0 when
// the result is not a Message.
func (c Call) MessageID() int {
	var m struct {
		ID int `json:"message_id"`
	}
	_ = json.Unmarshal(c.Result, &m)
	return m.ID
}

type failure struct {
	code       int
	desc       string
	retryAfter int
}

// New starts a fake server on 127.0.0.1; Close stops it.
func New(opts Options) *Server {
	if opts.BotUsername == "" {
		opts.BotUsername = "fake_bot"
	}
	if opts.MaxPoll <= 0 {
		opts.MaxPoll = 50 * time.Second
	}
	s := &Server{
		maxPoll:  opts.MaxPoll,
		onCall:   opts.OnCall,
		flood:    opts.Flood,
		files:    map[string][]byte{},
		token:    opts.Token,
		bot:      User{ID: 1000, IsBot: true, FirstName: "Fake", Username: opts.BotUsername},
		closed:   make(chan struct{}),
		changed:  make(chan struct{}),
		failures: map[string][]failure{},
		chats:    map[int64]map[int]*Message{},
		chatType: map[int64]Chat{},
		msgSeq:   map[int64]int{},
		answered: map[string]bool{},
		blocked:  map[int64]bool{},
	}
	s.ts = httptest.NewServer(http.HandlerFunc(s.serveHTTP))
	s.URL = s.ts.URL
	return s
}

// Close releases held getUpdates calls and shuts the server down.
func (s *Server) Close() {
	s.once.Do(func() { close(s.closed) })
	s.ts.Close()
}

// Bot returns the bot's own User (as getMe answers it).
func (s *Server) Bot() User { return s.bot }

// Inject queues updates for getUpdates, in order. An update stays queued
// until a getUpdates call confirms it with a higher offset, so injecting
// one twice delivers it twice (a duplicate).
func (s *Server) Inject(updates ...Update) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = append(s.pending, updates...)
	s.notify()
}

// FailNext makes the next call of method fail with error_code code and
// description; retryAfter (seconds), when positive, is sent as
// parameters.retry_after (use it with code 429). Failures queue up in
// order.
func (s *Server) FailNext(method string, code int, description string, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], failure{code, description, retryAfter})
}

// Confirmed returns the highest offset any getUpdates call has sent: every
// update with a lower update_id is confirmed and will not be sent again
// (Bot API getUpdates, offset). A held call counts from its arrival.
func (s *Server) Confirmed() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.confirmed
}

// Calls returns the recorded calls of the given methods (all calls when
// none is given), oldest first.
func (s *Server) Calls(methods ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.filter(methods)
}

// ResetCalls forgets the recorded calls (long benchmarks).
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
}

// WaitCalls blocks until at least n calls of method were recorded and
// returns them; it returns ctx's error (and the calls so far) when ctx
// ends first.
func (s *Server) WaitCalls(ctx context.Context, method string, n int) ([]Call, error) {
	for {
		s.mu.Lock()
		cs, ch := s.filter([]string{method}), s.changed
		s.mu.Unlock()
		if len(cs) >= n {
			return cs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return cs, fmt.Errorf("waiting for %d %s calls, have %d: %w", n, method, len(cs), ctx.Err())
		}
	}
}

// Messages returns the messages that exist in chat (sent by the bot or
// built for a user, and not deleted), by message id.
func (s *Server) Messages(chat int64) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.chats[chat] {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b Message) int { return a.ID - b.ID })
	return out
}

// Exists reports whether message id exists in chat.
func (s *Server) Exists(chat int64, id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.chats[chat][id]
	return ok
}

func (s *Server) filter(methods []string) []Call {
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// notify wakes every waiter; s.mu must be held.
func (s *Server) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// record adds c to the calls; s.mu must be held. A call with seq 0 comes
// last; one with a seq (a webhook answer's request, recorded at the place
// its update's delivery began) goes after the calls recorded before it.
func (s *Server) record(c Call) {
	if c.seq == 0 {
		s.callSeq++
		c.seq = s.callSeq
		s.calls = append(s.calls, c)
	} else {
		i, _ := slices.BinarySearchFunc(s.calls, c.seq, func(x Call, seq int64) int { return cmp.Compare(x.seq, seq) })
		for i < len(s.calls) && s.calls[i].seq == c.seq {
			i++
		}
		s.calls = slices.Insert(s.calls, i, c)
	}
	s.notify()
}

// apiError is a Bot API error answer.
type apiError struct {
	code       int
	desc       string
	retryAfter int
}

func badRequest(desc string) *apiError { return &apiError{code: 400, desc: "Bad Request: " + desc} }

func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || r.Method != http.MethodPost {
		writeAnswer(w, nil, &apiError{code: 404, desc: "Not Found"})
		return
	}
	if s.token != "" && token != s.token {
		writeAnswer(w, nil, &apiError{code: 401, desc: "Unauthorized"})
		return
	}
	call, err := readCall(r, method)
	if err != nil {
		writeAnswer(w, nil, badRequest(err.Error()))
		return
	}
	if method == "getUpdates" {
		s.getUpdates(w, r, call)
		return
	}
	body, status, ok := s.perform(call)
	if !ok {
		http.Error(w, "dropped", http.StatusBadGateway)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// perform runs call (any method but getUpdates) as a request: OnCall,
// an injected failure or Flood, apply, record, OnCall again. It returns
// the answer and its HTTP status; ok is false when OnCall dropped it.
func (s *Server) perform(call Call) (_ answerBody, status int, ok bool) {
	if s.onCall != nil && !s.onCall(call, false) {
		return answerBody{}, 0, false
	}
	s.mu.Lock()
	_, aerr := s.failure(call.Method)
	if aerr == nil && s.flood != nil {
		if n := s.flood(call); n > 0 {
			aerr = &apiError{code: 429, desc: fmt.Sprintf("Too Many Requests: retry after %d", n), retryAfter: n}
		}
	}
	var result any
	if aerr == nil {
		result, aerr = s.apply(call)
	}
	body, status := encodeAnswer(result, aerr)
	if aerr != nil {
		call.ErrorCode = aerr.code
	} else {
		call.Result = body.Result
	}
	s.record(call)
	s.mu.Unlock()
	if s.onCall != nil {
		s.onCall(call, true)
	}
	return body, status, true
}

// answerBody is a Bot API answer.
type answerBody struct {
	OK          bool            `json:"ok"`
	Result      json.RawMessage `json:"result,omitempty"`
	ErrorCode   int             `json:"error_code,omitempty"`
	Description string          `json:"description,omitempty"`
	Parameters  map[string]any  `json:"parameters,omitempty"`
}

// encodeAnswer returns the answer to a call and its HTTP status.
func encodeAnswer(result any, aerr *apiError) (answerBody, int) {
	if aerr != nil {
		b := answerBody{ErrorCode: aerr.code, Description: aerr.desc}
		if aerr.retryAfter > 0 {
			b.Parameters = map[string]any{"retry_after": aerr.retryAfter}
		}
		return b, aerr.code
	}
	raw, _ := json.Marshal(result)
	return answerBody{OK: true, Result: raw}, http.StatusOK
}

// FileData returns the bytes of an uploaded file by its file_id (the
// Bot API's getFile and download, in one call).
func (s *Server) FileData(fileID string) ([]byte, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.files[fileID]
	return b, ok
}

// failure takes the next injected failure of method; s.mu must be held.
func (s *Server) failure(method string) (any, *apiError) {
	fs := s.failures[method]
	if len(fs) == 0 {
		return nil, nil
	}
	s.failures[method] = fs[1:]
	return nil, &apiError{fs[0].code, fs[0].desc, fs[0].retryAfter}
}

// getUpdates answers the pending updates from offset on, holding the call
// until one is pending, the timeout passes, the client leaves or the
// server closes.
func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, c Call) {
	offset, _ := strconv.ParseInt(c.Fields["offset"], 10, 64)
	limit, _ := strconv.Atoi(c.Fields["limit"])
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	timeout, _ := strconv.Atoi(c.Fields["timeout"])
	s.mu.Lock()
	if offset > s.confirmed {
		s.confirmed = offset
		s.notify()
	}
	s.mu.Unlock()
	hold := min(time.Duration(timeout)*time.Second, s.maxPoll)
	timer := time.NewTimer(hold)
	defer timer.Stop()
	expired := hold <= 0
	for {
		s.mu.Lock()
		if _, aerr := s.failure("getUpdates"); aerr != nil {
			s.answer(w, c, nil, aerr)
			s.mu.Unlock()
			return
		}
		if s.webhook != "" {
			s.answer(w, c, nil, &apiError{code: 409, desc: "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"})
			s.mu.Unlock()
			return
		}
		s.pending = slices.DeleteFunc(s.pending, func(u Update) bool { return u.ID < offset })
		if len(s.pending) > 0 || expired {
			batch := s.pending[:min(limit, len(s.pending))]
			s.answer(w, c, append([]Update{}, batch...), nil)
			s.mu.Unlock()
			return
		}
		ch := s.changed
		s.mu.Unlock()
		select {
		case <-ch:
		case <-timer.C:
			expired = true
		case <-s.closed:
			expired = true
		case <-r.Context().Done():
			return
		}
	}
}

// answer writes and records; s.mu must be held.
func (s *Server) answer(w http.ResponseWriter, c Call, result any, aerr *apiError) {
	raw := writeAnswer(w, result, aerr)
	if aerr != nil {
		c.ErrorCode = aerr.code
	} else {
		c.Result = raw
	}
	s.record(c)
}

func writeAnswer(w http.ResponseWriter, result any, aerr *apiError) json.RawMessage {
	w.Header().Set("Content-Type", "application/json")
	if aerr != nil {
		body := map[string]any{"ok": false, "error_code": aerr.code, "description": aerr.desc}
		if aerr.retryAfter > 0 {
			body["parameters"] = map[string]any{"retry_after": aerr.retryAfter}
		}
		w.WriteHeader(aerr.code)
		_ = json.NewEncoder(w).Encode(body)
		return nil
	}
	raw, _ := json.Marshal(result)
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": true, "result": json.RawMessage(raw)})
	return raw
}

// readCall decodes a multipart form, a JSON object or a url-encoded form
// into a Call (the Bot API accepts all three; application/json for every
// method but file uploads). An empty body (getMe in go-telegram/bot) has
// no fields.
func readCall(r *http.Request, method string) (Call, error) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		return Call{Method: method, Fields: map[string]string{}, Files: map[string]File{}}, err
	}
	return parseCall(method, r.Header.Get("Content-Type"), body)
}

// parseCall decodes body, of the given Content-Type, as readCall does.
func parseCall(method, contentType string, body []byte) (Call, error) {
	c := Call{Method: method, Fields: map[string]string{}, Files: map[string]File{}}
	if len(body) == 0 {
		return c, nil
	}
	mt, params, _ := mime.ParseMediaType(contentType)
	if mt == "application/json" {
		c.JSON = true
		return c, jsonFields(body, c.Fields)
	}
	if mt != "multipart/form-data" {
		if mt != "application/x-www-form-urlencoded" {
			return c, nil // net/http's ParseForm reads no other body
		}
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return c, err
		}
		for k, v := range form {
			c.Fields[k] = v[0]
		}
		return c, nil
	}
	form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(64 << 20)
	if err != nil {
		return c, fmt.Errorf("multipart form: %w", err)
	}
	defer form.RemoveAll()
	for k, v := range form.Value {
		c.Fields[k] = v[0]
	}
	for k, fhs := range form.File {
		f, err := fhs[0].Open()
		if err != nil {
			return c, err
		}
		data, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return c, err
		}
		c.Files[k] = File{Name: fhs[0].Filename, Data: data}
	}
	return c, nil
}

// jsonFields puts the members of the JSON object body into fields in the
// form a multipart call has them: a string member as its value, any other
// (number, boolean, object, array) as its JSON text. A body that is not a
// JSON object, or a null member, is an error ("can't parse" in Telegram's
// words).
func jsonFields(body []byte, fields map[string]string) error {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil {
		return fmt.Errorf("JSON body: %w", err)
	}
	for k, raw := range obj {
		raw = bytes.TrimSpace(raw)
		switch {
		case len(raw) > 0 && raw[0] == '"':
			var v string
			if err := json.Unmarshal(raw, &v); err != nil {
				return fmt.Errorf("JSON field %s: %w", k, err)
			}
			fields[k] = v
		case string(raw) == "null":
			return fmt.Errorf("JSON field %s is null", k)
		default:
			fields[k] = string(raw)
		}
	}
	return nil
}

// apply performs a method other than getUpdates; s.mu must be held.
func (s *Server) apply(c Call) (any, *apiError) {
	f := c.Fields
	if chat, err := strconv.ParseInt(f["chat_id"], 10, 64); err == nil && s.blocked[chat] {
		return nil, &apiError{code: 403, desc: "Forbidden: bot was blocked by the user"}
	}
	switch c.Method {
	case "getMe":
		return s.bot, nil
	case "setWebhook":
		s.webhook, s.secret = f["url"], f["secret_token"]
		return true, nil
	case "deleteWebhook":
		s.webhook, s.secret = "", ""
		if f["drop_pending_updates"] == "true" {
			s.pending = nil
		}
		return true, nil
	case "setMyCommands":
		var cmds []struct{ Command, Description string }
		if err := json.Unmarshal([]byte(f["commands"]), &cmds); err != nil || len(cmds) == 0 {
			return nil, badRequest("can't parse commands JSON object")
		}
		return true, nil
	case "sendMessage", "sendPhoto":
		return s.send(c)
	case "editMessageText", "editMessageReplyMarkup":
		return s.edit(c)
	case "deleteMessage":
		chat, id, aerr := s.target(f)
		if aerr != nil {
			return nil, aerr
		}
		if _, ok := s.chats[chat][id]; !ok {
			return nil, badRequest("message to delete not found")
		}
		delete(s.chats[chat], id)
		return true, nil
	case "deleteMessages":
		chat, err := strconv.ParseInt(f["chat_id"], 10, 64)
		if err != nil {
			return nil, badRequest("chat not found")
		}
		var ids []int
		if err := json.Unmarshal([]byte(f["message_ids"]), &ids); err != nil || len(ids) == 0 || len(ids) > 100 {
			return nil, badRequest("message_ids must be 1-100 message identifiers")
		}
		deleted := 0
		for _, id := range ids {
			if _, ok := s.chats[chat][id]; ok {
				delete(s.chats[chat], id)
				deleted++
			}
		}
		if deleted == 0 {
			return nil, badRequest("message to delete not found")
		}
		return true, nil
	case "answerCallbackQuery":
		id := f["callback_query_id"]
		if id == "" || s.answered[id] {
			return nil, badRequest("query is too old and response timeout expired or query ID is invalid")
		}
		if utf16Len(f["text"]) > 200 {
			return nil, badRequest("MESSAGE_TOO_LONG")
		}
		s.answered[id] = true
		return true, nil
	}
	return nil, &apiError{code: 404, desc: "Not Found"}
}

func (s *Server) send(c Call) (any, *apiError) {
	f := c.Fields
	chat, err := strconv.ParseInt(f["chat_id"], 10, 64)
	if err != nil {
		return nil, badRequest("chat not found")
	}
	markup, aerr := checkMarkup(f["reply_markup"])
	if aerr != nil {
		return nil, aerr
	}
	if aerr := checkParseMode(f["parse_mode"]); aerr != nil {
		return nil, aerr
	}
	m := &Message{Chat: s.chat(chat), From: &s.bot, Date: s.now().Unix(), HasProtectedContent: f["protect_content"] == "true", ReplyMarkup: markup}
	if c.Method == "sendMessage" {
		switch n := utf16Len(f["text"]); {
		case strings.TrimSpace(f["text"]) == "":
			return nil, badRequest("message text is empty")
		case n > 4096:
			return nil, badRequest("message is too long")
		}
		m.Text = f["text"]
	} else {
		file, ok := c.Files["photo"]
		if !ok || len(file.Data) == 0 {
			return nil, badRequest("there is no photo in the request")
		}
		if utf16Len(f["caption"]) > 1024 {
			return nil, badRequest("message caption is too long")
		}
		s.fileSeq++
		id := "photo" + strconv.Itoa(s.fileSeq)
		s.files[id] = file.Data
		m.Caption = f["caption"]
		m.Photo = []PhotoSize{{FileID: id, FileUniqueID: id + "u", Width: 320, Height: 320, FileSize: len(file.Data)}}
	}
	m.ID = s.nextMessageID(chat)
	s.store(chat, m)
	return m, nil
}

func (s *Server) edit(c Call) (any, *apiError) {
	chat, id, aerr := s.target(c.Fields)
	if aerr != nil {
		return nil, aerr
	}
	markup, aerr := checkMarkup(c.Fields["reply_markup"])
	if aerr != nil {
		return nil, aerr
	}
	m, ok := s.chats[chat][id]
	if !ok {
		return nil, badRequest("message to edit not found")
	}
	text := m.Text
	if c.Method == "editMessageText" {
		if aerr := checkParseMode(c.Fields["parse_mode"]); aerr != nil {
			return nil, aerr
		}
		text = c.Fields["text"]
		switch {
		case m.Text == "":
			return nil, badRequest("there is no text in the message to edit")
		case strings.TrimSpace(text) == "":
			return nil, badRequest("message text is empty")
		case utf16Len(text) > 4096:
			return nil, badRequest("MESSAGE_TOO_LONG")
		}
	}
	if text == m.Text && bytes.Equal(markup, m.ReplyMarkup) {
		return nil, badRequest("message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message")
	}
	m.Text, m.ReplyMarkup, m.EditDate = text, markup, s.now().Unix()
	return m, nil
}

func (s *Server) target(f map[string]string) (int64, int, *apiError) {
	chat, err := strconv.ParseInt(f["chat_id"], 10, 64)
	if err != nil {
		return 0, 0, badRequest("chat not found")
	}
	id, err := strconv.Atoi(f["message_id"])
	if err != nil || id <= 0 {
		return 0, 0, badRequest("message identifier is not specified")
	}
	return chat, id, nil
}

// chat returns the chat with id as a builder introduced it, or a private
// chat; s.mu must be held.
func (s *Server) chat(id int64) Chat {
	if c, ok := s.chatType[id]; ok {
		return c
	}
	return Chat{ID: id, Type: "private"}
}

func (s *Server) nextMessageID(chat int64) int {
	s.msgSeq[chat]++
	return s.msgSeq[chat]
}

func (s *Server) store(chat int64, m *Message) {
	if s.chats[chat] == nil {
		s.chats[chat] = map[int]*Message{}
	}
	s.chats[chat][m.ID] = m
}

// checkParseMode accepts no parse mode or one of Telegram's three.
func checkParseMode(mode string) *apiError {
	switch mode {
	case "", "MarkdownV2", "Markdown", "HTML":
		return nil
	}
	return badRequest("unsupported parse_mode")
}

// checkMarkup validates an inline keyboard as Telegram does for the
// fields the adapter may send: every button has a text and exactly one
// action; callback_data is 1-64 bytes; a copy_text needs a non-empty text
// (go-telegram/bot's own InlineKeyboardButton always sends
// "copy_text":{"text":""}, which Telegram rejects). It returns the
// compacted JSON.
func checkMarkup(raw string) (json.RawMessage, *apiError) {
	if raw == "" {
		return nil, nil
	}
	var kb struct {
		InlineKeyboard [][]map[string]json.RawMessage `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(raw), &kb); err != nil || kb.InlineKeyboard == nil {
		return nil, badRequest("can't parse reply keyboard markup JSON object")
	}
	for _, row := range kb.InlineKeyboard {
		for _, b := range row {
			var text string
			if err := json.Unmarshal(b["text"], &text); err != nil || text == "" {
				return nil, badRequest("BUTTON_TEXT_INVALID")
			}
			if ct, ok := b["copy_text"]; ok {
				var v struct{ Text string }
				if err := json.Unmarshal(ct, &v); err != nil || v.Text == "" {
					return nil, badRequest("BUTTON_COPY_TEXT_INVALID")
				}
			}
			if cd, ok := b["callback_data"]; ok {
				var data string
				if err := json.Unmarshal(cd, &data); err != nil || data == "" || len(data) > 64 {
					return nil, badRequest("BUTTON_DATA_INVALID")
				}
			}
			if len(b) != 2 {
				return nil, badRequest("BUTTON_TYPE_INVALID")
			}
		}
	}
	var buf bytes.Buffer
	_ = json.Compact(&buf, []byte(raw)) // valid: it was just decoded
	return buf.Bytes(), nil
}
