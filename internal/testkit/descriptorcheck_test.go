package testkit

import (
	"slices"
	"testing"

	"guidedfix/bot"
)

// TestCheckDescriptor: what a flow's chats asked for and set is compared
// with its descriptor both ways, with one exact problem per mismatch.
func TestCheckDescriptor(t *testing.T) {
	const flow = "checkdesc_test"
	RecordAsk(flow, []bot.Reply{{ID: "a", Secret: bot.SecretPassword}, {ID: "b"}, {ID: "c", Secret: bot.SecretTOTPCode}})
	RecordAsk(flow, []bot.Reply{{ID: "a", Secret: bot.SecretPassword}})
	RecordAsk("", []bot.Reply{{ID: "x", Secret: bot.SecretSMSCode}})
	RecordTags(&bot.Session{Flow: flow, Tags: map[string]string{"account": "a1", "extra": "1"}})
	RecordTags(nil)
	if got := SeenSecrets(flow); got[bot.SecretPassword] != 2 || got[bot.SecretTOTPCode] != 1 || len(got) != 2 {
		t.Fatalf("SeenSecrets %v", got)
	}
	ok := bot.Descriptor{Name: flow, Secrets: []bot.SecretField{bot.SecretTOTPCode, bot.SecretPassword},
		Tags: []string{"extra", "account"}, TagAlerts: map[string]string{"extra": "x.alert"}}
	if got := CheckDescriptor(ok); len(got) != 0 {
		t.Fatalf("a true descriptor: %q", got)
	}
	bad := bot.Descriptor{Name: flow, Secrets: []bot.SecretField{bot.SecretPassword, bot.SecretSMSCode, bot.SecretPassword},
		Tags: []string{"account", "never"}, TagAlerts: map[string]string{"gone": "x.alert"}}
	want := []string{
		`secret "sms_code" is in Descriptor.Secrets but no test's chat was asked for it`,
		`secret "password" listed twice in Descriptor.Secrets`,
		`secret "totp_code" was asked for (1 prompts) but is not in Descriptor.Secrets`,
		`tag "never" is in Descriptor.Tags but no test's session had it set`,
		`tag "extra" was set (1 turns) but is not in Descriptor.Tags`,
		`Descriptor.TagAlerts names tag "gone", which is not in Descriptor.Tags`,
	}
	if got := CheckDescriptor(bad); !slices.Equal(got, want) {
		t.Fatalf("problems\n%q\nwant\n%q", got, want)
	}
}
