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
