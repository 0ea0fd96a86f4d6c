package testkit_test

import (
	"testing"

	"guidedfix/bot"
	"guidedfix/internal/testkit"
)

// TestMaskSecrets: a secret is masked as written and in groups of 4 (a
// manual key); short values are left.
func TestMaskSecrets(t *testing.T) {
	got := testkit.MaskSecrets("key JBSW Y3DP EHPK 3PXP, raw JBSWY3DPEHPK3PXP, pin 123, code 482913",
		[]string{"JBSWY3DPEHPK3PXP", "123", "482913"})
	want := "key ‹masked›, raw ‹masked›, pin 123, code ‹masked›"
	if got != want {
		t.Fatalf("got  %q\nwant %q", got, want)
	}
}

// TestTranscriptMasksSecrets: the answer to a secret prompt (typed or
// private) and the text of a sensitive reply never show; the rest does,
// with buttons by label and action (no nonce).
func TestTranscriptMasksSecrets(t *testing.T) {
	tr := &testkit.Transcript{Mask: func(s string) string { return testkit.MaskSecrets(s, []string{"hunter2-long"}) }}
	tr.Turn(bot.Event{Kind: bot.KindText, Text: "hunter2-long"}, bot.SecretPassword, []bot.Reply{
		{Op: bot.OpDelete, ID: bot.MsgDeleteUserSecret, MessageID: "u1"},
		{Op: bot.OpSend, ID: "x.key", Text: "your key ABCD EFGH", Sensitive: true, Protected: true, Ref: "key"},
		{Op: bot.OpSend, ID: "x.ask", Text: "type the code\nnow", Secret: bot.SecretTOTPCode, Ref: "prompt",
			Buttons: []bot.Button{{Label: "Cancel", Data: "cancel|ab1c3"}}},
	})
	tr.Turn(bot.Event{Kind: bot.KindSecret, Secret: "123456"}, bot.SecretTOTPCode, nil)
	tr.Turn(bot.Event{Kind: bot.KindText, Text: "my pw is hunter2-long"}, bot.SecretNone, nil)
	tr.Turn(bot.Event{Kind: bot.KindButton, Data: "cancel|ab1c3"}, bot.SecretNone, []bot.Reply{{Op: bot.OpEdit, ID: "x.edited", Ref: "prompt", Text: "edited"}})
	want := `> text at the password prompt: ‹masked›
< delete the user's message (engine.delete_user_secret)
< send x.key ref=key +protected +sensitive
    | ‹masked›
< send x.ask ref=prompt +asks:totp_code
    | type the code
    | now
    [Cancel] -> cancel
> secret totp_code: ‹masked›
> text: my pw is ‹masked›
> press cancel
< edit x.edited ref=prompt
    | edited
`
	if got := tr.String(); got != want {
		t.Fatalf("transcript\n%s\nwant\n%s", got, want)
	}
}
