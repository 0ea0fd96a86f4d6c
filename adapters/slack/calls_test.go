package slack_test

import (
	"maps"
	"strings"
	"testing"

	"guidedfix/adapters/slack"
	"guidedfix/adapters/slack/fakeslack"
	"guidedfix/flows/totpswitch"
	"guidedfix/internal/portal"
	"guidedfix/internal/testkit"
	"guidedfix/internal/testkit/contract"
	"guidedfix/internal/testkit/scriptflow"
)

// TestDefaultFlowCallBudget runs one completed flow in the default order
// (enroll-then-switch) in Slack and pins the Web API calls that touch the
// DM, by method (issue 14): fewer chat.postMessage, the buttons of a step
// gone once it moved on, and the manual key's message deleted with the QR
// code once the app is verified.
func TestDefaultFlowCallBudget(t *testing.T) {
	h := newHarness(t, setup{mode: slack.ModeHTTP, env: testkit.Options{Order: totpswitch.OrderEnrollThenSwitch}})
	pw := h.env.AddAccount(t, "alice@example.com", portal.MethodSMS)
	start := len(h.fake.Calls())
	// After each step only that step's message offers buttons: a pressed
	// or answered step's message is replaced by the next one, or loses
	// its buttons.
	oneStep := func(after string) {
		t.Helper()
		msgs := map[string]bool{}
		for _, b := range h.fake.Buttons(h.dm()) {
			msgs[b.MessageTS] = true
		}
		if len(msgs) > 1 {
			t.Fatalf("after %s %d messages offer buttons, want 1", after, len(msgs))
		}
	}
	h.tr.command(h.fake.Command(alice, h.dm(), "/guidedfix", ""))
	oneStep("/guidedfix")
	v := h.enter()
	h.submit(v.ID, pw)
	oneStep("the password")
	h.submit(v.ID, h.env.LastSMSCode(t))
	oneStep("the SMS code")
	for _, b := range []string{"disable", "setup", "app"} {
		h.press(b)
		oneStep(b)
	}
	files := h.fake.Files()
	if len(files) != 1 {
		t.Fatalf("%d files, want the QR code", len(files))
	}
	key := h.env.KeyFromQR(t, files[0].Data)
	v = h.enter()
	h.submit(v.ID, h.env.TOTPCode(t, key, 0))
	oneStep("the TOTP code")
	h.press("okay")
	if n := len(h.fake.Buttons(h.dm())); n != 0 {
		t.Fatalf("%d buttons left after the flow ended", n)
	}
	if s := h.session(); s == nil || s.State != totpswitch.StateDone {
		t.Fatalf("final session %+v", s)
	}
	got := map[string]int{}
	for _, c := range h.fake.Calls()[start:] {
		if strings.HasPrefix(c.Method, "chat.") || strings.HasPrefix(c.Method, "files.") || strings.HasPrefix(c.Method, "views.") {
			got[c.Method]++
		}
	}
	t.Logf("Web API calls per completed flow: %v", got)
	// Before issue 14: 12 chat.postMessage, no chat.update (every old
	// button stayed), 1 chat.delete, 3 files.*, 2 views.open. The 6
	// chat.update: the two answered prompts and Disable, Setup and Okay
	// each replace their message; App only loses its buttons (the QR
	// upload follows). No turn of this flow edits the pressed message (one
	// call then too: TestEditOfPressedMessageIsOneCall).
	want := map[string]int{"chat.postMessage": 3, "chat.update": 6, "chat.delete": 1,
		"files.getUploadURLExternal": 1, "files.completeUploadExternal": 1, "files.delete": 1, "views.open": 2}
	if !maps.Equal(got, want) {
		t.Fatalf("calls by method %v\nwant %v", got, want)
	}
	// No file is left, and no message with the manual key.
	h.checkNoSecrets(key.Secret(), pw)
	for _, f := range h.fake.Files() {
		if !f.Deleted {
			t.Errorf("file %s not deleted", f.ID)
		}
	}
}

// TestEditOfPressedMessageIsOneCall: a button turn whose first reply
// edits the pressed message itself (scriptflow's Go: hello edited into
// MsgEdited with Next) costs one chat.update, on the pressed ts, carrying
// the edit's text and its Next button; there is no separate update that
// first strips the pressed message's buttons.
func TestEditOfPressedMessageIsOneCall(t *testing.T) {
	h := newHarness(t, scripted(setup{mode: slack.ModeHTTP}))
	h.startScript()
	hello := h.button(scriptflow.ActionGo, func(b fakeslack.Button) bool { return strings.HasPrefix(b.Value, scriptflow.ActionGo+"|") })
	mark := len(h.fake.Calls())
	h.press(scriptflow.ActionGo)
	h.wantState(scriptflow.StateEdited)
	var updates []fakeslack.Call
	for _, c := range h.fake.Calls()[mark:] {
		switch {
		case c.Method == "chat.update":
			updates = append(updates, c)
		case strings.HasPrefix(c.Method, "chat.") || strings.HasPrefix(c.Method, "files.") || strings.HasPrefix(c.Method, "views."):
			t.Errorf("unexpected %s in the Go turn", c.Method)
		}
	}
	if len(updates) != 1 {
		t.Fatalf("%d chat.update calls, want 1", len(updates))
	}
	if ts := updates[0].Params.Get("ts"); ts != hello.MessageTS {
		t.Fatalf("chat.update of %s, want the pressed message %s", ts, hello.MessageTS)
	}
	res := contract.NewResolver(h.env.Engine, "en-US", slack.Channel)
	if id := res.ID(updates[0].Params.Get("text")); id != scriptflow.MsgEdited {
		t.Fatalf("chat.update text %q is %q, want %s", updates[0].Params.Get("text"), id, scriptflow.MsgEdited)
	}
	var next int
	for _, b := range h.fake.Buttons(h.dm()) {
		if b.MessageTS != hello.MessageTS {
			t.Errorf("button %q on message %s, want only the edited %s", b.Value, b.MessageTS, hello.MessageTS)
		}
		if strings.HasPrefix(b.Value, scriptflow.ActionNext+"|") {
			next++
		}
	}
	if next != 1 {
		t.Fatalf("%d Next buttons, want 1", next)
	}
}
