// Package fakeslack is an in-process fake of the parts of Slack that the
// guidedfix Slack adapter uses, for tests driven by the real
// github.com/slack-go/slack client. It listens on 127.0.0.1
// (net/http/httptest) and serves:
//
//   - the Web API under /api/ (point slack.OptionAPIURL at APIURL):
//     auth.test, conversations.open, chat.postMessage, chat.update,
//     chat.delete, chat.postEphemeral, conversations.info, views.open, views.update,
//     views.publish, users.info, usergroups.users.list,
//     files.getUploadURLExternal, files.completeUploadExternal,
//     files.delete and apps.connections.open (chat.postMessage with
//     thread_ts replies in the thread of a message of the channel).
//     Form methods carry the token as a "token" field, JSON methods as
//     "Authorization: Bearer"; answers are {"ok":true,...} or
//     {"ok":false,"error":code} objects, as Slack's;
//   - the file upload URL (/upload/<file id>) on its own host, so that
//     slack-go's token-leak guard accepts it;
//   - each slash command's response_url (/response/<n>): an ephemeral
//     answer is recorded with Ephemeral, an in_channel one is posted;
//   - a Socket Mode WebSocket endpoint (/ws) that says hello, pushes
//     envelopes (Push) and records the acknowledgements (WaitAck).
//
// It records every call (method, parameters, uploaded bytes), keeps the
// messages and files that exist in each channel, models trigger_ids (each
// usable once), modal and App Home views, and fails calls on request
// (Fail: 429 with Retry-After, or any Slack error code). Payload builders
// and Client produce inbound traffic as Slack sends it: slash commands,
// block_actions, view_submission and Events API bodies, signed for the
// adapter's HTTP endpoints. All methods are safe for concurrent use.
package fakeslack

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Identities of the fake workspace and app.
const (
	// TeamID is the workspace's id.
	TeamID = "T0FAKE"
	// AppID is the app's id (api_app_id).
	AppID = "A0FAKE"
	// BotUserID is the app's bot user, the author of its messages.
	BotUserID = "U0BOT"
	// BotID is the app's bot id (auth.test bot_id).
	BotID = "B0BOT"
)

// Options configure a Server.
type Options struct {
	// BotToken, when set, is the only token the Web API and the upload
	// URL accept (apps.connections.open excepted); others get
	// "invalid_auth". Empty accepts any.
	BotToken string
	// AppToken, when set, is the only token apps.connections.open accepts.
	AppToken string
}

// Server is the fake Slack.
type Server struct {
	// URL is the server's base URL with a trailing slash,
	// "http://127.0.0.1:port/".
	URL string
	// APIURL is the Web API base URL for slack.OptionAPIURL: URL + "api/".
	APIURL string

	ts   *httptest.Server
	opts Options

	mu        sync.Mutex
	seq       int
	calls     []Call
	users     map[string]User
	ims       map[string]string     // user id -> IM channel id
	channels  map[string][]*Message // channel id -> messages, oldest first
	files     map[string]*File
	views     map[string]*View
	home      map[string]string // user id -> App Home view id
	triggers  map[string]string // trigger_id -> user id; "" once used
	failures  map[string][]Failure
	ephemeral []Message
	groups    map[string][]string // user group id -> member ids
	responses map[string]Message  // response_url id -> the command's channel and user
	gate      chan struct{}       // while not nil, Web API calls wait for it to close (Pause)
	outside   map[string]bool     // channels the app is not a member of (RemoveApp)

	socket
}

// User is a member of the fake workspace.
type User struct {
	// ID is the user id ("U…").
	ID string
	// Email is the profile e-mail users.info returns; "" for none.
	Email string
	// Locale is the locale users.info returns ("en-US").
	Locale string
	// Name is the display and real name users.info returns; "" for none.
	Name string
}

// Call is one recorded request.
type Call struct {
	// Method is the Web API method ("chat.postMessage"), or "upload" for
	// a POST to an upload URL.
	Method string
	// Token is the token the call carried (form field or bearer).
	Token string
	// Params are the form parameters without the token (form methods).
	Params url.Values
	// JSON is the request body of a JSON method.
	JSON json.RawMessage
	// Upload is the file content posted to an upload URL.
	Upload []byte
	// Error is the error code the fake answered ("" for ok: true).
	Error string
	// Result is the JSON answer of an ok call (its "ts", "file_id", …).
	Result json.RawMessage
}

// Text returns the call's parameters as text: the JSON body, or each form
// value on its own line (decoded), for searching.
func (c Call) Text() string {
	if c.JSON != nil {
		return string(c.JSON)
	}
	var b strings.Builder
	for _, k := range slices.Sorted(maps.Keys(c.Params)) {
		for _, v := range c.Params[k] {
			fmt.Fprintf(&b, "%s=%s\n", k, v)
		}
	}
	return b.String()
}

// Message is a message that exists in a channel.
type Message struct {
	// Channel is the channel id.
	Channel string
	// TS is the message's timestamp, its id within the channel.
	TS string
	// User is the author: BotUserID for the app's messages.
	User string
	// Text is the message's text (a file share's initial comment).
	Text string
	// Blocks is the message's Block Kit JSON (the app's messages).
	Blocks json.RawMessage
	// Files are the ids of the files shared with the message.
	Files []string
	// ThreadTS is the ts of the thread's first message for a reply in a
	// thread; "" otherwise.
	ThreadTS string
}

// File is an uploaded file.
type File struct {
	// ID is the file id ("F…").
	ID string
	// Name is the file name given to files.getUploadURLExternal.
	Name string
	// Title is the title given to files.completeUploadExternal.
	Title string
	// Length is the size announced to files.getUploadURLExternal, in bytes.
	Length int
	// Data is the content posted to the upload URL.
	Data []byte
	// Channels are the channels files.completeUploadExternal shared it to.
	Channels []string
	// Deleted reports whether files.delete removed the file.
	Deleted bool
}

// View is a modal or App Home view.
type View struct {
	// ID is the view id ("V…").
	ID string
	// User is the user who sees the view.
	User string
	// Type is "modal" or "home".
	Type string
	// CallbackID is the view's callback_id.
	CallbackID string
	// PrivateMetadata is the view's private_metadata.
	PrivateMetadata string
	// Hash changes whenever the view's content does.
	Hash string
	// Blocks is the view's Block Kit JSON.
	Blocks json.RawMessage
	// Closed reports whether the modal was closed by a submission answer.
	Closed bool
	// Errors are the errors of the last response_action "errors" answer.
	Errors map[string]string
}

// Failure is an answer Fail makes a call get instead of its result.
type Failure struct {
	// Status is the HTTP status; 0 means 200 with {"ok":false}.
	Status int
	// RetryAfter is the Retry-After header in seconds, sent when not 0.
	RetryAfter int
	// Error is the Slack error code of an {"ok":false} answer.
	Error string
}

// RateLimited returns the failure of a 429 answer asking to retry after
// seconds.
func RateLimited(seconds int) Failure {
	return Failure{Status: http.StatusTooManyRequests, RetryAfter: seconds, Error: "ratelimited"}
}

// SlackError returns the failure {"ok":false,"error":code}.
func SlackError(code string) Failure { return Failure{Error: code} }

// New starts a fake Slack on 127.0.0.1; Close stops it.
func New(opts Options) *Server {
	s := &Server{
		opts:      opts,
		users:     map[string]User{},
		ims:       map[string]string{},
		channels:  map[string][]*Message{},
		files:     map[string]*File{},
		views:     map[string]*View{},
		home:      map[string]string{},
		triggers:  map[string]string{},
		failures:  map[string][]Failure{},
		groups:    map[string][]string{},
		responses: map[string]Message{},
		outside:   map[string]bool{},
		socket:    newSocket(),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/{method}", s.serveAPI)
	mux.HandleFunc("POST /upload/{id}", s.serveUpload)
	mux.HandleFunc("POST /response/{id}", s.serveResponse)
	mux.HandleFunc("GET /ws", s.serveWS)
	s.ts = httptest.NewServer(mux)
	s.URL = s.ts.URL + "/"
	s.APIURL = s.URL + "api/"
	return s
}

// Pause makes every Web API call wait, unanswered, until resume is
// called (Socket Mode acks are still received); calls made meanwhile are
// recorded when they are answered. resume may be called more than once.
func (s *Server) Pause() (resume func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.gate = gate
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.gate == gate {
				s.gate = nil
			}
			s.mu.Unlock()
			close(gate)
		})
	}
}

// Close closes the Socket Mode connection and stops the server.
func (s *Server) Close() {
	s.closeSocket()
	s.ts.Close()
}

// AddUser adds a workspace member (users.info answers with u).
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
}

// AddUserGroup adds a user group ("S…") with members
// (usergroups.users.list answers with them); adding it again replaces
// its members.
func (s *Server) AddUserGroup(id string, members ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.groups[id] = slices.Clone(members)
}

// AddChannel adds a public or private channel (id "C…" or "G…") so that
// messages can be posted to it.
func (s *Server) AddChannel(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.channels[id]; !ok {
		s.channels[id] = nil
	}
	delete(s.outside, id)
}

// RemoveApp makes the app a non-member of channel (added with AddChannel
// or not): conversations.info says is_member false, chat.postMessage
// there fails with not_in_channel. AddChannel makes it a member again.
func (s *Server) RemoveApp(channel string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.channels[channel]; !ok {
		s.channels[channel] = nil
	}
	s.outside[channel] = true
}

// IM returns the id of the IM channel between user and the app, opening
// it as conversations.open does.
func (s *Server) IM(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.imLocked(user)
}

func (s *Server) imLocked(user string) string {
	if id, ok := s.ims[user]; ok {
		return id
	}
	id := fmt.Sprintf("D%04d", len(s.ims)+1)
	s.ims[user] = id
	s.channels[id] = nil
	return id
}

// Fail makes the next call of method get f instead of its result; failures
// queue up in order.
func (s *Server) Fail(method string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures[method] = append(s.failures[method], f)
}

// Calls returns the calls so far, in order; with methods given, only the
// calls of those methods.
func (s *Server) Calls(methods ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(methods) == 0 || slices.Contains(methods, c.Method) {
			out = append(out, c)
		}
	}
	return out
}

// History returns copies of the messages that exist in channel, oldest
// first, replies in threads included (their ThreadTS is set).
func (s *Server) History(channel string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, 0, len(s.channels[channel]))
	for _, m := range s.channels[channel] {
		out = append(out, *m)
	}
	return out
}

// Thread returns copies of the replies in the thread of message ts in
// channel, oldest first (the first message itself is not included).
func (s *Server) Thread(channel, ts string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Message
	for _, m := range s.channels[channel] {
		if m.ThreadTS == ts && m.TS != ts {
			out = append(out, *m)
		}
	}
	return out
}

// Channels returns the ids of the channels that hold at least one
// message, sorted.
func (s *Server) Channels() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for id, ms := range s.channels {
		if len(ms) > 0 {
			out = append(out, id)
		}
	}
	sort.Strings(out)
	return out
}

// Ephemeral returns the ephemeral messages posted (chat.postEphemeral,
// and ephemeral answers to a response_url, with the command's channel and
// user), oldest first.
func (s *Server) Ephemeral() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ephemeral)
}

// Files returns copies of every file ever announced, deleted ones
// included, in id order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, f := range s.files {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// View returns a copy of view id and whether it exists.
func (s *Server) View(id string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[id]
	if !ok {
		return View{}, false
	}
	return *v, true
}

// LastView returns the newest modal opened (views.open), or false.
func (s *Server) LastView() (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last *View
	for _, v := range s.views {
		if v.Type == "modal" && (last == nil || idNum(v.ID) > idNum(last.ID)) {
			last = v
		}
	}
	if last == nil {
		return View{}, false
	}
	return *last, true
}

func idNum(id string) int {
	n, _ := strconv.Atoi(strings.TrimLeft(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
	return n
}

// next returns a new sequence number; s.mu must be held.
func (s *Server) next() int {
	s.seq++
	return s.seq
}

// newTS returns a new message timestamp; s.mu must be held.
func (s *Server) newTS() string { return fmt.Sprintf("1764410400.%06d", s.next()) }

// trigger issues a trigger_id for an interaction of user.
func (s *Server) trigger(user string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.triggerLocked(user)
}

func (s *Server) triggerLocked(user string) string {
	n := s.next()
	id := fmt.Sprintf("%d.%s.trig-%s", n, strings.TrimPrefix(TeamID, "T"), strconv.FormatInt(int64(n), 36))
	s.triggers[id] = user
	return id
}
