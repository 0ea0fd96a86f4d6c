package fakeslack

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// request is a decoded Web API request.
type request struct {
	form url.Values
	json map[string]json.RawMessage
}

// get returns parameter k as a string.
func (r request) get(k string) string {
	if r.json == nil {
		return r.form.Get(k)
	}
	var v string
	if json.Unmarshal(r.json[k], &v) != nil {
		return string(r.json[k])
	}
	return v
}

// result is a successful answer's fields besides "ok".
type result map[string]any

// methods are the Web API methods, run with s.mu held. Each returns its
// result or a Slack error code.
var methods = map[string]func(s *Server, r request) (result, string){
	"auth.test":                    (*Server).authTest,
	"conversations.open":           (*Server).conversationsOpen,
	"conversations.info":           (*Server).conversationsInfo,
	"chat.postMessage":             (*Server).chatPostMessage,
	"chat.update":                  (*Server).chatUpdate,
	"chat.delete":                  (*Server).chatDelete,
	"chat.postEphemeral":           (*Server).chatPostEphemeral,
	"views.open":                   (*Server).viewsOpen,
	"views.update":                 (*Server).viewsUpdate,
	"views.publish":                (*Server).viewsPublish,
	"users.info":                   (*Server).usersInfo,
	"usergroups.users.list":        (*Server).usergroupsUsersList,
	"files.getUploadURLExternal":   (*Server).filesGetUploadURL,
	"files.completeUploadExternal": (*Server).filesComplete,
	"files.delete":                 (*Server).filesDelete,
	"apps.connections.open":        (*Server).connectionsOpen,
}

func (s *Server) serveAPI(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	gate := s.gate
	s.mu.Unlock()
	if gate != nil {
		select {
		case <-gate:
		case <-r.Context().Done():
			return
		}
	}
	call := Call{Method: method}
	var req request
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		call.JSON = body
		call.Token = strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		if len(body) > 0 && json.Unmarshal(body, &req.json) != nil {
			http.Error(w, "bad JSON", http.StatusBadRequest)
			return
		}
		if req.json == nil {
			req.json = map[string]json.RawMessage{}
		}
	} else {
		form, err := url.ParseQuery(string(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		call.Token = form.Get("token")
		form.Del("token")
		call.Params, req.form = form, form
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
	rec := &s.calls[len(s.calls)-1]
	if fs := s.failures[method]; len(fs) > 0 {
		s.failures[method] = fs[1:]
		rec.Error = fs[0].Error
		writeFailure(w, fs[0])
		return
	}
	want := s.opts.BotToken
	if method == "apps.connections.open" {
		want = s.opts.AppToken
	}
	if want != "" && call.Token != want {
		rec.Error = "invalid_auth"
		writeJSON(w, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	h, ok := methods[method]
	if !ok {
		rec.Error = "unknown_method"
		writeJSON(w, map[string]any{"ok": false, "error": "unknown_method"})
		return
	}
	res, code := h(s, req)
	if code != "" {
		rec.Error = code
		writeJSON(w, map[string]any{"ok": false, "error": code})
		return
	}
	out := map[string]any{"ok": true}
	for k, v := range res {
		out[k] = v
	}
	rec.Result, _ = json.Marshal(out)
	writeJSON(w, out)
}

func writeFailure(w http.ResponseWriter, f Failure) {
	if f.RetryAfter != 0 {
		w.Header().Set("Retry-After", strconv.Itoa(f.RetryAfter))
	}
	w.Header().Set("Content-Type", "application/json")
	if f.Status != 0 {
		w.WriteHeader(f.Status)
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"ok": false, "error": f.Error})
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Server) authTest(request) (result, string) {
	return result{"url": s.URL, "team": "Fake", "user": "guidedfix", "team_id": TeamID, "user_id": BotUserID, "bot_id": BotID}, ""
}

func (s *Server) conversationsOpen(r request) (result, string) {
	users := r.get("users")
	if _, ok := s.users[users]; !ok {
		return nil, "user_not_found"
	}
	return result{"channel": map[string]any{"id": s.imLocked(users)}}, ""
}

func (s *Server) chatPostMessage(r request) (result, string) {
	ch := r.get("channel")
	if _, ok := s.channels[ch]; !ok {
		return nil, "channel_not_found"
	}
	if s.outside[ch] {
		return nil, "not_in_channel"
	}
	if r.get("text") == "" && r.get("blocks") == "" {
		return nil, "no_text"
	}
	thread := r.get("thread_ts")
	if thread != "" {
		// A reply goes to the thread of the first message, also when
		// thread_ts names a reply (as Slack does).
		i := slices.IndexFunc(s.channels[ch], func(m *Message) bool { return m.TS == thread })
		if i < 0 {
			return nil, "thread_not_found"
		}
		if root := s.channels[ch][i].ThreadTS; root != "" {
			thread = root
		}
		s.channels[ch][i].ThreadTS = thread
	}
	m := &Message{Channel: ch, TS: s.newTS(), User: BotUserID, Text: r.get("text"), ThreadTS: thread}
	if b := r.get("blocks"); b != "" {
		m.Blocks = json.RawMessage(b)
	}
	s.channels[ch] = append(s.channels[ch], m)
	return result{"channel": ch, "ts": m.TS, "message": map[string]any{"ts": m.TS, "text": m.Text, "user": m.User}}, ""
}

// conversationsInfo answers for a channel added with AddChannel (or an
// IM) with its id and is_member; channel_not_found otherwise.
func (s *Server) conversationsInfo(r request) (result, string) {
	ch := r.get("channel")
	if _, ok := s.channels[ch]; !ok {
		return nil, "channel_not_found"
	}
	return result{"channel": map[string]any{"id": ch, "is_member": !s.outside[ch]}}, ""
}

func (s *Server) chatUpdate(r request) (result, string) {
	m, code := s.botMessage(r.get("channel"), r.get("ts"), "cant_update_message")
	if code != "" {
		return nil, code
	}
	m.Text = r.get("text")
	if b := r.get("blocks"); b != "" {
		m.Blocks = json.RawMessage(b)
	}
	return result{"channel": m.Channel, "ts": m.TS, "text": m.Text}, ""
}

func (s *Server) chatDelete(r request) (result, string) {
	ch, ts := r.get("channel"), r.get("ts")
	if _, code := s.botMessage(ch, ts, "cant_delete_message"); code != "" {
		return nil, code
	}
	s.channels[ch] = slices.DeleteFunc(s.channels[ch], func(m *Message) bool { return m.TS == ts })
	return result{"channel": ch, "ts": ts}, ""
}

// botMessage finds message ts in channel ch; a message by somebody else
// gives notBot (a bot token cannot change a person's message).
func (s *Server) botMessage(ch, ts, notBot string) (*Message, string) {
	if _, ok := s.channels[ch]; !ok {
		return nil, "channel_not_found"
	}
	for _, m := range s.channels[ch] {
		if m.TS == ts {
			if m.User != BotUserID {
				return nil, notBot
			}
			return m, ""
		}
	}
	return nil, "message_not_found"
}

func (s *Server) chatPostEphemeral(r request) (result, string) {
	ch := r.get("channel")
	if _, ok := s.channels[ch]; !ok {
		return nil, "channel_not_found"
	}
	m := Message{Channel: ch, TS: s.newTS(), User: r.get("user"), Text: r.get("text")}
	s.ephemeral = append(s.ephemeral, m)
	return result{"message_ts": m.TS}, ""
}

func (s *Server) viewsOpen(r request) (result, string) {
	user, ok := s.triggers[r.get("trigger_id")]
	switch {
	case !ok:
		return nil, "invalid_trigger_id"
	case user == "":
		return nil, "exchanged_trigger_id"
	}
	s.triggers[r.get("trigger_id")] = ""
	v := &View{ID: fmt.Sprintf("V%06d", s.next()), User: user}
	if err := v.set(r.json["view"]); err != nil {
		return nil, "invalid_arguments"
	}
	s.views[v.ID] = v
	return result{"view": v.wire()}, ""
}

func (s *Server) viewsUpdate(r request) (result, string) {
	v, ok := s.views[r.get("view_id")]
	if !ok {
		return nil, "not_found"
	}
	if err := v.set(r.json["view"]); err != nil {
		return nil, "invalid_arguments"
	}
	return result{"view": v.wire()}, ""
}

func (s *Server) viewsPublish(r request) (result, string) {
	user := r.get("user_id")
	if _, ok := s.users[user]; !ok {
		return nil, "user_not_found"
	}
	id, ok := s.home[user]
	if !ok {
		id = fmt.Sprintf("V%06d", s.next())
		s.home[user] = id
		s.views[id] = &View{ID: id, User: user}
	}
	v := s.views[id]
	if err := v.set(r.json["view"]); err != nil || v.Type != "home" {
		return nil, "invalid_arguments"
	}
	return result{"view": v.wire()}, ""
}

// set replaces the view's content with the view object raw.
func (v *View) set(raw json.RawMessage) error {
	var w struct {
		Type            string          `json:"type"`
		CallbackID      string          `json:"callback_id"`
		PrivateMetadata string          `json:"private_metadata"`
		Blocks          json.RawMessage `json:"blocks"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return err
	}
	v.Type, v.CallbackID, v.PrivateMetadata, v.Blocks = w.Type, w.CallbackID, w.PrivateMetadata, w.Blocks
	v.Hash = fmt.Sprintf("%s.%d", v.ID, len(raw))
	v.Closed, v.Errors = false, nil
	return nil
}

// wire returns the view as Slack sends it in answers and payloads.
func (v *View) wire() map[string]any {
	return map[string]any{"id": v.ID, "team_id": TeamID, "type": v.Type, "callback_id": v.CallbackID,
		"private_metadata": v.PrivateMetadata, "hash": v.Hash, "blocks": v.Blocks, "app_id": AppID, "bot_id": BotID}
}

func (s *Server) usersInfo(r request) (result, string) {
	u, ok := s.users[r.get("user")]
	if !ok {
		return nil, "user_not_found"
	}
	return result{"user": map[string]any{"id": u.ID, "team_id": TeamID, "name": strings.ToLower(u.ID), "locale": u.Locale,
		"real_name": u.Name, "profile": map[string]any{"email": u.Email, "display_name": u.Name, "real_name": u.Name}}}, ""
}

func (s *Server) usergroupsUsersList(r request) (result, string) {
	members, ok := s.groups[r.get("usergroup")]
	if !ok {
		return nil, "no_such_subteam"
	}
	return result{"users": slices.Clone(members)}, ""
}

// serveResponse receives an answer posted to a slash command's
// response_url (JSON, no token): "ephemeral" (the default) is recorded
// for Ephemeral, "in_channel" is posted in the command's channel.
func (s *Server) serveResponse(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	var msg struct {
		Text         string          `json:"text"`
		ResponseType string          `json:"response_type"`
		Blocks       json.RawMessage `json:"blocks"`
	}
	if json.Unmarshal(body, &msg) != nil {
		http.Error(w, "bad JSON", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Method: "response_url", JSON: body})
	cmd, ok := s.responses[r.PathValue("id")]
	if !ok {
		http.Error(w, "unknown response_url", http.StatusNotFound)
		return
	}
	m := Message{Channel: cmd.Channel, TS: s.newTS(), User: cmd.User, Text: msg.Text}
	if len(msg.Blocks) > 0 && string(msg.Blocks) != "null" {
		m.Blocks = msg.Blocks
	}
	if msg.ResponseType == "in_channel" {
		m.User = BotUserID
		s.channels[cmd.Channel] = append(s.channels[cmd.Channel], &m)
	} else {
		s.ephemeral = append(s.ephemeral, m)
	}
	writeJSON(w, map[string]any{"ok": true})
}

func (s *Server) filesGetUploadURL(r request) (result, string) {
	n, err := strconv.Atoi(r.get("length"))
	if err != nil || n <= 0 || r.get("filename") == "" {
		return nil, "invalid_arguments"
	}
	f := &File{ID: fmt.Sprintf("F%06d", s.next()), Name: r.get("filename"), Length: n}
	s.files[f.ID] = f
	return result{"upload_url": s.URL + "upload/" + f.ID, "file_id": f.ID}, ""
}

func (s *Server) filesComplete(r request) (result, string) {
	var list []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal([]byte(r.get("files")), &list); err != nil || len(list) == 0 {
		return nil, "invalid_arguments"
	}
	ch := r.get("channel_id")
	if _, ok := s.channels[ch]; ch != "" && !ok {
		return nil, "channel_not_found"
	}
	var out []map[string]any
	var ids []string
	for _, it := range list {
		f, ok := s.files[it.ID]
		if !ok || f.Deleted {
			return nil, "file_not_found"
		}
		if f.Data == nil {
			return nil, "file_upload_not_completed"
		}
		f.Title = it.Title
		ids = append(ids, f.ID)
		out = append(out, map[string]any{"id": f.ID, "title": f.Title})
	}
	if ch != "" {
		for _, id := range ids {
			s.files[id].Channels = append(s.files[id].Channels, ch)
		}
		s.channels[ch] = append(s.channels[ch], &Message{Channel: ch, TS: s.newTS(), User: BotUserID,
			Text: r.get("initial_comment"), Files: ids})
	}
	return result{"files": out}, ""
}

func (s *Server) filesDelete(r request) (result, string) {
	f, ok := s.files[r.get("file")]
	if !ok || f.Deleted {
		return nil, "file_not_found"
	}
	f.Deleted = true
	for ch, ms := range s.channels {
		for _, m := range ms {
			m.Files = slices.DeleteFunc(m.Files, func(id string) bool { return id == f.ID })
		}
		// A file share message without text goes with its file.
		s.channels[ch] = slices.DeleteFunc(ms, func(m *Message) bool { return len(m.Files) == 0 && m.Text == "" && m.Blocks == nil })
	}
	return nil, ""
}

func (s *Server) connectionsOpen(request) (result, string) {
	return result{"url": "ws" + strings.TrimPrefix(s.URL, "http") + "ws"}, ""
}

// serveUpload receives a file's content (multipart field "file"), as
// Slack's upload URL does; a size other than the announced one fails.
func (s *Server) serveUpload(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	token := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	part, _, err := r.FormFile("file")
	if err != nil {
		http.Error(w, "no file", http.StatusBadRequest)
		return
	}
	data, err := io.ReadAll(part)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, Call{Method: "upload", Token: token, Upload: data})
	f, ok := s.files[id]
	switch {
	case !ok || f.Deleted:
		http.Error(w, "unknown file", http.StatusNotFound)
	case s.opts.BotToken != "" && token != s.opts.BotToken:
		http.Error(w, "bad token", http.StatusUnauthorized)
	case len(data) != f.Length:
		http.Error(w, "size mismatch", http.StatusInternalServerError)
	default:
		f.Data = data
		_, _ = fmt.Fprintf(w, "OK - %d", len(data))
	}
}
