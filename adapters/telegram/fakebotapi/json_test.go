package fakebotapi_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"guidedfix/adapters/telegram/fakebotapi"
)

// postJSON posts body as application/json to method and returns the
// answer's ok and error_code.
func postJSON(t *testing.T, s *fakebotapi.Server, method, body string) (bool, int) {
	t.Helper()
	resp, err := http.Post(s.URL+"/bot1:T/"+method, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var a struct {
		OK        bool `json:"ok"`
		ErrorCode int  `json:"error_code"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return a.OK, a.ErrorCode
}

// TestJSONBodies: the fake takes application/json bodies as the Bot API
// does: string members as values, numbers, booleans, objects and arrays
// as their JSON text (the form a multipart call has them in); a body that
// is not an object, or a null member, is refused with 400 and applies
// nothing.
func TestJSONBodies(t *testing.T) {
	s := fakebotapi.New(fakebotapi.Options{})
	defer s.Close()
	ok, _ := postJSON(t, s, "sendMessage", `{"chat_id":5,"text":"hi \u00e9","protect_content":true,`+
		`"reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}}`)
	if !ok {
		t.Fatal("JSON sendMessage refused")
	}
	c := s.Calls("sendMessage")[0]
	if !c.JSON || c.Fields["chat_id"] != "5" || c.Fields["text"] != "hi é" || c.Fields["protect_content"] != "true" ||
		c.Fields["reply_markup"] != `{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}` {
		t.Fatalf("fields %q (JSON %v)", c.Fields, c.JSON)
	}
	ms := s.Messages(5)
	if len(ms) != 1 || ms[0].Text != "hi é" {
		t.Fatalf("messages %+v", ms)
	}
	if ok, _ := postJSON(t, s, "deleteMessages", `{"chat_id":5,"message_ids":[`+itoa(ms[0].ID)+`]}`); !ok || len(s.Messages(5)) != 0 {
		t.Fatalf("JSON deleteMessages: ok %v, %d messages left", ok, len(s.Messages(5)))
	}
	for _, body := range []string{`[1,2]`, `{"chat_id":5,"text":null}`, `{"chat_id":5,`} {
		if ok, code := postJSON(t, s, "sendMessage", body); ok || code != 400 {
			t.Errorf("body %s: ok %v, error_code %d; want 400", body, ok, code)
		}
	}
	if n := len(s.Messages(5)); n != 0 {
		t.Fatalf("%d messages after refused bodies", n)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }
