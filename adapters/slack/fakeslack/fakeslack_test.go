package fakeslack_test

import (
	"bytes"
	"errors"
	"net/http"
	"testing"

	"github.com/slack-go/slack"

	"guidedfix/adapters/slack/fakeslack"
)

// TestSlackRules checks the Slack behaviours the adapter's tests rely on,
// through the real client.
func TestSlackRules(t *testing.T) {
	s := fakeslack.New(fakeslack.Options{BotToken: "xoxb-good"})
	defer s.Close()
	s.AddUser(fakeslack.User{ID: "U1", Email: "u1@example.com"})
	api := slack.New("xoxb-good", slack.OptionAPIURL(s.APIURL))
	ctx := t.Context()

	if _, err := slack.New("xoxb-bad", slack.OptionAPIURL(s.APIURL)).AuthTestContext(ctx); err == nil || err.Error() != "invalid_auth" {
		t.Errorf("a wrong token: %v, want invalid_auth", err)
	}
	ch, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"U1"}})
	if err != nil || ch.ID != s.IM("U1") {
		t.Fatalf("conversations.open: %v %v", ch, err)
	}

	// A person's message cannot be deleted with the bot token.
	_, ts := s.MessageEvent("U1", ch.ID, "hello")
	if _, _, err := api.DeleteMessageContext(ctx, ch.ID, ts); err == nil || err.Error() != "cant_delete_message" {
		t.Errorf("chat.delete of a person's message: %v", err)
	}

	// The upload must have the announced size.
	_, err = api.UploadFileContext(ctx, slack.UploadFileParameters{Reader: bytes.NewReader([]byte("12345")), FileSize: 4,
		Filename: "a.png", Channel: ch.ID})
	var code slack.StatusCodeError
	if !errors.As(err, &code) || code.Code != http.StatusInternalServerError {
		t.Errorf("upload of a wrong size: %v", err)
	}

	// A trigger_id opens one view only; Fail answers instead of the method.
	trigger := s.Command("U1", ch.ID, "/x", "").Get("trigger_id")
	view := slack.ModalViewRequest{Type: slack.VTModal, Title: slack.NewTextBlockObject("plain_text", "T", false, false)}
	if _, err := api.OpenViewContext(ctx, trigger, view); err != nil {
		t.Fatal(err)
	}
	if _, err := api.OpenViewContext(ctx, trigger, view); err == nil || err.Error() != "exchanged_trigger_id" {
		t.Errorf("a trigger used twice: %v", err)
	}
	s.Fail("auth.test", fakeslack.RateLimited(3))
	var rl *slack.RateLimitedError
	if _, err := api.AuthTestContext(ctx); !errors.As(err, &rl) || rl.RetryAfter.Seconds() != 3 {
		t.Errorf("an injected 429: %v", err)
	}
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Errorf("after the injected failure: %v", err)
	}
}

// TestThreadsGroupsResponses checks threads, user groups and the slash
// command's response_url through the real client.
func TestThreadsGroupsResponses(t *testing.T) {
	s := fakeslack.New(fakeslack.Options{BotToken: "xoxb-good"})
	defer s.Close()
	s.AddUser(fakeslack.User{ID: "U1", Name: "Una"})
	s.AddChannel("C1")
	s.AddUserGroup("S1", "U1", "U2")
	api := slack.New("xoxb-good", slack.OptionAPIURL(s.APIURL))
	ctx := t.Context()

	_, root, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("root", false))
	if err != nil {
		t.Fatal(err)
	}
	_, reply, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("reply", false), slack.MsgOptionTS(root))
	if err != nil {
		t.Fatal(err)
	}
	// A reply to a reply goes to the thread of the first message.
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("reply 2", false), slack.MsgOptionTS(reply)); err != nil {
		t.Fatal(err)
	}
	_, ts := s.ReplyEvent("U1", "C1", root, "a person's reply")
	th := s.Thread("C1", root)
	if len(th) != 3 || th[0].Text != "reply" || th[1].Text != "reply 2" || th[2].TS != ts || th[2].User != "U1" {
		t.Fatalf("thread %+v", th)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("x", false), slack.MsgOptionTS("9.9")); err == nil || err.Error() != "thread_not_found" {
		t.Errorf("a reply to no message: %v", err)
	}

	members, err := api.GetUserGroupMembersContext(ctx, "S1")
	if err != nil || len(members) != 2 || members[0] != "U1" {
		t.Fatalf("usergroups.users.list: %q %v", members, err)
	}
	if _, err := api.GetUserGroupMembersContext(ctx, "S9"); err == nil || err.Error() != "no_such_subteam" {
		t.Errorf("an unknown group: %v", err)
	}
	u, err := api.GetUserInfoContext(ctx, "U1")
	if err != nil || u.Profile.DisplayName != "Una" || u.RealName != "Una" {
		t.Fatalf("users.info: %+v %v", u, err)
	}

	form := s.Command("U1", "C1", "/x", "")
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("only you", false),
		slack.MsgOptionResponseURL(form.Get("response_url"), slack.ResponseTypeEphemeral)); err != nil {
		t.Fatal(err)
	}
	if e := s.Ephemeral(); len(e) != 1 || e[0].User != "U1" || e[0].Channel != "C1" || e[0].Text != "only you" {
		t.Fatalf("ephemeral %+v", e)
	}
	if _, _, err := api.PostMessageContext(ctx, "C1", slack.MsgOptionText("everyone", false),
		slack.MsgOptionResponseURL(form.Get("response_url"), slack.ResponseTypeInChannel)); err != nil {
		t.Fatal(err)
	}
	if h := s.History("C1"); h[len(h)-1].Text != "everyone" {
		t.Fatalf("in_channel answer not posted: %+v", h[len(h)-1])
	}
}
